"""Vectorized NumPy stays at level 0: it already runs compiled code.

    PYTHONPATH=. python3 examples/vectorized_stays_python.py

The auto planner's rule is "never slower": ``njit`` of a line of NumPy calls
is often slower than NumPy itself, so a function without Python-level loops
keeps running as written. ``explain`` shows the NumPy calls it found and the
reason level 2 is not tried.
"""

import numpy as np

import optlevel
from optlevel import optimize


@optimize
def elementwise(x):
    return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))


def main():
    x = np.linspace(-10.0, 10.0, 100_000)

    report = optlevel.explain(elementwise, x)
    print(report)
    result = elementwise(x)

    np.testing.assert_array_equal(result, elementwise.py_func(x))
    assert report.chosen == 0
    assert elementwise.stats().levels == {0: 1}
    print()
    print("ran at level 0, result identical to the plain function")


if __name__ == "__main__":
    main()
