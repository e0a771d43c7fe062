"""Does level 4 pay for a call, and what is it predicted to cost?

The sums use the machine profile (:func:`.probe.measure`: pinned transfer rates,
launch latency and device bandwidth of this GPU, NumPy's per-element costs on this
CPU) and the function's findings (operations, transcendental ones, fused or not,
matmul, FFT, sort):

- GPU: host bytes in and out at the pinned rates (the staging copies overlap them),
  plus the kernels (bytes over device bandwidth, one launch per operation unless
  fused), plus a fixed per-call cost;
- CPU (level 0): elements × operations × NumPy's measured cost per element, or the
  flops of a matmul at a measured BLAS rate.

Data already on the device pays no transfer; a CPU level would have to copy it back,
so level 4 always pays there. Host arrays below :data:`HOST_MIN_ELEMENTS` stay on the
CPU (the articles' rule that below about 1M elements GPU overhead dominates, and
there a first call also pays the GPU's start-up and kernel compiles that a small call
never earns back). Loops repeating whole-array work have an unknown trip count: the
first calls measure level 4 against level 0 ("trial").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from ...arrays import ArgKind
from ...contract import Estimate, Pays

__all__ = ["predict", "HOST_MIN_ELEMENTS"]

#: host arrays with fewer elements than this (all together) stay on the CPU
HOST_MIN_ELEMENTS = 1_000_000


def too_small_on_host(signature: Any) -> str:
    """Why the call's host arrays are too small for the GPU to pay, or ``""``. Cheap:
    ``applies`` asks it before any device is probed."""
    arrays = signature.arrays
    host = [a for a in arrays if a.kind is ArgKind.NUMPY]
    if not host or len(host) != len(arrays):
        return ""
    host_elems = sum(a.size for a in host)
    if host_elems >= HOST_MIN_ELEMENTS:
        return ""
    return (f"{host_elems:,} elements on the host: below {HOST_MIN_ELEMENTS:,}, copies and "
            "launches cost more than the GPU saves; pass device arrays "
            "(optlevel.to_device) to use it anyway")
_CALL_OVERHEAD_S = 60e-6  # binding, namespace, synchronisation: measured ~40-80 us
_PAYS_FACTOR = 1.5  # predicted at least this much faster: "yes"; between 1 and it: trial


def _itemsize(dtype: str | None) -> int:
    if not dtype:
        return 8
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # a Torch dtype name NumPy does not know (bfloat16)
        return 2


def predict(features: FunctionFeatures, findings: Any, signature: ArgSignature,
            rates: dict[str, Any], fused: bool, gpu_random: bool) -> Estimate:
    """The :class:`Estimate` for one call signature (``rates``: the profile's values)."""
    arrays = signature.arrays
    if not arrays:
        if gpu_random and features.uses_random:
            return Estimate(Pays.YES, "draws its random numbers on the GPU (gpu_random=True)")
        return Estimate(Pays.TRIAL, "no array arguments, so the work size is unknown: the "
                                    "first calls measure level 4 against level 0")
    host = [a for a in arrays if a.kind is ArgKind.NUMPY]
    n = max(a.size for a in arrays)
    itemsize = max(_itemsize(a.dtype) for a in arrays)
    gpu = _gpu_compute(features, findings, arrays, n, itemsize, rates, fused)
    if not host:
        return Estimate(Pays.YES, f"the data is already on the GPU (kernels ≈ {_ms(gpu)})",
                        gpu)
    small = too_small_on_host(signature)
    if small:
        return Estimate(Pays.NO, small)
    bytes_in = sum(a.size * _itemsize(a.dtype) for a in host)
    bytes_out = 0 if _reduces_to_scalar(features, findings) else n * itemsize
    transfer = bytes_in / (rates["h2d_pinned_gbps"] * 1e9) + \
        bytes_out / (rates["d2h_pinned_gbps"] * 1e9)
    total = transfer + gpu + _CALL_OVERHEAD_S
    cpu = _cpu(features, findings, arrays, n, rates)
    why = (f"predicted {_ms(total)} on the GPU ({_ms(transfer)} of it copies) against "
           f"{_ms(cpu)} on the CPU")
    if findings.array_loops:
        return Estimate(Pays.TRIAL, f"a loop repeats whole-array work an unknown number of "
                                    f"times: the first calls measure level 4 against level "
                                    f"0; {why} per pass", total)
    if total * _PAYS_FACTOR <= cpu:
        return Estimate(Pays.YES, why, total)
    if total <= cpu:
        return Estimate(Pays.TRIAL, why + ": close, so the first calls measure it", total)
    return Estimate(Pays.NO, why, total)


def _reduces_to_scalar(features: FunctionFeatures, findings: Any) -> bool:
    classes = set(features.numpy_calls)
    return bool(classes) and classes <= {"reduction", "elementwise"} and \
        "reduction" in classes and not findings.elementwise


def _gpu_compute(features: FunctionFeatures, findings: Any, arrays: tuple, n: int,
                 itemsize: int, rates: dict[str, Any], fused: bool) -> float:
    """Seconds of kernels: memory passes over device bandwidth, launches, matmul flops."""
    bandwidth = rates["memory_gbps"] * 1e9
    passes = 2 if fused else 2 * max(1, findings.ops)
    seconds = passes * n * itemsize / bandwidth
    seconds += (1 if fused else max(1, findings.ops)) * rates["launch_s"]
    if "blas" in features.numpy_calls:
        seconds += _matmul_flops(arrays) / rates.get("matmul_flops", 20e12)
    if "sort" in features.numpy_calls or "fft" in features.numpy_calls:
        seconds += 8 * n * itemsize / bandwidth  # a few passes more: radix sort, cuFFT
    return seconds


def _cpu(features: FunctionFeatures, findings: Any, arrays: tuple, n: int,
         rates: dict[str, Any]) -> float:
    """Seconds of plain NumPy on one core for the same call."""
    cheap = rates["cpu_cheap_op_s_per_elem"]
    costly = rates["cpu_costly_op_s_per_elem"]
    special = sum(len(features.numpy_calls.get(c, ())) for c in ("blas", "fft", "sort"))
    ops = max(0, findings.ops - special)  # matmul, FFT and sort are costed below
    seconds = n * (findings.costly_ops * costly + max(0, ops - findings.costly_ops) * cheap)
    if "blas" in features.numpy_calls:
        seconds += _matmul_flops(arrays) / rates.get("cpu_matmul_flops", 50e9)
    if "sort" in features.numpy_calls:
        seconds += n * math.log2(max(n, 2)) * cheap / 4
    if "fft" in features.numpy_calls:
        seconds += 5 * n * math.log2(max(n, 2)) * cheap / 4
    return seconds


def _matmul_flops(arrays: tuple) -> float:
    mats = [a.shape for a in arrays if a.shape and len(a.shape) == 2]
    if len(mats) >= 2:
        (m, k), (_, p) = mats[0], mats[1]
        return 2.0 * m * k * p
    return 2.0 * max((a.size for a in arrays), default=0)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"
