"""Where the first call of a decorated function spends its time (cProfile).

    PYTHONPATH=. python benchmarks/first_call_profile.py [--size 100000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import numpy as np

import optlevel
from optlevel.bench import workloads as W


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    x = np.random.default_rng(0).random(args.size)
    fast = optlevel.optimize(W.elementwise)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(5):
        fast(x)
    profiler.disable()
    print(f"first 5 calls: {(time.perf_counter() - start) * 1e3:.1f} ms; "
          f"levels {fast.stats().levels}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    print(optlevel.explain(fast, x))


if __name__ == "__main__":
    main()
