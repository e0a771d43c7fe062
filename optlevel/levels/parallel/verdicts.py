"""What every level-3 backend that cuts calls into pieces checks before it applies."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from ...analysis.scope import Finding
from ...arrays import DEVICE_KINDS, ArgKind
from ...contract import YES, Code, Verdict
from ...core.preconditions import function_preconditions
from .chunks import parse_hint

__all__ = ["split_names", "chunk_verdict", "float_sum_verdict", "split_elements", "split_bytes",
           "level3_preconditions"]


def split_names(features: FunctionFeatures) -> tuple[str, ...]:
    """The parameters a call is cut along: the ``split=`` hint's, else the proof's."""
    hint = parse_hint(features)
    return tuple(hint) if hint is not None else features.split.split_params


def _kept(finding: Finding) -> str:
    return f"{finding}: pieces would change its meaning, so it runs whole"


def level3_preconditions(features: FunctionFeatures) -> Verdict:
    """The shared preconditions (source, not a generator, no call whose meaning only
    Python keeps, no global write), in level 3's words."""
    return function_preconditions(
        features,
        no_source=": level 3 needs the source to prove the function can be split "
                  "(or to check a split= hint)",
        generator="a generator or coroutine cannot be split", kept=_kept)


def chunk_verdict(features: FunctionFeatures, signature: ArgSignature) -> Verdict:
    """Can this call be cut into pieces at all (before asking whether it pays)?"""
    shared = level3_preconditions(features)
    if not shared:
        return shared
    names = split_names(features)
    if not names:
        return Verdict(False, f"no split proof: {features.split.reason}", code=Code.DECLINED)
    by_name = {a.name: a for a in signature.args}
    for name in names:
        arg = by_name.get(name)
        if arg is not None and arg.kind in DEVICE_KINDS:
            return Verdict(False, f"argument {name!r} is a {arg.kind} array on {arg.device}; "
                                  "level 3 splits NumPy arrays", code=Code.DECLINED)
    if not any(by_name.get(n) is not None and by_name[n].kind is ArgKind.NUMPY
               and len(by_name[n].shape or ()) >= 1 for n in names):
        return Verdict(False, f"no argument to split ({', '.join(names)}) is a NumPy array",
                       code=Code.DECLINED)
    whole_written = sorted(set(features.mutated_params) - set(names))
    if whole_written:
        return Verdict(False, f"writes {', '.join(whole_written)} in place, which every "
                              "piece would get whole", code=Code.DECLINED)
    return float_sum_verdict(features, signature)


def float_sum_verdict(features: FunctionFeatures, signature: ArgSignature) -> Verdict:
    """A function that returns a sum, called with floats: its pieces' sums added together
    reassociate the plain sum (``np.sum`` adds pairwise over the whole array), which
    changes the last bits; only ``sum_order="pairwise"`` allows it, as for prange. (A sum
    of floats made from ints is caught when the pieces return:
    :class:`.chunks.InexactSum`.)"""
    if features.split.output != "sum" or features.options.get("sum_order") == "pairwise":
        return YES
    inexact = [a.name for a in signature.args if _inexact(a)]
    if not inexact:
        return YES
    return Verdict(False, f"it returns a sum of floats ({', '.join(inexact)}): its pieces' "
                          "sums added together would reassociate it and change the last "
                          "bits; @optimize(sum_order='pairwise') allows that",
                   code=Code.DECLINED)


def _split_args(features: FunctionFeatures, signature: ArgSignature) -> list[Any]:
    names = set(split_names(features))
    return [a for a in signature.args if a.name in names and a.kind is ArgKind.NUMPY]


def split_elements(features: FunctionFeatures, signature: ArgSignature) -> int:
    """Elements of the arrays a call is cut along (the cost model's work)."""
    return sum(a.size for a in _split_args(features, signature))


def split_bytes(features: FunctionFeatures, signature: ArgSignature) -> int:
    """Bytes of every array argument (what a process pool or a cluster must receive)."""
    return sum(a.size * np.dtype(a.dtype).itemsize for a in signature.args
               if a.kind is ArgKind.NUMPY and a.dtype)


def _inexact(arg: Any) -> bool:
    """Is the argument a float or complex array or number?"""
    if arg.dtype_kind:
        return arg.dtype_kind in ("f", "c")
    if arg.kind is not ArgKind.SCALAR:
        return False
    try:
        return np.dtype(arg.dtype or arg.type_name).kind in ("f", "c")
    except TypeError:
        return False
