"""Level 1: loops over array elements run as NumPy expressions, and the advice that
says how to write them that way yourself.

    PYTHONPATH=. python3 examples/vectorize_loops.py

``normalize_loop`` recomputes ``x.mean()`` and ``x.std()`` for every element: level 1
computes them once and runs the loop as one expression. ``conditional_accumulate``
becomes a select and a sum in the loop's order. Each finding is also a
``VectorizationAdvice`` warning (printed on stderr), pointing at the loop's line.
"""

import time

import numpy as np

import optlevel
from optlevel import optimize
from optlevel.core.verify import compare


@optimize(level=1)
def normalize_loop(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):  # noqa: OL101 - the loop is what this example runs
        out[i] = (x[i] - x.mean()) / x.std()  # noqa: OL104 - the example shows level 1 hoisting it
    return out


@optimize(level=1)
def conditional_accumulate(x, t):
    total = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is what this example runs
        if x[i] > t:
            total += x[i] ** 2
        else:
            total -= x[i]
    return total


def best_of(f, *args, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = f(*args)
        times.append(time.perf_counter() - start)
    return result, min(times)


def main():
    x = np.random.default_rng(0).standard_normal(5_000)
    y = np.random.default_rng(1).random(200_000)
    for f, args in ((normalize_loop, (x,)), (conditional_accumulate, (y, 0.5))):
        f(*args)  # builds level 1 (and checks it against plain Python once)
        fast, t_fast = best_of(f, *args)
        plain, t_plain = best_of(f.py_func, *args, repeat=1)
        print(f"{f.__name__:24s} plain {t_plain * 1e3:8.2f} ms   level 1 "
              f"{t_fast * 1e3:7.3f} ms   {t_plain / t_fast:7.1f}x")
        assert type(fast) is type(plain) and compare(fast, plain) is None
        assert f.stats().levels == {1: 4}
    print()
    print(optlevel.explain(normalize_loop, x))


if __name__ == "__main__":
    main()
