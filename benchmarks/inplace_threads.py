"""What level 3's threads backend pays to keep an in-place function's arrays as plain
Python leaves them when a block raises: every block copies the rows it will write
before it runs (``optlevel/levels/parallel/local.py``, ``run_threads``). Plain Python
against level 3 on threads, alternately, in one process; medians.

    PYTHONPATH=. python benchmarks/inplace_threads.py [--rows 4000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import optlevel
from optlevel import optimize


def work(x):
    np.sqrt(x, out=x)
    np.sin(x, out=x)
    x *= 1.5
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=15)
    opts = parser.parse_args()
    optlevel.configure(executor="threads")
    f = optimize(work, level=3, strict=True, verify=False, split={"x": 0})
    x = np.random.default_rng(0).random((opts.rows, 1000)) + 1.0
    for _ in range(3):
        f(x.copy())
    plain, threads = [], []
    for _ in range(opts.repeat):
        a = x.copy()
        start = time.perf_counter()
        work(a)
        plain.append(time.perf_counter() - start)
        a = x.copy()
        start = time.perf_counter()
        f(a)
        threads.append(time.perf_counter() - start)
    p, t = statistics.median(plain), statistics.median(threads)
    print(f"{x.nbytes / 1e6:.0f} MB in place: plain {p * 1e3:.1f} ms, level 3 threads "
          f"{t * 1e3:.1f} ms ({p / t:.2f}x)")


if __name__ == "__main__":
    main()
