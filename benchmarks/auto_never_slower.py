"""Auto mode against plain NumPy where the issue says it must stay on the CPU.

    PYTHONPATH=. python benchmarks/auto_never_slower.py [--calls 30]

For ``elementwise`` at 100K elements and ``small_loop`` (10,000 steps on a 100x100
array), times plain NumPy and ``@optimize`` (auto) alternately, call by call, after
the first calls (the planner's trials and warm-up included in ``first``), and prints
the medians, their ratio and the levels the calls ran at.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import optlevel
from optlevel.bench import workloads as W


def timed(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def case(name, func, args, calls):
    fast = optlevel.optimize(func)
    first = sum(timed(fast, *args) for _ in range(5))
    plain, auto = [], []
    for _ in range(calls):
        plain.append(timed(func, *args))
        auto.append(timed(fast, *args))
    p, a = statistics.median(plain), statistics.median(auto)
    print(f"{name:24s} plain {p * 1e3:8.3f} ms  auto {a * 1e3:8.3f} ms  "
          f"auto/plain {a / p:5.2f}  first 5 calls {first * 1e3:8.1f} ms  "
          f"levels {fast.stats().levels}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    x = np.random.default_rng(0).random(100_000)
    case("elementwise 100K", W.elementwise, (x,), args.calls)
    y = np.random.default_rng(1).random((100, 100))
    case("small_loop 10K steps", W.small_loop, (y, 10_000), max(5, args.calls // 6))


if __name__ == "__main__":
    main()
