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
import weakref
from collections.abc import Callable
from typing import Any

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


_blobs: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()


def dumps_function(func: Callable[..., Any]) -> bytes:
    """``func`` as bytes a worker can load (cached per function).

    Raises
    ------
    ShipError
        With the reason, when it cannot be pickled by reference or by value.
    """
    try:
        return _blobs[func]
    except (KeyError, TypeError):
        pass
    blob = _dumps_function(func)
    try:
        _blobs[func] = blob
    except TypeError:  # not weak-referenceable: just not cached
        pass
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
