"""What every level-3 backend that cuts calls into pieces checks before it applies."""

from __future__ import annotations

from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...contract import YES, Verdict
from .chunks import parse_hint

__all__ = ["split_names", "chunk_verdict", "split_elements", "split_bytes"]


def split_names(features: FunctionFeatures) -> tuple[str, ...]:
    """The parameters a call is cut along: the ``split=`` hint's, else the proof's."""
    hint = parse_hint(features)
    return tuple(hint) if hint is not None else features.split.split_params


def chunk_verdict(features: FunctionFeatures, signature: ArgSignature) -> Verdict:
    """Can this call be cut into pieces at all (before asking whether it pays)?"""
    if not features.has_source:
        return Verdict(False, f"{features.source.reason}: level 3 needs the source to prove "
                              "the function can be split (or to check a split= hint)")
    if features.is_generator or features.is_async:
        return Verdict(False, "a generator or coroutine cannot be split")
    if features.semantic_blockers:
        return Verdict(False, f"{features.semantic_blockers[0]}: pieces would change its "
                              "meaning, so it runs whole")
    if features.global_writes:
        return Verdict(False, f"writes the global(s) {', '.join(sorted(features.global_writes))}")
    names = split_names(features)
    if not names:
        return Verdict(False, f"no split proof: {features.split.reason}")
    by_name = {a.name: a for a in signature.args}
    for name in names:
        arg = by_name.get(name)
        if arg is not None and arg.kind in ("cupy", "torch"):
            return Verdict(False, f"argument {name!r} is a {arg.kind} array on {arg.device}; "
                                  "level 3 splits NumPy arrays")
    if not any(by_name.get(n) is not None and by_name[n].kind == "numpy"
               and len(by_name[n].shape or ()) >= 1 for n in names):
        return Verdict(False, f"no argument to split ({', '.join(names)}) is a NumPy array")
    whole_written = sorted(set(features.mutated_params) - set(names))
    if whole_written:
        return Verdict(False, f"writes {', '.join(whole_written)} in place, which every "
                              "piece would get whole")
    return YES


def _split_args(features: FunctionFeatures, signature: ArgSignature) -> list[Any]:
    names = set(split_names(features))
    return [a for a in signature.args if a.name in names and a.kind == "numpy"]


def split_elements(features: FunctionFeatures, signature: ArgSignature) -> int:
    """Elements of the arrays a call is cut along (the cost model's work)."""
    return sum(a.size for a in _split_args(features, signature))


def split_bytes(features: FunctionFeatures, signature: ArgSignature) -> int:
    """Bytes of every array argument (what a process pool or a cluster must receive)."""
    import numpy as np

    return sum(a.size * np.dtype(a.dtype).itemsize for a in signature.args
               if a.kind == "numpy" and a.dtype)
