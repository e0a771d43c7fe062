"""Level 2's np.sum and .mean() of float rows (catalogue SEM031): how many rows differ
from plain Python, and the time against plain Python and ``numba.njit``, in one
process, medians.

    PYTHONPATH=. python benchmarks/numpy_sums.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

from optlevel import optimize


def row_sums(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.sum(x[i]) + x[i].mean()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    opts = parser.parse_args()
    for shape in ((20000, 8), (4000, 100), (200, 5000)):
        x = np.random.default_rng(0).standard_normal(shape)
        fast = optimize(row_sums, level=2, strict=True, verify=False)
        raw = numba.njit(row_sums)
        expected = row_sums(x)
        fast(x)
        raw(x)
        times: dict[str, list[float]] = {"plain": [], "level 2": [], "njit": []}
        for _ in range(opts.repeat):
            for label, f in (("plain", row_sums), ("level 2", fast), ("njit", raw)):
                start = time.perf_counter()
                f(x)
                times[label].append(time.perf_counter() - start)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        print(f"{shape[0]}x{shape[1]}: rows differing from plain: level 2 "
              f"{int((fast(x) != expected).sum())}, njit {int((raw(x) != expected).sum())} "
              f"of {shape[0]}; plain {med['plain']:.2f} ms, level 2 {med['level 2']:.3f} ms, "
              f"njit {med['njit']:.3f} ms (level 2 / njit {med['level 2'] / med['njit']:.2f})")


if __name__ == "__main__":
    main()
