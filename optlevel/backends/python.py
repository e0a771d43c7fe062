"""Level 0: the original function, as written. Always applies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures
from . import YES, Prepared, Verdict


class PythonBackend:
    name = "python"
    level = 0
    requires: tuple[str, ...] = ()
    compiles = False
    install_hint = ""

    def applies(self, features: FunctionFeatures, signature: ArgSignature) -> Verdict:
        return YES

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        return Prepared(func)
