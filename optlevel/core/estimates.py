"""What the dispatcher measures and estimates about the plain function.

- :func:`work` and :func:`per_element`: the measured trial compares level 0 and
  a candidate per array element, so two calls of different sizes in one size
  class compare fairly.
- :func:`plain_seconds`: a rough estimate of the plain function's time for a call,
  from the AST (loops, their nesting and the operations of the innermost body)
  and the arguments (array sizes, integer arguments that bound ``range``). The
  dispatcher uses it for two
  decisions: in auto mode, whether compiling is likely to pay back within a few
  calls (else plain Python serves while the signature warms up); and whether
  checking a compiled plan's first call against plain Python is cheap.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..analysis import FunctionFeatures

__all__ = ["work", "per_element", "plain_seconds", "LOOP_ITERATION_S", "LOOP_OP_S",
           "ELEMENT_S"]

#: seconds per iteration of a Python-level loop, its body aside (the loop's own step)
LOOP_ITERATION_S = 5e-8
#: seconds per operation of a loop's body (a subscript, an arithmetic op, a call...).
#: Ten loop kernels on the development machine ran at 16-33 ns per counted operation
#: (median 25): ``prefix_sum``'s 4 at 0.08 µs an iteration, Black-Scholes' 28 at 0.49.
#: One rate per iteration (0.1 µs, before) took a 0.5 µs body for a 0.1 µs one, so
#: compiles that paid at once waited in Python and 60-150 ms calls were checked whole.
LOOP_OP_S = 2e-8
#: seconds per array element of vectorized NumPy work (a few passes at ~1 ns each)
ELEMENT_S = 5e-9
_CALL_S = 2e-6  # the call itself


def work(args: tuple, kwargs: dict) -> int:
    """Array elements in a call: what the per-element time is divided by."""
    values = list(args) + list(kwargs.values())
    return max(1, sum(int(a.size) for a in values if isinstance(a, np.ndarray)))


def per_element(seconds: float, args: tuple, kwargs: dict) -> float:
    return seconds / work(args, kwargs)


def _extent(args: tuple, kwargs: dict) -> int:
    """The largest array length or integer argument: what bounds a loop's trip count."""
    n = 1
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, np.ndarray):
            n = max(n, max(a.shape, default=1))
        elif isinstance(a, numbers.Integral) and not isinstance(a, bool):
            n = max(n, min(abs(int(a)), 1 << 40))
        elif isinstance(a, (list, tuple)):
            n = max(n, len(a))
    return n


def plain_seconds(features: FunctionFeatures, args: tuple, kwargs: dict) -> float:
    """A rough estimate of the plain function's time for this call."""
    elements = work(args, kwargs)
    if features.has_source and not features.loops:
        return _CALL_S + elements * ELEMENT_S
    depth = min(features.max_loop_depth, 3) if features.has_source else 1
    iterations = float(_extent(args, kwargs)) ** max(depth, 1)
    ops = max((loop.ops for loop in features.loops if loop.depth == features.max_loop_depth),
              default=0)
    return _CALL_S + iterations * (LOOP_ITERATION_S + ops * LOOP_OP_S) + elements * ELEMENT_S
