"""Level 2's guards and replays against raw ``numba.njit`` (optlevel issue 14).

For each loop kernel: the median steady-state time of level 2 (checked compiled
code, strict) and of ``numba.njit`` on the same function (no guards: its ratio
is the guard overhead), and whether an adversarial input still gives plain
Python's result at level 2.

    PYTHONPATH=. python benchmarks/guards.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np


def histogram(x, lo, width, nbins):
    counts = np.zeros(nbins, np.int64)
    for i in range(x.shape[0]):
        k = int((x[i] - lo) / width)
        if 0 <= k < nbins:
            counts[k] += 1
    return counts


def collatz(limit):
    best = 0
    arg = 0
    for s in range(1, limit):
        n = s
        steps = 0
        while n != 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            steps += 1
        if steps > best:
            best = steps
            arg = s
    return arg, best


def laplace_sum(u):
    n, m = u.shape
    t = 0.0
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            t += u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * u[i, j]
    return t


def laplace_into(u, out):
    n, m = u.shape
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * u[i, j]
    return out


def grouped_sum(keys, vals, ngroups):
    out = np.zeros(ngroups)
    for i in range(keys.shape[0]):
        out[keys[i] % ngroups] += vals[i]
    return out


def moving_average(x, w):
    n = x.shape[0]
    out = np.empty(n - w + 1)
    s = 0.0
    for i in range(w):  # noqa: OL103 - the loop is the workload measured
        s += x[i]
    out[0] = s / w
    for i in range(w, n):
        s += x[i] - x[i - w]
        out[i - w + 1] = s / w
    return out


def poly_hash(x):
    h = 0
    for i in range(x.shape[0]):
        h = (h * 31 + x[i]) % 1000003
    return h


def cubes(n):
    s = 0
    for i in range(n):  # noqa: OL103 - the loop is the workload measured
        s += i ** 3
    return s


def conditional_accumulate(x, t):
    s = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is the workload measured
        if x[i] > t:
            s += x[i] ** 2
        else:
            s -= x[i]
    return s


def int_prefix(x):
    out = np.empty_like(x)
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
        out[i] = s
    return out


def mean_u8(a, b):
    out = np.empty(a.shape[0], np.int64)
    for i in range(a.shape[0]):  # noqa: OL101 - the loop is the workload measured
        out[i] = (a[i] + b[i]) // 2
    return out


def offset_u8(a):
    out = np.empty(a.shape[0], np.int64)
    for i in range(a.shape[0]):  # noqa: OL101 - the loop is the workload measured
        v = a[i] + 3  # NumPy 2: uint8 (NEP 50), wraps past 255
        out[i] = v
    return out


def kernels():
    rng = np.random.default_rng(0)
    x = rng.random(1_000_000)
    u = rng.random((1000, 1000))
    keys = rng.integers(0, 1000, 1_000_000)
    ints = rng.integers(0, 1000, 1_000_000)
    a8 = rng.integers(0, 128, 1_000_000).astype(np.uint8)
    b8 = rng.integers(0, 128, 1_000_000).astype(np.uint8)
    # name, function, steady-state arguments, adversarial arguments
    return [
        ("histogram", histogram, (x, 0.0, 0.01, 100), (x[:100], 0.0, 0.0, 100)),
        ("collatz", collatz, (100_000,), (3,)),
        ("laplace_sum", laplace_sum, (u,), (u[:3, :3],)),
        ("laplace_into", laplace_into, (u, np.zeros_like(u)), (u[:3, :3], np.zeros((2, 2)))),
        ("grouped_sum", grouped_sum, (keys, x, 1000), (keys[:10], x[:10], 0)),
        ("moving_average", moving_average, (x, 50), (x[:10], 0)),
        ("poly_hash", poly_hash, (ints,), (np.array([2 ** 62, 2 ** 62]),)),
        ("cubes", cubes, (50_000,), (100_000,)),
        ("conditional_acc", conditional_accumulate, (x, 0.5), (np.array([np.nan]), 0.5)),
        ("int_prefix", int_prefix, (ints,), (np.array([2 ** 62, 2 ** 62, 2 ** 62]),)),
        ("mean_u8", mean_u8, (a8, b8), (np.array([200], np.uint8), np.array([100], np.uint8))),
        ("offset_u8", offset_u8, (a8,), (np.array([1, 254], np.uint8),)),
    ]


def median_time(fn, args, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and \
            np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def outcome(fn, args):
    args = tuple(v.copy() if isinstance(v, np.ndarray) else v for v in args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args), args
        except Exception as exc:
            return (type(exc), str(exc)), args


def main() -> None:
    import numba

    from optlevel import optimize

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    print(f"{'kernel':16} {'numba.njit':>11} {'level 2':>11} {'L2/njit':>8} "
          f"{'proven':>7} {'njit==plain':>11} {'adversarial L2==plain':>22}")
    for name, func, args, bad in kernels():
        raw = numba.njit(func)
        fast = optimize(func, level=2, strict=True)
        raw(*args)
        fast(*args)
        t_raw = median_time(raw, args, opts.repeat)
        t_l2 = median_time(fast, args, opts.repeat)
        plain_bad, plain_args = outcome(func, bad)
        fast_bad, fast_args = outcome(fast, bad)
        ok = same(fast_bad, plain_bad) if not isinstance(plain_bad, tuple) or \
            not isinstance(plain_bad[0], type) else fast_bad == plain_bad
        ok = ok and all(same(p, q) for p, q in zip(plain_args, fast_args))
        try:
            raw_bad, _ = outcome(raw, bad)
            raw_ok = same(raw_bad, plain_bad) if not isinstance(plain_bad, tuple) else \
                raw_bad == plain_bad
        except Exception:
            raw_ok = False
        plan = next(p for p in fast._dispatcher.all_plans() if p.level == 2)
        fn = plan.prepared.fn
        disp = fn if hasattr(fn, "targetoptions") else fn.__wrapped__
        proven = "yes" if not disp.targetoptions.get("boundscheck") else "no"
        print(f"{name:16} {t_raw * 1e3:9.3f}ms {t_l2 * 1e3:9.3f}ms {t_raw / t_l2:7.2f}x "
              f"{proven:>7} {str(raw_ok):>11} {str(ok):>22}")


def call_overhead(repeat: int) -> None:
    """The per-call cost of level 2's guard and dispatch on a tiny call."""
    import numba

    from optlevel import optimize

    x = np.ones(4)
    raw = numba.njit(conditional_accumulate)
    fast = optimize(conditional_accumulate, level=2, strict=True)
    raw(x, 0.5)
    fast(x, 0.5)
    loops = 20000
    for name, fn in (("numba.njit", raw), ("level 2", fast)):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(loops):
                fn(x, 0.5)
            times.append((time.perf_counter() - start) / loops)
        print(f"per call, 4 elements: {name:10} {np.median(times) * 1e6:.2f} us")


if __name__ == "__main__":
    main()
    call_overhead(5)
