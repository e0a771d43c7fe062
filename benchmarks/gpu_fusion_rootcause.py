"""Issue 17's root cause on the GPU, with CuPy alone (no optlevel needed on the machine).

Run there: ``python3 benchmarks/gpu_fusion_rootcause.py``. A float64 Black–Scholes pricer
over 10M options with Python-float ``r`` and ``v``: CuPy unfused, ``cupy.fuse`` of the
function as written (its scalar-only operations ``r + 0.5 * v * v`` and ``-r`` run in
float16: CuPy's fuser types an operation on weak Python scalars alone by its smallest
loop), and the kernel level 4 now builds for it (those parts computed on the host, the
Python scalar argument made strong before it meets an array). Prints the share of
prices off NumPy's by more than 1e-9 (relative and absolute) and the median of 7 calls.
"""

import time

import cupy as cp
import numpy as np


def make(xp):
    def bs(S, K, T, r, v):
        sq = xp.sqrt(T)
        d1 = (xp.log(S / K) + (r + 0.5 * v * v) * T) / (v * sq)
        d2 = d1 - v * sq
        c1 = 0.5 * (1.0 + xp.tanh(0.7978845608 * (d1 + 0.044715 * d1 ** 3)))
        c2 = 0.5 * (1.0 + xp.tanh(0.7978845608 * (d2 + 0.044715 * d2 ** 3)))
        return S * c1 - K * xp.exp(-r * T) * c2
    return bs


def hoisted(S, K, T, v, h0, h1):
    """What level 4 fuses: h0 = r + 0.5 * v * v and h1 = -r come from the host."""
    v = cp.add(v, np.float64(-0.0))
    sq = cp.sqrt(T)
    d1 = (cp.log(S / K) + h0 * T) / (v * sq)
    d2 = d1 - v * sq
    c1 = 0.5 * (1.0 + cp.tanh(0.7978845608 * (d1 + 0.044715 * d1 ** 3)))
    c2 = 0.5 * (1.0 + cp.tanh(0.7978845608 * (d2 + 0.044715 * d2 ** 3)))
    return S * c1 - K * cp.exp(h1 * T) * c2


def main() -> None:
    print(cp.cuda.runtime.getDeviceProperties(0)["name"])
    rng = np.random.default_rng(0)
    n = 10_000_000
    S, K, T = rng.uniform(10, 100, n), rng.uniform(10, 100, n), rng.uniform(0.1, 2, n)
    r, v = 0.05, 0.2
    ref = make(np)(S, K, T, r, v)
    d = [cp.asarray(a) for a in (S, K, T)]
    fused, fixed = cp.fuse(make(cp)), cp.fuse(hoisted)
    cases = {"cupy unfused": lambda: make(cp)(*d, r, v),
             "cupy.fuse as written": lambda: fused(*d, r, v),
             "fused, scalars hoisted": lambda: fixed(*d, v, r + 0.5 * v * v, -r)}
    for name, f in cases.items():
        out = cp.asnumpy(f())
        times = []
        for _ in range(7):
            t = time.perf_counter()
            f()
            cp.cuda.Device().synchronize()
            times.append(time.perf_counter() - t)
        off = np.mean(~np.isclose(out, ref, rtol=1e-9, atol=1e-9))
        print(f"{name:24s} {off * 100:.1f}% off by >1e-9, median {np.median(times) * 1e3:.3f} ms "
              f"[{min(times) * 1e3:.3f}, {max(times) * 1e3:.3f}]")
    t = time.perf_counter()
    make(np)(S, K, T, r, v)
    print(f"numpy, one call: {(time.perf_counter() - t) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
