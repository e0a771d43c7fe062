"""Building the Numba dispatcher for a function: helpers, globals, disk cache.

Numba resolves the globals a function calls at compile time. A plain Python
helper is not callable from nopython code, so we compile each helper that
passes the same AST pre-check and hand Numba a copy of the function whose
globals (and closure cells) name the compiled helpers instead. Helpers that
cannot be compiled, global arrays (which Numba would freeze at compile time) and
callables of unknown kinds decline level 2 with the line that caused it.
"""

from __future__ import annotations

import os
import threading
import types
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import FunctionFeatures, analyze
from ..analysis.source import unwrap_callable
from . import Decline

__all__ = ["jit_dispatcher"]

_lock = threading.RLock()
# (function, boundscheck) → numba dispatcher, or the Decline that building it raised.
_built: weakref.WeakKeyDictionary[Callable, dict[bool, Any]] = weakref.WeakKeyDictionary()


def jit_dispatcher(func: Callable[..., Any], features: FunctionFeatures, settings: Any) -> Any:
    """The (cached) Numba dispatcher for ``func``; raises :class:`Decline`."""
    return _build(func, features, settings, visiting=())


def _build(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
           visiting: tuple) -> Any:
    boundscheck = bool(settings.boundscheck)
    with _lock:
        per_func = _built.setdefault(func, {})
        found = per_func.get(boundscheck)
        if found is None:
            try:
                found = _make_dispatcher(func, features, settings, visiting + (func,))
            except Decline as exc:
                found = exc
            per_func[boundscheck] = found
    if isinstance(found, Decline):
        raise found
    return found


def _make_dispatcher(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
                     visiting: tuple) -> Any:
    import numba

    target = _rebind(func, features, settings, visiting)
    disp = numba.njit(boundscheck=settings.boundscheck, error_model="numpy",
                      nogil=True)(target)
    # Numba's cache index ignores compile options, so each boundscheck setting gets its own
    # directory; otherwise code built without bounds checks would load where they are on.
    checks = "boundscheck" if settings.boundscheck else "no-boundscheck"
    _attach_cache(disp, Path(settings.cache_dir) / "numba" / checks)
    return disp


def _rebind(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
            visiting: tuple) -> Callable[..., Any]:
    """``func``, or a copy whose helper names point at compiled helpers."""
    for name in sorted(features.loaded_globals):
        value = _lookup(func, name)[1]
        if isinstance(value, np.ndarray):
            raise Decline(f"reads the global array {name!r}: Numba would freeze its values "
                          "at compile time, so later changes to it would be ignored")
    replacements: dict[str, Any] = {}
    for name, line in features.called_globals.items():
        found, value = _lookup(func, name)
        if not found:
            raise Decline(f"line {line}: calls {name!r}, which is not defined", warn=False)
        compiled = _compiled_callee(name, line, value, settings, visiting)
        if compiled is not value:
            replacements[name] = compiled
    if not replacements:
        return func
    return _with_names(func, replacements)


def _lookup(func: Callable[..., Any], name: str) -> tuple[bool, Any]:
    code = func.__code__
    if name in code.co_freevars and func.__closure__:
        cell = func.__closure__[code.co_freevars.index(name)]
        try:
            return True, cell.cell_contents
        except ValueError:
            return False, None
    if name in func.__globals__:
        return True, func.__globals__[name]
    builtins = func.__globals__.get("__builtins__", {})
    builtins = builtins if isinstance(builtins, dict) else vars(builtins)
    if name in builtins:
        return True, builtins[name]
    return False, None


def _compiled_callee(name: str, line: int, value: Any, settings: Any,
                     visiting: tuple) -> Any:
    """What Numba should see for a called global: itself, or a compiled helper."""
    py_func = getattr(value, "__optlevel_py_func__", None)
    if py_func is not None:  # an optlevel-decorated helper
        value = py_func
    module = getattr(type(value), "__module__", "") or ""
    if module.startswith("numba"):
        return value
    if isinstance(value, types.FunctionType):
        if (value.__module__ or "").split(".")[0] in ("numpy", "math", "cmath", "numba"):
            return value
        helper = unwrap_callable(value)
        if helper in visiting:
            raise Decline(f"line {line}: {name!r} is called recursively; "
                          "optlevel does not compile recursive helpers")
        helper_features = analyze(helper)
        blockers = helper_features.numba_blockers + helper_features.semantic_blockers
        if not helper_features.has_source or blockers:
            why = blockers[0] if blockers else helper_features.source.reason
            raise Decline(f"line {line}: calls helper {name!r}, which Numba cannot "
                          f"compile ({why})")
        return _build(helper, helper_features, settings, visiting)
    if isinstance(value, (types.BuiltinFunctionType, np.ufunc, type, types.ModuleType)):
        return value
    raise Decline(f"line {line}: calls {name!r}, a {type(value).__name__} that Numba "
                  "cannot compile")


def _with_names(func: Callable[..., Any], replacements: dict[str, Any]) -> Callable[..., Any]:
    """A copy of ``func`` whose globals and closure cells name ``replacements``."""
    code = func.__code__
    new_globals = dict(func.__globals__)
    closure = func.__closure__
    if closure:
        cells = list(closure)
        for i, var in enumerate(code.co_freevars):
            if var in replacements:
                cells[i] = types.CellType(replacements[var])
        closure = tuple(cells)
    new_globals.update({k: v for k, v in replacements.items() if k not in code.co_freevars})
    clone = types.FunctionType(code, new_globals, func.__name__, func.__defaults__, closure)
    clone.__qualname__ = func.__qualname__
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__module__ = func.__module__
    return clone


_cache_class: Any = None


def _attach_cache(disp: Any, cache_dir: Path) -> None:
    """Give ``disp`` Numba's on-disk cache, rooted under ``cache_dir``.

    Numba's own cache (its format, its invalidation on source change) is kept;
    only the directory differs, so ``OPTLEVEL_CACHE_DIR`` holds everything.
    Functions without a source file (exec, REPL) are simply not cached.
    """
    filename = disp.py_func.__code__.co_filename
    if not os.path.isfile(filename):
        return
    cls = _cache_classes()
    try:
        disp._cache = cls(disp.py_func, cache_dir)
    except (RuntimeError, OSError):  # no writable directory: compile without a cache
        return


def _cache_classes() -> Any:
    global _cache_class
    if _cache_class is not None:
        return _cache_class
    from numba.core import caching

    # Numba renamed the class (it had a leading underscore before 0.59).
    base_locator = vars(caching).get("UserProvidedCacheLocator") or \
        vars(caching)["_UserProvidedCacheLocator"]

    class _Locator(base_locator):  # type: ignore[misc, valid-type]
        root: Path = Path(".")

        def __init__(self, py_func: Any, py_file: str):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(self.root / self.get_suitable_cache_subpath(py_file))

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            return super(base_locator, cls).from_function(py_func, py_file)

    class _Cache(caching.FunctionCache):  # type: ignore[misc]
        def __init__(self, py_func: Any, root: Path):
            locator = type("_RootedLocator", (_Locator,), {"root": root})
            impl = type("_Impl", (caching.CompileResultCacheImpl,),
                        {"_locator_classes": [locator]})
            self._impl_class = impl  # type: ignore[assignment]
            super().__init__(py_func)

    _cache_class = _Cache
    return _cache_class
