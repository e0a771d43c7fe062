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

Sizes are the work the function does, not its input's: the argument shapes are
propagated through the AST (:func:`optlevel.analysis.shapes.propagate`: broadcasting,
outer products, ``@``, reductions), so an n-body step by broadcasting counts the
12.6M elements it makes from 6,144, and ``np.tanh(A @ v)`` costs a matrix-vector
product (reading ``A`` at the CPU's measured BLAS speed, against copying ``A`` to
the GPU) plus ``tanh`` over one vector. Where the shapes cannot be followed, the
arguments' sizes stand in, as before.

Data already on the device pays no transfer; a CPU level would have to copy it back,
so level 4 always pays there. Calls whose work is below :data:`HOST_MIN_ELEMENTS`
stay on the CPU without probing the GPU (below about 1M elements GPU overhead
dominates, and a first call also pays the GPU's start-up and kernel compiles that a
small call never earns back). Loops repeating whole-array work have an unknown trip
count: the first calls measure level 4 against level 0 ("trial").
"""

from __future__ import annotations

import math
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...analysis.shapes import Work, call_work, itemsize_of
from ...arrays import ArgKind
from ...contract import Estimate, Pays

__all__ = ["predict", "HOST_MIN_ELEMENTS", "call_work", "too_small_on_host"]

#: calls on host arrays doing less work than this many elements stay on the CPU
HOST_MIN_ELEMENTS = 1_000_000


def work_elements(work: Work) -> int:
    """One number for the size of the work: elements made and reduced, and half the
    flops of matrix products."""
    return work.elements + work.reduced + int(work.flops // 2)


def too_small_on_host(signature: Any, work: Work | None = None) -> str:
    """Why the call's work on host arrays is too small for the GPU to pay, or ``""``.
    Cheap: ``applies`` asks it before any device is probed."""
    arrays = signature.arrays
    host = [a for a in arrays if a.kind is ArgKind.NUMPY]
    if not host or len(host) != len(arrays):
        return ""
    host_elems = sum(a.size for a in host)
    if host_elems >= HOST_MIN_ELEMENTS:
        return ""
    if work is not None and work.known:
        done = work_elements(work)
        if done >= HOST_MIN_ELEMENTS:
            return ""
        return (f"{host_elems:,} elements on the host, {done:,} elements of work: below "
                f"{HOST_MIN_ELEMENTS:,}, copies and launches cost more than the GPU saves; "
                "pass device arrays (optlevel.to_device) to use it anyway")
    return (f"{host_elems:,} elements on the host: below {HOST_MIN_ELEMENTS:,}, copies and "
            "launches cost more than the GPU saves; pass device arrays "
            "(optlevel.to_device) to use it anyway")


_CALL_OVERHEAD_S = 60e-6  # binding, namespace, synchronisation: measured ~40-80 us
_PAYS_FACTOR = 1.5  # predicted at least this much faster: "yes"; between 1 and it: trial


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
    itemsize = max(itemsize_of(a.dtype) for a in arrays)
    work = call_work(features, signature)
    if work.known:
        gpu = _gpu_work(work, arrays, itemsize, rates, fused, findings)
    else:
        gpu = _gpu_compute(features, findings, arrays, n, itemsize, rates, fused)
    if not host:
        return Estimate(Pays.YES, f"the data is already on the GPU (kernels ≈ {_ms(gpu)})",
                        gpu)
    small = too_small_on_host(signature, work)
    if small:
        return Estimate(Pays.NO, small)
    bytes_in = sum(a.size * itemsize_of(a.dtype) for a in host)
    if work.known:
        bytes_out = work.result * itemsize
    else:
        bytes_out = 0 if _reduces_to_scalar(features, findings) else n * itemsize
    transfer = bytes_in / (rates["h2d_pinned_gbps"] * 1e9) + \
        bytes_out / (rates["d2h_pinned_gbps"] * 1e9)
    total = transfer + gpu + _CALL_OVERHEAD_S
    cpu = _cpu_work(work, rates) if work.known else \
        _cpu(features, findings, arrays, n, rates)
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


def _gpu_work(work: Work, arrays: tuple, itemsize: int, rates: dict[str, Any],
              fused: bool, findings: Any) -> float:
    """Seconds of kernels for the propagated work: a fused kernel reads its inputs and
    writes its result once; unfused, every operation reads and writes its output."""
    bandwidth = rates["memory_gbps"] * 1e9
    if fused:
        seconds = (sum(a.size for a in arrays) + work.result) * itemsize / bandwidth
        seconds += rates["launch_s"]
    else:
        seconds = 2 * (work.elements + work.reduced) * itemsize / bandwidth
        seconds += max(1, work.ops) * rates["launch_s"]
    seconds += work.flops / rates.get("matmul_flops", 20e12) + work.blas_bytes / bandwidth
    return seconds


def _cpu_work(work: Work, rates: dict[str, Any]) -> float:
    """Seconds of plain NumPy for the propagated work; matrix products at this
    machine's measured BLAS speed (a matrix-vector product reads its matrix at the
    measured matrix-vector rate)."""
    cheap = rates["cpu_cheap_op_s_per_elem"]
    costly = rates["cpu_costly_op_s_per_elem"]
    seconds = (work.elements - work.costly + work.reduced) * cheap + work.costly * costly
    blas = work.flops / rates.get("cpu_matmul_flops", 50e9)
    if work.matvec:
        matvec_bps = rates.get("cpu_matvec_gbps", 4 * rates.get("cpu_copy_gbps", 10.0)) * 1e9
        blas = max(blas, work.blas_bytes / matvec_bps)
    return seconds + blas


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
