"""The preconditions every backend that runs other code than the function as
written checks first, in one place: it has source to read, it is not a generator
or coroutine, it makes no call whose meaning only Python keeps (random numbers,
I/O) and it writes no global. Each backend words the refusal for its level; the
codes are the same everywhere."""

from __future__ import annotations

from collections.abc import Callable

from ..analysis import FunctionFeatures
from ..analysis.scope import Finding
from ..contract import YES, Code, Verdict

__all__ = ["function_preconditions"]


def function_preconditions(
        features: FunctionFeatures, *, no_source: str,
        generator: str = "a generator or async function runs as written",
        kept: Callable[[Finding], str] = lambda f: f"{f}: runs in Python to keep its meaning",
        global_writes: Callable[[list[str]], str] = lambda names:
        f"writes the global(s) {', '.join(names)}",
        allow: Callable[[Finding], bool] = lambda f: False) -> Verdict:
    """The first precondition ``features`` fails, as a refusing :class:`Verdict` worded
    by the backend (``no_source`` follows the reason the source is missing), or YES.

    ``allow`` lets a backend accept a finding it handles itself (level 4 draws
    random numbers on the device when asked to)."""
    if not features.has_source:
        return Verdict(False, f"{features.source.reason}{no_source}", code=Code.NO_SOURCE)
    if features.is_generator or features.is_async:
        return Verdict(False, generator, code=Code.UNSUPPORTED)
    for finding in features.semantic_blockers:
        if not allow(finding):
            return Verdict(False, kept(finding), code=Code.KEPT_IN_PYTHON)
    if features.global_writes:
        return Verdict(False, global_writes(sorted(features.global_writes)),
                       code=Code.KEPT_IN_PYTHON)
    return YES
