"""Sending the user's function to worker processes.

A module-level function is pickled by reference (module and name): the worker
imports it. A function whose module attribute is its ``@optimize`` wrapper is
sent as a :class:`FunctionRef` that the worker resolves to the plain function.
Anything else (a closure, a function defined in another function, and every
function of the ``__main__`` script, which workers never run: :mod:`.start`) is
pickled by value with cloudpickle when it is installed (it comes with Dask, Ray
and loky; joblib vendors it). What cannot be sent raises :class:`ShipError` with
the reason.

The function's bytes are made once, but the globals it reads are not frozen in
them: :func:`current_globals` takes, at every call, the values of the data
globals the function reads (not modules, functions or classes), and the worker
sets them before it runs the piece (:func:`optlevel.levels.parallel.worker.use_globals`).
So a worker sees a global the caller changed, as the plain function would.
"""

from __future__ import annotations

import ast
import dis
import functools
import importlib
import pickle
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from ...core.runtime import RUNTIME

__all__ = ["ShipError", "FunctionRef", "dumps_function", "dumps_values", "current_globals",
           "check_globals", "check_worker_reads"]


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
        if not module or module == "__main__" or "<" in qualname:
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
    if getattr(func, "__module__", None) == "__main__":  # workers never import the script
        first: Exception = ShipError("it is defined in the __main__ script, which worker "
                                     "processes do not run")
    else:
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


#: The global names a code object (and the code nested in it) loads, by code object.
_names = RUNTIME.cache("parallel.ship.global_names", maxsize=256)


def _global_names(code: types.CodeType) -> tuple[str, ...]:
    def find() -> tuple[str, ...]:
        names = {ins.argval for ins in dis.get_instructions(code)
                 if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names.update(_global_names(const))
        return tuple(sorted(names))

    return _names.get_or_make(code, find)


def _is_data(value: Any) -> bool:
    return not isinstance(value, types.ModuleType) and not callable(value)


def current_globals(func: Callable[..., Any]) -> dict[str, Any]:
    """Name → value now, of each data global ``func`` reads (for the workers to set)."""
    code = getattr(func, "__code__", None)
    namespace = getattr(func, "__globals__", None)
    if code is None or namespace is None:
        return {}
    return {name: namespace[name] for name in _global_names(code)
            if name in namespace and _is_data(namespace[name])}


def check_worker_reads(func: Callable[..., Any], tree: ast.AST | None) -> None:
    """Raise :class:`ShipError` when ``func`` does what a worker process cannot do as
    the caller would: read a data attribute of a module (``cfg.SCALE``: a worker reads
    its own import of the module, not the caller's changed value) or issue warnings
    (a worker's warnings are not the caller's)."""
    namespace = getattr(func, "__globals__", None) or {}
    if tree is None:
        return
    import warnings

    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Name) and any(namespace.get(node.id) is w for w in
                                              (warnings.warn, warnings.warn_explicit)):
            raise ShipError(f"it issues warnings (line {line}); worker processes would "
                            "issue them in their own process, not the caller's")
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        owner = namespace.get(node.value.id)
        if not isinstance(owner, types.ModuleType):
            continue
        if owner.__name__ == "warnings" and node.attr.startswith("warn"):
            raise ShipError(f"it issues warnings (line {line}); worker processes would "
                            "issue them in their own process, not the caller's")
        value = getattr(owner, node.attr, None)
        if _user_module(owner) and _is_data(value):
            raise ShipError(f"it reads {node.value.id}.{node.attr} (line {line}); worker "
                            "processes would read their own import of the module, not "
                            "the caller's current value")


def _user_module(module: types.ModuleType) -> bool:
    """A module of the user's (not the standard library's or an installed package's,
    whose data attributes, such as ``np.pi``, nobody changes at run time)."""
    path = getattr(module, "__file__", None) or ""
    return bool(path) and not path.startswith(_library_roots())


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    """Where the standard library and installed packages live (read once)."""
    import sysconfig

    return tuple({p for k in ("stdlib", "platstdlib", "purelib", "platlib")
                  if (p := sysconfig.get_path(k))})


def check_globals(func: Callable[..., Any], tree: ast.AST | None) -> None:
    """Raise :class:`ShipError` when ``func`` writes into a global in place
    (``G[i] = v``, ``G[i] += v``, ``G.attr = v``): a worker would write its own copy."""
    namespace = getattr(func, "__globals__", None) or {}
    if tree is None:
        return
    local = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)} | \
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            base = target
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if base is not target and isinstance(base, ast.Name) and base.id not in local \
                    and base.id in namespace and _is_data(namespace[base.id]):
                line = getattr(node, "lineno", "?")
                raise ShipError(f"it writes into the global {base.id!r} in place (line "
                                f"{line}); worker processes would write their own copies")
