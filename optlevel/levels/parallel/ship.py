"""Sending the user's function to worker processes.

A module-level function is pickled by reference (module and name): the worker
imports it. A function whose module attribute is its ``@optimize`` wrapper is
sent as a :class:`FunctionRef` that the worker resolves to the plain function.
Anything else (a closure, a function defined in another function) is pickled by
value with cloudpickle when it is installed (it comes with Dask, Ray and loky;
joblib vendors it). What cannot be sent raises :class:`ShipError` with the reason.
"""

from __future__ import annotations

import importlib
import pickle
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ...core.runtime import RUNTIME

__all__ = ["ShipError", "FunctionRef", "dumps_function", "dumps_values"]


class ShipError(Exception):
    """The function or an argument cannot be sent to worker processes."""


class FunctionRef:
    """A decorated module-level function, found again by module and qualified name."""

    def __init__(self, module: str, qualname: str):
        self.module, self.qualname = module, qualname

    def resolve(self) -> Callable[..., Any]:
        obj: Any = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        return getattr(obj, "__optlevel_py_func__", obj)

    @classmethod
    def to(cls, func: Callable[..., Any]) -> FunctionRef | None:
        module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
        if not module or "<" in qualname:
            return None
        ref = cls(module, qualname)
        try:
            found = ref.resolve()
        except (ImportError, AttributeError):
            return None
        return ref if found is func else None


class _Blobs:
    """Each function's pickled bytes, kept while the function lives (weak keys: a
    closure shipped once is not kept alive by this cache), written under a lock and
    forgotten by :func:`optlevel.core.runtime.reset`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blobs: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
        RUNTIME.on_reset("parallel.ship.blobs", self.clear)

    def get(self, func: Callable[..., Any]) -> bytes | None:
        try:
            return self.blobs.get(func)
        except TypeError:  # not weak-referenceable: never cached
            return None

    def put(self, func: Callable[..., Any], blob: bytes) -> None:
        with self.lock:
            try:
                self.blobs[func] = blob
            except TypeError:  # not weak-referenceable: just not cached
                pass

    def clear(self) -> None:
        with self.lock:
            self.blobs.clear()


_BLOBS = _Blobs()


def dumps_function(func: Callable[..., Any]) -> bytes:
    """``func`` as bytes a worker can load (cached per function).

    Raises
    ------
    ShipError
        With the reason, when it cannot be pickled by reference or by value.
    """
    blob = _BLOBS.get(func)
    if blob is None:
        blob = _dumps_function(func)
        _BLOBS.put(func, blob)
    return blob


def _dumps_function(func: Callable[..., Any]) -> bytes:
    try:
        return pickle.dumps(func, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        first = exc
    ref = FunctionRef.to(func)
    if ref is not None:
        return pickle.dumps(ref, protocol=pickle.HIGHEST_PROTOCOL)
    cloudpickle = _cloudpickle()
    if cloudpickle is None:
        raise ShipError(f"it cannot be sent to worker processes ({first}); install "
                        "cloudpickle to send closures and nested functions")
    try:
        return cloudpickle.dumps(func, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ShipError(f"it cannot be sent to worker processes: {type(exc).__name__}: "
                        f"{exc}") from None


def dumps_values(values: Any, what: str) -> bytes:
    """Pickle arguments once for every piece; :class:`ShipError` names what failed."""
    try:
        return pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ShipError(f"{what} cannot be sent to worker processes: "
                        f"{type(exc).__name__}: {exc}") from None


def _cloudpickle() -> Any:
    for name in ("cloudpickle", "joblib.externals.cloudpickle"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None
