"""Vectorized NumPy is not JIT-compiled: it already runs compiled code.

    PYTHONPATH=. python3 examples/vectorized_stays_python.py

The auto planner's rule is "never slower": ``njit`` of a line of NumPy calls
is often slower than NumPy itself, so level 2 is not tried for a function
without Python-level loops. ``explain`` shows the NumPy calls it found and the
reason. Capped at level 2 it runs as written; under auto, with several cores,
level 3 may split it into chunks on threads where that pays.
"""

import importlib.util

import numpy as np

import optlevel
from optlevel import optimize


@optimize
def elementwise(x):
    return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))


def main():
    x = np.linspace(-10.0, 10.0, 100_000)

    capped = elementwise.with_level(2)
    report = optlevel.explain(capped, x)
    print(report)
    result = capped(x)

    np.testing.assert_array_equal(result, elementwise.py_func(x))
    # with Numba: np.sin and np.cos are NumPy's own loops, which compiled code would
    # not reproduce bit for bit (catalogue SEM030), and it would not pay for vectorized
    # NumPy anyway; without Numba, it is not installed
    numba_kinds = ("declined", "pays") if importlib.util.find_spec("numba") else ("missing",)
    assert report.row("numba").kind in numba_kinds and report.chosen == 0
    assert elementwise.stats().levels == {0: 1}
    print()
    print("ran at level 0, result identical to the plain function")
    auto = optlevel.explain(elementwise, x)
    print(f"under auto: level {auto.chosen} ({auto.chosen_reason})")


if __name__ == "__main__":
    main()
