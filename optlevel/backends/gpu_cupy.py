"""Level 4 on CuPy: NumPy code runs on a CUDA GPU, fused into one kernel where the
AST proves it elementwise, with pinned and streamed transfers for host arrays.

The machinery is shared with the Torch backend in :mod:`optlevel.gpu`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures
from ..gpu import backend as gpu
from . import BackendBase, Estimate, Prepared, Verdict


class CupyBackend(BackendBase):
    name = "cupy"
    lib_name = "cupy"
    level = 4
    requires: tuple[str, ...] = ("cupy",)
    install_hint = "pip install cupy-cuda12x (or cupy-cuda13x), on a machine with an NVIDIA GPU"
    uses_device = True
    holds_resources = True
    options = gpu.GPU_OPTIONS

    def available(self, settings: Any) -> Verdict:
        from ..gpu.probe import cupy_status

        return cupy_status()

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
