"""The backend registry: one small module per strategy, all the same shape.

A backend is an object with

- ``name`` and ``level`` (0-4);
- ``requires``: the optional modules it needs (checked with ``find_spec``, never imported);
- ``compiles``: True when ``prepare`` builds code (so it may run in the background);
- ``applies(features, signature) -> Verdict``: can it serve this call at all;
- ``prepare(func, features, signature, settings, args, kwargs) -> Prepared``: build the
  callable for this call's arguments, or raise :class:`Decline` with the reason.

Adding a backend is one new module plus one line in :data:`BACKENDS` below.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Callable
from typing import Any, Protocol

from ..analysis import ArgSignature, FunctionFeatures

__all__ = ["Backend", "Verdict", "Prepared", "Decline", "BACKENDS", "register_backend",
           "backends_upto", "requirement_missing"]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a backend can serve a call, and if not, why."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


YES = Verdict(True)


@dataclasses.dataclass
class Prepared:
    """A built callable, with the errors that mean "the build failed" rather than
    "the user's code raised" (e.g. Numba's typing errors raised on a late compile)."""

    fn: Callable[..., Any]
    compile_time: float = 0.0
    internal_errors: tuple[type[BaseException], ...] = ()
    note: str = ""


class Decline(Exception):
    """Raised by ``prepare``: this backend cannot serve the call; try the next one."""

    def __init__(self, reason: str, *, warn: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.warn = warn


class Backend(Protocol):
    name: str
    level: int
    requires: tuple[str, ...]
    compiles: bool
    install_hint: str

    def applies(self, features: FunctionFeatures, signature: ArgSignature) -> Verdict: ...

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared: ...


_spec_cache: dict[str, bool] = {}


def requirement_missing(backend: Backend) -> str | None:
    """The first optional module ``backend`` needs that is not installed, if any."""
    for module in backend.requires:
        if module in sys.modules:  # imported, or blocked with sys.modules[name] = None
            if sys.modules[module] is None:
                return module
            continue
        if module not in _spec_cache:
            _spec_cache[module] = importlib.util.find_spec(module) is not None
        if not _spec_cache[module]:
            return module
    return None


#: name → backend, in ladder order. The one place backends are listed.
BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    """Add (or replace) a backend in the registry."""
    BACKENDS[backend.name] = backend
    return backend


def backends_upto(ceiling: int) -> list[Backend]:
    """Registered backends at or under ``ceiling``, highest level first."""
    return sorted((b for b in BACKENDS.values() if b.level <= ceiling),
                  key=lambda b: -b.level)


def _register_builtin() -> None:
    from .numba_jit import NumbaBackend
    from .python import PythonBackend

    builtin: tuple[Backend, ...] = (PythonBackend(), NumbaBackend())
    for backend in builtin:
        register_backend(backend)


_register_builtin()
