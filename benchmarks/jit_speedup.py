"""conditional_accumulate (WORKLOADS.md) at level 2 vs plain Python vs Numba alone.

    python benchmarks/jit_speedup.py [--size 10000000] [--repeat 7]

One process, one input: plain Python once or more (it takes seconds), then
medians of ``--repeat`` runs of the optlevel level-2 call and of a hand-written
``numba.njit`` of the same function (both warmed up first).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import optlevel
from optlevel.bench.workloads import conditional_accumulate


def median_time(fn, args, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    import numba

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--python-repeat", type=int, default=3)
    opts = parser.parse_args()
    x = np.random.default_rng(0).random(opts.size)
    args = (x, 0.5)

    fast = optlevel.optimize(conditional_accumulate, level=2, strict=True)
    raw = numba.njit(conditional_accumulate)
    fast(*args), raw(*args)  # compile both
    t_py, r_py = median_time(conditional_accumulate, args, opts.python_repeat)
    t_ol, r_ol = median_time(fast, args, opts.repeat)
    t_nb, r_nb = median_time(raw, args, opts.repeat)
    assert np.isclose(r_py, r_ol) and np.isclose(r_py, r_nb), (r_py, r_ol, r_nb)
    print(f"size {opts.size:,}  (boundscheck={optlevel.settings().boundscheck})")
    print(f"plain Python       {t_py * 1e3:10.2f} ms")
    print(f"optlevel level 2   {t_ol * 1e3:10.2f} ms   {t_py / t_ol:7.1f}× faster")
    print(f"numba.njit alone   {t_nb * 1e3:10.2f} ms   {t_py / t_nb:7.1f}× faster")


if __name__ == "__main__":
    main()
