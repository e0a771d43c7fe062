"""Level 4 on Torch: NumPy code runs on a CUDA GPU through array-api-compat's
NumPy-compatible Torch namespace (and a thin table, :mod:`optlevel.gpu.torch_ns`),
for machines without CuPy, for Torch tensors, or with OPTLEVEL_GPU_BACKEND=torch.

The machinery is shared with the CuPy backend in :mod:`optlevel.gpu`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures
from ..gpu import backend as gpu
from . import BackendBase, Estimate, Prepared, Verdict


class TorchBackend(BackendBase):
    name = "torch"
    lib_name = "torch"
    level = 4
    requires: tuple[str, ...] = ("torch", "array_api_compat")
    install_hint = "pip install torch array-api-compat (a CUDA build of Torch)"
    uses_device = True
    holds_resources = True
    options = gpu.GPU_OPTIONS

    def available(self, settings: Any) -> Verdict:
        from ..gpu.probe import torch_status

        return torch_status()

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        return gpu.applies(self, features, signature, settings)

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        return gpu.estimate(self, features, signature, settings, profile)

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        return gpu.prepare(self, func, features)

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        gpu.calibrate(self, profile)

    def close(self) -> None:
        from ..gpu.libs import close_libs

        close_libs(self.lib_name)
