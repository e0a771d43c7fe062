"""Level 2: a Python loop over an array, compiled by Numba on the first call.

    PYTHONPATH=. python3 examples/jit_loop.py

``conditional_accumulate`` is one of optlevel's seed workloads: a loop with a
branch, which NumPy cannot run without temporaries but Numba compiles to a tight
machine-code loop. With ``level=2`` (a ceiling), the planner sees the loop and
picks level 2; ``explain`` says why. (Left at "auto" on a machine with several
cores it may pick level 3 instead: the same loop compiled with ``prange``.)
"""

import importlib.util
import time

import numpy as np

import optlevel
from optlevel import optimize

HAVE_NUMBA = importlib.util.find_spec("numba") is not None


@optimize(level=2)
def conditional_accumulate(x, t):
    total = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is what this example runs
        if x[i] > t:
            total += x[i] ** 2
        else:
            total -= x[i]
    return total


def timed(f, *args):
    start = time.perf_counter()
    result = f(*args)
    return result, time.perf_counter() - start


def main():
    x = np.random.default_rng(0).standard_normal(1_000_000)

    first, t_first = timed(conditional_accumulate, x, 0.5)  # compiles (or loads the cache)
    again, t_again = timed(conditional_accumulate, x, 0.5)  # compiled code only
    plain, t_plain = timed(conditional_accumulate.py_func, x, 0.5)

    print(f"plain Python : {t_plain * 1e3:8.2f} ms")
    print(f"first call   : {t_first * 1e3:8.2f} ms  (includes compiling)")
    print(f"later calls  : {t_again * 1e3:8.2f} ms")
    print()
    report = optlevel.explain(conditional_accumulate, x, 0.5)
    print(report)

    # equal within rounding: without Numba, level 1 sums float64 terms pairwise
    assert np.isclose(first, plain, rtol=1e-12, atol=0) and \
        np.isclose(again, plain, rtol=1e-12, atol=0), (first, again, plain)
    assert report.chosen == (2 if HAVE_NUMBA else 1)  # without Numba: level 1's rewrite


if __name__ == "__main__":
    main()
