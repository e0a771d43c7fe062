"""Level 4 on vectorized NumPy functions that are not the project's workloads (issue 17).

Run on the GPU machine: ``PYTHONPATH=. python3 benchmarks/gpu_peers.py [--json PATH]``.

For each function, NumPy in and out, measured in one run with interleaved rounds (each
round runs every contender once, in turn; medians and min–max over the rounds):

- ``numpy``: the plain function with the machine's default threads (16-core BLAS);
- ``level4``: ``optimize(f, level=4)`` (a ceiling: the realized level is printed);
- ``auto``: ``optimize(f)``, the default;
- ``cupy_round_trip``: the same code run on CuPy by hand (``np`` bound to ``cupy``),
  arguments copied in with ``cupy.asarray`` and results back with ``.get()``;
- ``pinned_floor``: the bytes in and out at the pinned PCIe rates measured here.

Every optlevel result is compared with NumPy's (:func:`optlevel.core.verify.compare`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import optlevel
from optlevel.core.verify import compare

# --- the functions ----------------------------------------------------------------------

def black_scholes(S, K, T, r, v):
    sq = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * v * v) * T) / (v * sq)
    d2 = d1 - v * sq
    cnd1 = 0.5 * (1.0 + np.tanh(0.7978845608 * (d1 + 0.044715 * d1 ** 3)))
    cnd2 = 0.5 * (1.0 + np.tanh(0.7978845608 * (d2 + 0.044715 * d2 ** 3)))
    return S * cnd1 - K * np.exp(-r * T) * cnd2


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cosine_similarity(a, b):
    return (a * b).sum(axis=1) / (np.sqrt((a * a).sum(axis=1)) * np.sqrt((b * b).sum(axis=1)))


def blur5(x):
    return 0.2 * (x[1:-1, 1:-1] + x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])


def horner(x):
    return ((((((((0.5 * x + 1.5) * x - 2.0) * x + 0.25) * x - 1.0) * x + 3.0) * x - 0.5)
             * x + 2.0) * x + 1.0)


def pairwise_distances(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def nbody_forces(pos, mass):
    d = pos[None, :, :] - pos[:, None, :]
    r2 = (d ** 2).sum(axis=-1) + 1e-3
    inv = mass[None, :] / np.sqrt(r2) ** 3
    return (d * inv[:, :, None]).sum(axis=1)


def logsumexp_rows(x):
    m = x.max(axis=1, keepdims=True)
    return np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]


def masked_mean(x, t):
    return np.where(x > t, x, 0.0).sum() / (x > t).sum()


def scan(x):
    return np.cumsum(x) * 0.5


def tanh_matvec(A, v):
    return np.tanh(A @ v)


def outer_gauss(x, y):
    return np.exp(-np.outer(x, y) ** 2)


def zscore_rows(x):
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)


def differences(x):
    return x[1:] - x[:-1]


def cases(rng: np.random.Generator) -> list[tuple[str, Callable[..., Any], tuple]]:
    n = 10_000_000
    u = rng.uniform
    return [
        ("Black-Scholes 10M float64", black_scholes,
         (u(10, 100, n), u(10, 100, n), u(0.1, 2.0, n), 0.05, 0.2)),
        ("softmax 4000x1000", softmax, (rng.standard_normal((4000, 1000)),)),
        ("cosine similarity 40000x256", cosine_similarity,
         (rng.standard_normal((40000, 256)), rng.standard_normal((40000, 256)))),
        ("5-point blur 4000x4000", blur5, (u(0, 1, (4000, 4000)),)),
        ("Horner degree 8, 10M", horner, (u(-1, 1, n),)),
        ("pairwise distances 3000x3", pairwise_distances,
         (u(0, 1, (3000, 3)), u(0, 1, (3000, 3)))),
        ("n-body forces 2048", nbody_forces, (u(0, 1, (2048, 3)), u(0.5, 1, 2048))),
        ("logsumexp rows 4000x1000", logsumexp_rows, (rng.standard_normal((4000, 1000)),)),
        ("masked mean 10M", masked_mean, (u(0, 1, n), 0.5)),
        ("cumsum scan 10M", scan, (u(0, 1, n),)),
        ("tanh(A @ v) 8192", tanh_matvec,
         (rng.standard_normal((8192, 8192)) / 90, rng.standard_normal(8192))),
        ("outer Gaussian 4000x4000", outer_gauss, (u(0, 1, 4000), u(0, 1, 4000))),
        ("z-score rows 2000x2000", zscore_rows, (rng.standard_normal((2000, 2000)),)),
        ("differences 10M", differences, (u(0, 1, n),)),
    ]


# --- measuring ----------------------------------------------------------------------------

def interleaved(fns: dict[str, Callable[[], Any]], sync: Callable[[], Any], rounds: int = 5,
                budget: float = 25.0) -> dict[str, list[float]]:
    """Seconds per call of each ``fns`` entry: one warm-up each, then rounds in which
    every entry runs once, in turn (at least 3 rounds, more while within ``budget``)."""
    for fn in fns.values():
        fn()
        sync()
    times: dict[str, list[float]] = {k: [] for k in fns}
    start = time.perf_counter()
    for i in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)
        if i >= 2 and time.perf_counter() - start > budget:
            break
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3,
            "max_ms": max(times) * 1e3, "rounds": len(times)}


def on_cupy(func: Callable[..., Any], cupy: Any) -> Callable[..., Any]:
    """The same code with ``np`` bound to CuPy: the hand-written CuPy version."""
    return types.FunctionType(func.__code__, {**func.__globals__, "np": cupy}, func.__name__)


def round_trip(func: Callable[..., Any], cupy: Any) -> Callable[..., Any]:
    dev = on_cupy(func, cupy)

    def run(*args: Any) -> Any:
        moved = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        out = dev(*moved)
        return out.get() if isinstance(out, cupy.ndarray) else out
    return run


def pinned_rates(cupy: Any) -> tuple[float, float]:
    n = 256 << 20
    dev = cupy.empty(n, cupy.uint8)
    host = np.frombuffer(cupy.cuda.alloc_pinned_memory(n), np.uint8, n)
    s = cupy.cuda.Stream(non_blocking=True)
    h2d = statistics.median(_timed(lambda: dev.data.copy_from_host_async(
        host.ctypes.data, n, s), s.synchronize) for _ in range(5))
    d2h = statistics.median(_timed(lambda: dev.data.copy_to_host_async(
        host.ctypes.data, n, s), s.synchronize) for _ in range(5))
    return n / h2d / 1e9, n / d2h / 1e9


def _timed(fn: Callable[[], Any], sync: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def realized(f: Any) -> str:
    return "+".join(f"{s.backend}" for s in f.stats().signatures) or "?"


def one(name: str, func: Callable[..., Any], args: tuple, cupy: Any,
        rates: tuple[float, float]) -> dict[str, Any]:
    sync = cupy.cuda.get_current_stream().synchronize
    level4 = optlevel.optimize(func, level=4)
    auto = optlevel.optimize(func)
    want = func(*args)
    checks = {}
    for label, f in (("level4", level4), ("auto", auto)):
        got = f(*args)
        diff = compare(got, want)
        checks[label] = "ok" if diff is None else str(diff)
    trip = round_trip(func, cupy)
    times = interleaved({"numpy": lambda: func(*args), "level4": lambda: level4(*args),
                         "auto": lambda: auto(*args), "cupy_round_trip": lambda: trip(*args)},
                        sync)
    bytes_in = sum(a.nbytes for a in args if isinstance(a, np.ndarray))
    bytes_out = np.asarray(want).nbytes
    floor = bytes_in / (rates[0] * 1e9) + bytes_out / (rates[1] * 1e9)
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"function": name, "correct": checks, "level4_ran": realized(level4),
           "auto_ran": realized(auto), **{k: summary(v) for k, v in times.items()},
           "pinned_floor_ms": floor * 1e3,
           "level4_vs_numpy": med["numpy"] / med["level4"],
           "auto_vs_numpy": med["numpy"] / med["auto"],
           "cupy_round_trip_vs_numpy": med["numpy"] / med["cupy_round_trip"],
           "level4_over_floor": med["level4"] / floor if floor else None}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--only", help="run the functions whose name contains this")
    args = parser.parse_args()
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    rates = pinned_rates(cupy)
    print(json.dumps({"gpu": gpu, "cpus": os.cpu_count(), "h2d_pinned_gbps": rates[0],
                      "d2h_pinned_gbps": rates[1]}), flush=True)
    rows = []
    for name, func, fargs in cases(np.random.default_rng(0)):
        if args.only and args.only not in name:
            continue
        try:
            rows.append(one(name, func, fargs, cupy, rates))
        except Exception as exc:  # noqa: BLE001 - a benchmark reports every row it can
            print(json.dumps({"function": name, "error": f"{type(exc).__name__}: {exc}"}))
        cupy.get_default_memory_pool().free_all_blocks()
    print(f"\n{gpu}, {os.cpu_count()} cores; medians of interleaved rounds (min-max)")
    print(f"{'function':30s} {'numpy ms':>9s} {'L4 x':>7s} {'auto x':>7s} {'cupy rt x':>9s} "
          f"{'L4/floor':>8s} correct")
    for r in rows:
        print(f"{r['function']:30s} {r['numpy']['median_ms']:9.2f} {r['level4_vs_numpy']:7.2f} "
              f"{r['auto_vs_numpy']:7.2f} {r['cupy_round_trip_vs_numpy']:9.2f} "
              f"{(r['level4_over_floor'] or 0):8.2f} {r['correct']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"gpu": gpu, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
