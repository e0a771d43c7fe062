"""Is a GPU usable, through which library, and if not, which of the "no GPU" cases
is it: the library absent, CuPy installed but no CUDA driver reachable (every CUDA
call raises ``CUDARuntimeError``), a CPU-only build of Torch, or Torch with CUDA but
no device. Also the quick measurements the cost model reads (:func:`measure`).

The probes never raise: every failure becomes the reason of a ``Verdict``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...contract import YES, Code, Verdict
from ...core.timing import median_seconds
from ...errors import first_line

__all__ = ["cupy_status", "torch_status", "torch_cuda_build", "measure", "gpu_name"]


def _installed(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


def cupy_status() -> Verdict:
    """Can CuPy run kernels on a GPU here? Imports CuPy (only when it is installed)."""
    if not _installed("cupy"):
        return _missing("CuPy is not installed: pip install cupy-cuda12x (or cupy-cuda13x)")
    try:
        import cupy
    except Exception as exc:  # a broken install must not break the user's call
        return _unusable(f"CuPy is installed but cannot be imported: "
                         f"{type(exc).__name__}: {first_line(exc, 200)}")
    from cupy_backends.cuda.api.runtime import CUDARuntimeError

    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except CUDARuntimeError as exc:
        return _unusable(f"CuPy is installed but no CUDA driver or GPU is reachable "
                         f"(CUDARuntimeError: {first_line(exc, 200)})")
    if count == 0:
        return _unusable("CuPy is installed and a CUDA driver answers, but it sees no GPU")
    return _smoke("CuPy", lambda: int((cupy.arange(4) * 2).sum().item()) == 12)


def torch_cuda_build() -> str | None:
    """The CUDA version Torch was built for, read from ``torch/version.py`` without
    importing Torch (a 1-2 s import); None for a CPU-only build or no Torch."""
    spec = importlib.util.find_spec("torch") if _installed("torch") else None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "version.py"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "unknown"  # cannot tell without importing: let the import answer
    match = re.search(r"^cuda\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return match.group(1) if match else None


def torch_status() -> Verdict:
    """Can Torch run on a CUDA GPU here? Imports Torch only for a CUDA build."""
    if not _installed("torch"):
        return _missing("Torch is not installed: pip install torch")
    if not _installed("array_api_compat"):
        return _missing("array-api-compat is not installed (the NumPy-compatible "
                        "Torch namespace): pip install array-api-compat")
    if torch_cuda_build() is None:
        return _unusable("Torch is installed, but it is a CPU-only build (no CUDA)")
    try:
        import torch
    except Exception as exc:  # a broken install must not break the user's call
        return _unusable(f"Torch is installed but cannot be imported: "
                         f"{type(exc).__name__}: {first_line(exc, 200)}")
    if not torch.cuda.is_available():
        return _unusable(f"Torch is built for CUDA {torch.version.cuda}, but no CUDA "
                         "driver or GPU is reachable (torch.cuda.is_available() is False)")
    return _smoke("Torch", lambda: int((torch.arange(4, device="cuda") * 2).sum()) == 12)


def _smoke(lib: str, check: Callable[[], bool]) -> Verdict:
    """Run one tiny kernel: a driver that answers may still fail to compile or launch."""
    try:
        ok = check()
    except Exception as exc:  # the probe's job is to turn any failure into a reason
        return _unusable(f"{lib} sees a GPU, but a first kernel failed: "
                         f"{type(exc).__name__}: {first_line(exc, 200)}")
    return YES if ok else _unusable(f"{lib} sees a GPU, but a first kernel computed a "
                                    "wrong result")


def _missing(reason: str) -> Verdict:
    return Verdict(False, reason, code=Code.MISSING)


def _unusable(reason: str) -> Verdict:
    """Installed, but no driver or device answers, or a first kernel fails."""
    return Verdict(False, reason, code=Code.UNAVAILABLE)


def gpu_name(lib: Any) -> str:
    """The device's name, for reports (``"NVIDIA H100 80GB HBM3"``)."""
    return lib.device_name()


# --- measurements for the cost model ---------------------------------------------------

def measure(lib: Any, profile: Any, refresh: bool = False) -> dict[str, float]:
    """Transfer rates, launch latency and device bandwidth for ``lib``, measured once
    and kept in the machine profile (``gpu.<lib>.*``), plus NumPy's own rates
    (``gpu.cpu.*``) that the GPU is weighed against. About a quarter of a second."""
    key = f"gpu.{lib.name}.rates"
    return profile.measure(key, lambda: _measure_device(lib), refresh=refresh) | \
        profile.measure("gpu.cpu.rates", _measure_cpu, refresh=refresh)


def _measure_device(lib: Any) -> dict[str, float]:
    nbytes = 32 << 20
    host = np.ones(nbytes // 8)
    dev = lib.empty_like_host(host)
    pinned = lib.pinned_empty(nbytes // 8)
    sync = lib.synchronize
    h2d = median_seconds(lambda: lib.copy_in(dev, pinned), sync=sync)
    d2h = median_seconds(lambda: lib.copy_out(pinned, dev), sync=sync)
    pageable = median_seconds(lambda: lib.copy_in(dev, host), sync=sync)
    small = lib.asarray(np.ones(16))
    launch = median_seconds(lambda: [lib.tiny_op(small) for _ in range(20)], sync=sync) / 20
    memory = median_seconds(lambda: lib.device_copy(dev), sync=sync)
    square = lib.asarray(np.ones((1024, 1024)))
    matmul = median_seconds(lambda: square @ square, sync=sync)
    return {"matmul_flops": 2 * 1024 ** 3 / matmul,
            "h2d_pinned_gbps": nbytes / h2d / 1e9, "d2h_pinned_gbps": nbytes / d2h / 1e9,
            "h2d_pageable_gbps": nbytes / pageable / 1e9, "launch_s": launch,
            "memory_gbps": 2 * nbytes / memory / 1e9, "name": lib.device_name()}


def _measure_cpu() -> dict[str, float]:
    x = np.random.default_rng(0).random(1 << 20)
    cheap = median_seconds(lambda: x * 1.5)
    costly = median_seconds(lambda: np.sin(x))
    copy = median_seconds(lambda: np.copy(x))
    square = np.ones((512, 512))
    matmul = median_seconds(lambda: square @ square)
    # a matrix-vector product is bound by reading the matrix: BLAS's threads' rate
    matrix, vector = np.ones((2048, 2048)), np.ones(2048)
    matvec = median_seconds(lambda: matrix @ vector)
    return {"cpu_matmul_flops": 2 * 512 ** 3 / matmul,
            "cpu_matvec_gbps": matrix.nbytes / matvec / 1e9,
            "cpu_cheap_op_s_per_elem": cheap / x.size,
            "cpu_costly_op_s_per_elem": costly / x.size,
            "cpu_copy_gbps": 2 * x.nbytes / copy / 1e9}
