"""Every level-4 figure of issue 6, measured in one run on the GPU machine.

Run there: ``PYTHONPATH=. python3 benchmarks/gpu_figures.py [--json PATH]``.

Issue 17: the optlevel, NumPy and CuPy sides of each row are measured in interleaved
rounds (every contender once per round, in turn), and each row gives the median with
its min–max over the rounds (``*_spread_ms``), so a baseline that drifts during the run
shows as spread rather than as a moved figure; and optlevel's time over the floor.

Baselines measured in the same run: single-threaded NumPy (threadpoolctl limits BLAS
and any threaded library to one thread), the machine's default NumPy/BLAS (all
cores), plain CuPy on data already on the GPU, and the pageable host round trip
(``cupy.asarray`` → CuPy → ``.get()``). optlevel runs as ``optimize(f, level=4)``
(a ceiling: the realized level is printed) or in auto mode, NumPy in and out unless
the row says CuPy in. Times are medians after warm-up calls; device work is
synchronised before the clock is read. The floors: pinned PCIe copies of the bytes
in and out at the rates measured here, and for data on the GPU, the bytes read and
written at the device-to-device copy bandwidth measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import optlevel
from optlevel.bench import workloads as W

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_peers import interleaved  # noqa: E402


def median_time(fn: Callable[[], Any], sync: Callable[[], Any] | None = None,
                repeat: int = 7, warmup: int = 2, budget: float = 20.0) -> float:
    """Median seconds of ``fn()`` (synchronised), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
        if sync:
            sync()
    times: list[float] = []
    spent = 0.0
    while len(times) < repeat and (spent < budget or len(times) < 3):
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return statistics.median(times)


def one_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    from threadpoolctl import threadpool_limits

    def run() -> Any:
        with threadpool_limits(1):
            return fn()
    return run


class Bench:
    def __init__(self) -> None:
        import cupy as cp

        self.cp = cp
        self.sync = cp.cuda.get_current_stream().synchronize
        props = cp.cuda.runtime.getDeviceProperties(0)
        self.gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        self.rows: list[dict[str, Any]] = []
        self.rates = self._rates()

    def _rates(self) -> dict[str, float]:
        cp = self.cp
        n = 256 << 20
        dev = cp.empty(n, cp.uint8)
        mem = cp.cuda.alloc_pinned_memory(n)
        host = np.frombuffer(mem, np.uint8, n)
        host[:] = 1
        s = cp.cuda.Stream(non_blocking=True)
        h2d = median_time(lambda: dev.data.copy_from_host_async(host.ctypes.data, n, s),
                          s.synchronize)
        d2h = median_time(lambda: dev.data.copy_to_host_async(host.ctypes.data, n, s),
                          s.synchronize)
        other = cp.empty_like(dev)
        d2d = median_time(lambda: other.data.copy_from_device(dev.data, n), self.sync)
        return {"h2d_pinned_gbps": n / h2d / 1e9, "d2h_pinned_gbps": n / d2h / 1e9,
                "device_copy_gbps": 2 * n / d2d / 1e9}

    def pinned_floor(self, bytes_in: int, bytes_out: int) -> float:
        return bytes_in / (self.rates["h2d_pinned_gbps"] * 1e9) + \
            bytes_out / (self.rates["d2h_pinned_gbps"] * 1e9)

    def add(self, figure: str, **values: Any) -> None:
        row = {"figure": figure, **values}
        self.rows.append(row)
        print(json.dumps(row), flush=True)

    def optlevel_fn(self, func: Callable[..., Any], level: Any = 4, **options: Any) -> Any:
        return optlevel.optimize(func, level=level, **options)


def realized(f: Any) -> str:
    levels = {lv: n for lv, n in f.stats().levels.items() if n}
    return "+".join(str(lv) for lv in sorted(levels))


def spread(times: dict[str, list[float]]) -> dict[str, Any]:
    """``<name>_ms`` (median) and ``<name>_spread_ms`` ([min, max]) of each contender."""
    out: dict[str, Any] = {}
    for name, values in times.items():
        out[f"{name}_ms"] = statistics.median(values) * 1e3
        out[f"{name}_spread_ms"] = [min(values) * 1e3, max(values) * 1e3]
    out["rounds"] = min(len(v) for v in times.values())
    return out


def elementwise_host(b: Bench, n: int) -> None:
    cp = b.cp
    x = W._vector(n)[0]
    f = b.optlevel_fn(W.elementwise)
    xd = cp.asarray(x)
    times = interleaved({
        "numpy_1thread": one_thread(lambda: W.elementwise(x)),
        "optlevel": lambda: f(x),
        "plain_cupy_resident": lambda: cp.sin(xd) + cp.cos(xd) + cp.sqrt(cp.abs(xd)),
        "pageable_round_trip": lambda: (lambda d: (cp.sin(d) + cp.cos(d) +
                                                   cp.sqrt(cp.abs(d))).get())(cp.asarray(x))},
        b.sync, rounds=5 if n <= 20e6 else 3)
    row = spread(times)
    floor = b.pinned_floor(x.nbytes, x.nbytes)
    b.add(f"elementwise {n:,} float64, NumPy in/out", realized=realized(f),
          speedup_vs_numpy1=row["numpy_1thread_ms"] / row["optlevel_ms"],
          pinned_floor_ms=floor * 1e3, optlevel_over_floor=row["optlevel_ms"] / 1e3 / floor,
          **row)


def elementwise_device(b: Bench) -> None:
    cp = b.cp
    n = 10_000_000
    x = W._vector(n)[0]
    numpy1 = median_time(one_thread(lambda: W.elementwise(x)), repeat=3)
    xd = cp.asarray(x)
    f = b.optlevel_fn(W.elementwise)
    per_call = median_time(lambda: f(xd), b.sync, repeat=50)
    loop = median_time(lambda: [f(xd) for _ in range(20)], b.sync, repeat=10) / 20
    plain = median_time(lambda: cp.sin(xd) + cp.cos(xd) + cp.sqrt(cp.abs(xd)), b.sync)
    floor = 2 * x.nbytes / (b.rates["device_copy_gbps"] * 1e9)
    b.add("elementwise 10,000,000 float64, CuPy in/out", numpy_1thread_ms=numpy1 * 1e3,
          optlevel_ms_per_call_synced=per_call * 1e3, optlevel_ms_in_a_loop=loop * 1e3,
          realized=realized(f), speedup_vs_numpy1=numpy1 / per_call,
          plain_cupy_ms=plain * 1e3, memory_floor_ms=floor * 1e3,
          per_call_over_floor=per_call / floor, loop_over_floor=loop / floor)


def matmul(b: Bench) -> None:
    cp = b.cp
    a, c = W._two_squares(4096)
    f = b.optlevel_fn(W.matmul)
    ad, cd = cp.asarray(a), cp.asarray(c)
    row = spread(interleaved({"numpy_16core_blas": lambda: W.matmul(a, c),
                              "optlevel": lambda: f(a, c),
                              "plain_cupy_resident": lambda: ad @ cd}, b.sync))
    floor = b.pinned_floor(2 * a.nbytes, a.nbytes)
    b.add("matmul 4096 float64, NumPy in/out", realized=realized(f),
          speedup_vs_blas16=row["numpy_16core_blas_ms"] / row["optlevel_ms"],
          pinned_floor_ms=floor * 1e3, optlevel_over_floor=row["optlevel_ms"] / 1e3 / floor,
          **row)


def simple(b: Bench, figure: str, func: Callable[..., Any], args: tuple, bytes_out: int,
           repeat: int = 5, **options: Any) -> None:
    cp = b.cp
    f = b.optlevel_fn(func, **options)
    bytes_in = sum(a.nbytes for a in args if isinstance(a, np.ndarray))
    dev = [cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    with optlevel.level(4):
        resident = b.optlevel_fn(func, **options)

    def on_gpu() -> Any:
        with optlevel.on_device():
            return resident(*dev)

    row = spread(interleaved({"numpy_1thread": one_thread(lambda: func(*args)),
                              "numpy_16core": lambda: func(*args),
                              "optlevel": lambda: f(*args),
                              "optlevel_data_on_gpu": on_gpu}, b.sync, rounds=repeat))
    floor = b.pinned_floor(bytes_in, bytes_out)
    b.add(figure, realized=realized(f),
          speedup_vs_numpy1=row["numpy_1thread_ms"] / row["optlevel_ms"],
          speedup_vs_numpy16=row["numpy_16core_ms"] / row["optlevel_ms"],
          pinned_floor_ms=floor * 1e3,
          optlevel_over_floor=row["optlevel_ms"] / 1e3 / floor if floor else None, **row)


def auto_small(b: Bench) -> None:
    x = W._vector(100_000)[0]
    plain = median_time(lambda: W.elementwise(x), repeat=30)
    f = optlevel.optimize(W.elementwise)
    auto = median_time(lambda: f(x), repeat=30, warmup=5)
    b.add("auto: elementwise 100,000", plain_numpy_ms=plain * 1e3, auto_ms=auto * 1e3,
          realized=realized(f), auto_over_plain=auto / plain)
    forced = optlevel.optimize(W.elementwise, level=4, strict=True)
    gpu = median_time(lambda: forced(x), repeat=30, warmup=5)
    b.add("level 4 forced (strict): elementwise 100,000", gpu_ms=gpu * 1e3,
          plain_numpy_ms=plain * 1e3)
    y, steps = W._small_array(10_000)
    plain = median_time(lambda: W.small_loop(y, steps), repeat=7)
    g = optlevel.optimize(W.small_loop)
    auto = median_time(lambda: g(y, steps), repeat=7, warmup=3)
    b.add("auto: small_loop 100x100, 10,000 steps", plain_numpy_ms=plain * 1e3,
          auto_ms=auto * 1e3, realized=realized(g), auto_over_plain=auto / plain)


def profile_1m(b: Bench) -> None:
    """Where the time of a 1M elementwise call goes (explain, then cProfile)."""
    import cProfile
    import pstats

    x = W._vector(1_000_000)[0]
    f = b.optlevel_fn(W.elementwise)
    print(optlevel.explain(f, x), flush=True)
    for _ in range(3):
        f(x)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        f(x)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
    print(optlevel.explain(f, x), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--profile-1m", action="store_true", help="profile 1M and stop")
    args = parser.parse_args()
    b = Bench()
    if args.profile_1m:
        profile_1m(b)
        return
    print(json.dumps({"gpu": b.gpu, "cpus": os.cpu_count(), **b.rates}), flush=True)
    for n in (1_000_000, 10_000_000, 100_000_000):
        elementwise_host(b, n)
    elementwise_device(b)
    matmul(b)
    x = W._vector(100_000_000)[0]
    simple(b, "reduction 100,000,000 float64 (np.sum)", W.reduction, (x,), 0, repeat=5)
    del x
    z = W._complex_vector(10_000_000)[0]
    simple(b, "fft 10,000,000 complex128", W.fft, (z,), z.nbytes, repeat=3)
    del z
    imgs = W._images(1000)[0]
    simple(b, "process_images n=1000 (1000x256x256 float32)", W.process_images, (imgs,),
           imgs.nbytes, repeat=3)
    del imgs
    s = W._float32_vector(10_000_000)[0]
    simple(b, "sort 10,000,000 float32", W.sort, (s,), s.nbytes)
    simple(b, "montecarlo_pi 10,000,000 draws (gpu_random=True, verify=False)",
           W.montecarlo_pi, (10_000_000, 0), 0, gpu_random=True, verify=False)
    auto_small(b)
    print(f"\nGPU: {b.gpu}; pinned {b.rates['h2d_pinned_gbps']:.1f} GB/s in, "
          f"{b.rates['d2h_pinned_gbps']:.1f} GB/s out; device copy "
          f"{b.rates['device_copy_gbps']:.0f} GB/s (read+write)")
    for row in b.rows:
        print(f"{row['figure']:55s} " + ", ".join(
            f"{k}={row[k]:.3g}" if isinstance(row[k], float) else
            f"{k}=[{row[k][0]:.3g}, {row[k][1]:.3g}]" for k in row
            if k != "figure" and isinstance(row[k], (float, list))))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"gpu": b.gpu, "rates": b.rates, "rows": b.rows}, fh, indent=1)


if __name__ == "__main__":
    main()
