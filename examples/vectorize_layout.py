"""Level 1's layout check: a loop over the columns of a C-ordered array strides
through memory; the same loop over a Fortran-ordered array does not.

    PYTHONPATH=. python3 examples/vectorize_layout.py

The advice (OL201) comes at run time, for the argument that is laid out against
the loop, and says what to change.
"""

import time
import warnings

import numpy as np

from optlevel import VectorizationAdvice, optimize


@optimize(level=1)
def column_sums(x):
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        out[j] = x[:, j].sum()  # noqa: OL201 - the layout is what this example shows
    return out


def timed(f, x):
    start = time.perf_counter()
    f(x)
    return time.perf_counter() - start


def main():
    c = np.random.default_rng(0).random((2000, 2000))
    f = np.asfortranarray(c)
    for name, x in (("C order", c), ("Fortran order", f)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = column_sums(x)
        advice = [w for w in caught if issubclass(w.category, VectorizationAdvice)]
        print(f"{name:14s} {timed(column_sums, x) * 1e3:7.2f} ms   advice: "
              f"{str(advice[0].message)[:110] + '…' if advice else 'none'}")
        np.testing.assert_allclose(result, column_sums.py_func(x))
        assert bool(advice) == (name == "C order")


if __name__ == "__main__":
    main()
