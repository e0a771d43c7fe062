# ruff: noqa: B023, E501  (timed closures are called inside the loop that binds them)
"""One-off measurements that chose level 4's design (fusion method, transfer method).

Run on the GPU machine: ``PYTHONPATH=. python3 benchmarks/gpu_explore.py``. Prints
medians; the numbers that decided are quoted in docs/levels/gpu.md.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

out = {}


def med(fn, n=15, warm=3, sync=None):
    for _ in range(warm):
        fn()
    if sync:
        sync()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    import cupy as cp
    import torch

    out["gpu"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    out["cpus"] = os.cpu_count()
    sync = cp.cuda.Device().synchronize
    n = 10_000_000
    xh = np.random.default_rng(0).random(n)
    x = cp.asarray(xh)

    def plain():
        return cp.sin(x) + cp.cos(x) + cp.sqrt(cp.abs(x))

    fused = cp.fuse(kernel_name='f1')(lambda v: cp.sin(v) + cp.cos(v) + cp.sqrt(cp.abs(v)))
    fused_np = cp.fuse(kernel_name='f2')(lambda v: np.sin(v) + np.cos(v) + np.sqrt(np.abs(v)))
    ek = cp.ElementwiseKernel("T x", "T y", "y = sin(x) + cos(x) + sqrt(fabs(x))", "ek_elem")
    out["ew10M_cupy_ms"] = med(plain, sync=sync) * 1e3
    out["ew10M_fuse_ms"] = med(lambda: fused(x), sync=sync) * 1e3
    try:
        out["ew10M_fuse_npfuncs_ms"] = med(lambda: fused_np(x), sync=sync) * 1e3
    except Exception as exc:
        out["ew10M_fuse_npfuncs_ms"] = repr(exc)
    out["ew10M_ek_ms"] = med(lambda: ek(x), sync=sync) * 1e3
    out["ew10M_fuse_loop20_ms"] = med(lambda: [fused(x) for _ in range(20)], sync=sync) * 50
    out["ew10M_ek_loop20_ms"] = med(lambda: [ek(x) for _ in range(20)], sync=sync) * 50
    small = cp.asarray(xh[:1000])
    out["overhead_fuse_us"] = med(lambda: fused(small), n=200, sync=sync) * 1e6
    out["overhead_ek_us"] = med(lambda: ek(small), n=200, sync=sync) * 1e6
    out["overhead_plain_us"] = med(lambda: cp.sin(small) + cp.cos(small), n=200, sync=sync) * 1e6
    out["overhead_sync_us"] = med(sync, n=200) * 1e6
    # semantics of fuse with python scalars and float32
    f32 = cp.ones(4, dtype=cp.float32)
    g = cp.fuse(kernel_name='f3')(lambda v, s: v * s + 1.0)
    out["fuse_f32_times_pyfloat"] = str(g(f32, 2.5).dtype)
    out["fuse_f32_times_np64"] = str(g(f32, np.float64(2.5)).dtype)
    out["numpy_f32_times_np64"] = str((np.ones(4, np.float32) * np.float64(2.5) + 1.0).dtype)
    ints = cp.arange(6)
    out["fuse_int_div"] = str(cp.fuse(kernel_name='f4')(lambda a: a / 2)(ints).dtype)
    out["fuse_int_floordiv0"] = cp.fuse(kernel_name='f5')(lambda a, b: a // b)(ints, cp.zeros(6, int)).tolist()
    nanv = cp.asarray([1.0, np.nan, 3.0])
    out["cupy_max_nan"] = float(cp.max(nanv))
    out["cupy_argmax_nan"] = int(cp.argmax(nanv))
    out["cupy_maximum_nan"] = cp.maximum(nanv, 2.0).tolist()
    out["cupy_sort_nan"] = cp.sort(cp.asarray([3.0, np.nan, 1.0, -np.inf])).tolist()
    # torch
    tx = torch.as_tensor(xh, device="cuda")
    tsync = torch.cuda.synchronize
    out["ew10M_torch_ms"] = med(lambda: torch.sin(tx) + torch.cos(tx) + torch.sqrt(torch.abs(tx)),
                                sync=tsync) * 1e3
    try:
        t0 = time.perf_counter()
        comp = torch.compile(lambda v: torch.sin(v) + torch.cos(v) + torch.sqrt(torch.abs(v)),
                             dynamic=False)
        comp(tx)
        tsync()
        out["torch_compile_first_s"] = time.perf_counter() - t0
        out["ew10M_torch_compile_ms"] = med(lambda: comp(tx), sync=tsync) * 1e3
        ts = tx[:1000].clone()
        comp(ts)
        out["overhead_torch_compile_us"] = med(lambda: comp(ts), n=200, sync=tsync) * 1e6
    except Exception as exc:
        out["torch_compile"] = repr(exc)[:300]
    # transfers
    for mb in (80, 800):
        nbytes = mb * 1_000_000
        h = np.random.default_rng(1).random(nbytes // 8)
        d = cp.empty_like(h)
        out[f"h2d_pageable_{mb}MB_gbps"] = nbytes / med(lambda: d.set(h), n=5, sync=sync) / 1e9
        out[f"d2h_pageable_{mb}MB_gbps"] = nbytes / med(lambda: d.get(), n=5, sync=sync) / 1e9
        pm = cp.cuda.alloc_pinned_memory(nbytes)
        p = np.frombuffer(pm, np.float64, nbytes // 8)
        s = cp.cuda.Stream(non_blocking=True)
        out[f"h2d_pinned_{mb}MB_gbps"] = nbytes / med(
            lambda: d.data.copy_from_host_async(p.ctypes.data, nbytes, s),
            n=5, sync=s.synchronize) / 1e9
        out[f"d2h_pinned_{mb}MB_gbps"] = nbytes / med(
            lambda: d.data.copy_to_host_async(p.ctypes.data, nbytes, s),
            n=5, sync=s.synchronize) / 1e9
        for threads in (1, 4, 8, 16):
            pool = ThreadPoolExecutor(threads)
            parts = np.array_split(np.arange(h.size), threads)

            def par_copy():
                list(pool.map(lambda ix: np.copyto(p[ix[0]:ix[-1] + 1], h[ix[0]:ix[-1] + 1]),
                              parts))
            out[f"memcpy_to_pinned_{mb}MB_{threads}t_gbps"] = nbytes / med(par_copy, n=5) / 1e9
            pool.shutdown()
        # first touch of a fresh output
        def fresh():
            a = np.empty(nbytes // 8)
            a[...] = 1.0
        out[f"first_touch_{mb}MB_gbps"] = nbytes / med(fresh, n=3) / 1e9
        # registering user memory in place
        try:
            t0 = time.perf_counter()
            cp.cuda.runtime.hostRegister(h.ctypes.data, nbytes, 0)
            out[f"host_register_{mb}MB_s"] = time.perf_counter() - t0
            out[f"h2d_registered_{mb}MB_gbps"] = nbytes / med(
                lambda: d.data.copy_from_host_async(h.ctypes.data, nbytes, s),
                n=5, sync=s.synchronize) / 1e9
            t0 = time.perf_counter()
            cp.cuda.runtime.hostUnregister(h.ctypes.data)
            out[f"host_unregister_{mb}MB_s"] = time.perf_counter() - t0
        except Exception as exc:
            out[f"host_register_{mb}MB"] = repr(exc)[:200]
        t0 = time.perf_counter()
        pm2 = cp.cuda.alloc_pinned_memory(nbytes)
        out[f"pinned_alloc_{mb}MB_s"] = time.perf_counter() - t0
        del pm2
    # numpy single thread references
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        out["np_ew10M_ms"] = med(lambda: np.sin(xh) + np.cos(xh) + np.sqrt(np.abs(xh)), n=3) * 1e3
        s32 = np.random.default_rng(2).random(10_000_000).astype(np.float32)
        out["np_sort10M_f32_ms"] = med(lambda: np.sort(s32), n=3) * 1e3
    c32 = cp.asarray(s32)
    out["cupy_sort10M_f32_ms"] = med(lambda: cp.sort(c32), sync=sync) * 1e3
    out["threads_alive"] = threading.active_count()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
