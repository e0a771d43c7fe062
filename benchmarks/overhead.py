"""Dispatch overhead of a decorated call, as medians over repeated timeit runs.

    python benchmarks/overhead.py [--repeat 15] [--number 200000]

Measures, in one process and one run:
- level 0, one scalar argument: decorated call minus plain call;
- level 0, three array arguments: decorated call minus plain call;
- level 2, three array arguments: decorated call minus calling the Numba dispatcher
  that optlevel built (the same compiled code) directly.
"""

from __future__ import annotations

import argparse
import statistics
import timeit

import numpy as np

import optlevel


def scalar_fn(a):
    return a


def arrays_fn(a, b, c):
    return a


def loop_fn(a, b, c):
    s = 0.0
    for i in range(a.shape[0]):  # noqa: OL103 - the loop is the workload measured
        s += a[i]
    return s


def per_call(fn, args, number: int, repeat: int) -> list[float]:
    """Seconds per call for each of ``repeat`` runs of ``number`` calls."""
    timer = timeit.Timer(lambda: fn(*args))
    return [t / number for t in timer.repeat(repeat=repeat, number=number)]


def paired(fast, base, args, number: int, repeat: int) -> tuple[float, float, float]:
    """Interleave runs of both callables; return medians (fast, base, fast - base)."""
    f_times, b_times, diffs = [], [], []
    for _ in range(repeat):
        b = per_call(base, args, number, 1)[0]
        f = per_call(fast, args, number, 1)[0]
        f_times.append(f)
        b_times.append(b)
        diffs.append(f - b)
    return statistics.median(f_times), statistics.median(b_times), statistics.median(diffs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=200_000)
    opts = parser.parse_args()
    arrays = (np.ones(8), np.ones(8), np.ones(8))

    cases = []
    f0 = optlevel.optimize(scalar_fn, level=0)
    cases.append(("level 0, 1 scalar arg", f0, scalar_fn, (1.0,), 0.5))
    f3 = optlevel.optimize(arrays_fn, level=0)
    cases.append(("level 0, 3 array args", f3, arrays_fn, arrays, 1.0))
    f2 = optlevel.optimize(loop_fn, level=2, strict=True)
    f2(*arrays)
    (plan,) = f2._dispatcher.plans.values()
    cases.append(("level 2 vs numba dispatcher, 3 array args", f2, plan.fn, arrays, 1.0))

    print(f"{'case':44s} {'optlevel':>10s} {'baseline':>10s} {'added':>9s} {'target':>7s}")
    for name, fast, base, args, target in cases:
        f, b, d = paired(fast, base, args, opts.number, opts.repeat)
        print(f"{name:44s} {f * 1e6:8.3f}µs {b * 1e6:8.3f}µs {d * 1e6:7.3f}µs "
              f"{'≤' + str(target) + 'µs':>7s}")


if __name__ == "__main__":
    main()
