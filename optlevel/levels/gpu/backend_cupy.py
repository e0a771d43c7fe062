"""Level 4 on CuPy: NumPy code runs on a CUDA GPU, fused into one kernel where the
AST proves it elementwise, with pinned and streamed transfers for host arrays.

The machinery is shared with the Torch backend in :mod:`optlevel.levels.gpu`.
"""

from __future__ import annotations

from typing import Any

from ...contract import Verdict
from .backend import GpuBackend


class CupyBackend(GpuBackend):
    name = "cupy"
    lib_name = "cupy"
    requires: tuple[str, ...] = ("cupy",)
    install_hint = "pip install cupy-cuda12x (or cupy-cuda13x), on a machine with an NVIDIA GPU"

    def available(self, settings: Any) -> Verdict:
        from .probe import cupy_status

        return cupy_status()
