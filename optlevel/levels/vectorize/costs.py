"""What level 1's estimate weighs: the machine's calibrated per-element costs of a
Python loop step, a vectorized element, the vectorized block's fixed checks, a
strided pass and a transposing copy (``optlevel calibrate`` measures them; the
defaults below hold until it has)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...analysis import analyze
from ...core.runtime import RUNTIME
from ...core.timing import median_seconds
from .rewrite import compile_rewrite, rewrite_for

__all__ = ["DEFAULTS", "MEASURES", "measured", "calibrate"]

#: Until measured (``optlevel calibrate``): a Python loop step, a vectorized element,
#: the fixed cost of the vectorized block's checks, a strided pass and a transposing
#: copy, per element, on the 2-core development machine.
DEFAULTS = {"vectorize.loop_ns": 250.0, "vectorize.vector_ns": 8.0,
            "vectorize.overhead_s": 3e-5, "vectorize.strided_ns": 6.0,
            "vectorize.copy_ns": 7.6}


def measured(profile: Any, key: str, refresh: bool = False, quick: bool = True) -> float:
    """A calibrated cost from the machine profile (measured on first need)."""
    if profile is None:
        return DEFAULTS[key]
    measure = MEASURES[key]
    try:
        value = profile.measure(key, lambda: measure(quick), refresh=refresh)
        return float(value)
    except (TypeError, ValueError):  # an old or hand-edited profile: the defaults hold
        return DEFAULTS[key]


def calibrate(profile: Any, quick: bool = False) -> None:
    """Measure every cost again into ``profile``."""
    for key in MEASURES:
        measured(profile, key, refresh=True, quick=quick)


def _reference(x: Any, t: Any) -> Any:
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i] * 2.0
    return s


_rewrites = RUNTIME.cache("vectorize.reference_rewrite")


def _reference_rewrite() -> Callable[..., Any]:
    """Level 1's rewrite of :func:`_reference`, built once (analysing and compiling
    it is 6-7 ms; two of the measures time it)."""
    return _rewrites.get_or_make(
        "reference", lambda: compile_rewrite(rewrite_for(analyze(_reference)), _reference))


def _loop_ns(quick: bool) -> float:
    x = np.random.default_rng(0).random(2000 if quick else 20000)
    return median_seconds(lambda: _reference(x, 0.5), 3, warm=False) / x.size * 1e9


def _vector_ns(quick: bool) -> float:
    fast = _reference_rewrite()
    x = np.random.default_rng(0).random(200_000 if quick else 2_000_000)
    return median_seconds(lambda: fast(x, 0.5), 3, warm=False) / x.size * 1e9


def _overhead_s(quick: bool) -> float:
    fast = _reference_rewrite()
    x = np.random.default_rng(0).random(8)
    return median_seconds(lambda: fast(x, 0.5), 21 if quick else 201, warm=False)


def _strided_ns(quick: bool) -> float:
    side = 512 if quick else 2048
    c = np.random.default_rng(0).random((side, side))
    f = np.asfortranarray(c)

    def columns(x: np.ndarray) -> None:
        for j in range(x.shape[1]):
            x[:, j].sum()

    slow = median_seconds(lambda: columns(c), 3, warm=False)
    fast = median_seconds(lambda: columns(f), 3, warm=False)
    return max(slow - fast, 0.0) / c.size * 1e9


def _copy_ns(quick: bool) -> float:
    side = 512 if quick else 2048
    c = np.random.default_rng(0).random((side, side))
    return median_seconds(lambda: np.asfortranarray(c), 3, warm=False) / c.size * 1e9


MEASURES: dict[str, Callable[[bool], float]] = {
    "vectorize.loop_ns": _loop_ns, "vectorize.vector_ns": _vector_ns,
    "vectorize.overhead_s": _overhead_s, "vectorize.strided_ns": _strided_ns,
    "vectorize.copy_ns": _copy_ns}
