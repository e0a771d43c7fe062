"""Level 0: the original function, as written. Always applies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...contract import BackendBase, Prepared


class PythonBackend(BackendBase):
    name = "python"
    level = 0

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        return Prepared(func)
