"""Level 4 on Torch: NumPy code runs on a CUDA GPU through array-api-compat's
NumPy-compatible Torch namespace (and a thin table, :mod:`optlevel.levels.gpu.torch_ns`),
for machines without CuPy, for Torch tensors, or with OPTLEVEL_GPU_BACKEND=torch.

The machinery is shared with the CuPy backend in :mod:`optlevel.levels.gpu`.
"""

from __future__ import annotations

from typing import Any

from ...contract import Verdict
from .backend import GpuBackend


class TorchBackend(GpuBackend):
    name = "torch"
    lib_name = "torch"
    requires: tuple[str, ...] = ("torch", "array_api_compat")
    install_hint = "pip install torch array-api-compat (a CUDA build of Torch)"

    def available(self, settings: Any) -> Verdict:
        from .probe import torch_status

        return torch_status()
