"""What runs inside a level-3 worker process (and a Dask or Ray worker).

Kept small and light to import: a worker imports this module, NumPy and the
user's function, nothing else of optlevel's machinery.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...core.runtime import RUNTIME
from . import runtime, shm

__all__ = ["init_process", "run_piece", "run_items", "load_function", "SHM_MIN_BYTES",
           "remote_piece", "remote_items", "GLOBALS", "use_globals", "ShippedError",
           "portable", "reissue"]

#: Arrays at least this large travel through shared memory; smaller ones are pickled.
SHM_MIN_BYTES = 1 << 16
_CAPPED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
#: The layout's entry holding the caller's current globals (name → spec).
GLOBALS = "__optlevel_globals__"
#: The functions this worker loaded, by their pickled bytes (a pool serves a few).
_functions = RUNTIME.cache("parallel.worker.functions", maxsize=64)
#: The argument layouts of recent calls, by their pickled bytes (one per call).
_layouts = RUNTIME.cache("parallel.worker.layouts", maxsize=64)


def init_process() -> None:
    """Process-pool initializer: one core per worker, no nested level 3, and Ctrl-C
    left to the parent (which stops the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in _CAPPED:
        os.environ[var] = "1"
    os.environ["OPTLEVEL_MAX_LEVEL"] = "2"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it, the environment caps libraries loaded from now on
        pass
    else:
        threadpool_limits(limits=1)  # BLAS/OpenMP already loaded (e.g. by the main module)
    runtime.mark_worker_process()
    config = sys.modules.get("optlevel.config")
    if config is not None:
        config.reload_config()  # type: ignore[attr-defined]


def load_function(blob: bytes) -> Callable[..., Any]:
    """The function pickled in ``blob`` (cached per worker)."""
    return _functions.get_or_make(blob, lambda: _load(blob))


def _load(blob: bytes) -> Callable[..., Any]:
    obj = pickle.loads(blob)
    return obj.resolve() if hasattr(obj, "resolve") else obj


@contextlib.contextmanager
def use_globals(func: Callable[..., Any], values: dict[str, Any]) -> Iterator[None]:
    """Run a piece with ``func``'s globals set to the caller's current ``values``; the
    previous ones are put back afterwards (so no view of a shared segment outlives
    the piece)."""
    namespace = getattr(func, "__globals__", None)
    if not values or namespace is None:
        yield
        return
    missing = object()
    previous = {name: namespace.get(name, missing) for name in values}
    namespace.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _value(spec: tuple, lo: int, hi: int, attached: shm.Attached) -> Any:
    """One argument of a piece: a shared array (cut along its axis) or a pickled value."""
    if spec[0] == "val":
        value = spec[1]
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # whole: a write would not reach the caller
        return value
    _, array_spec, axis, writable = spec
    full = attached.array(array_spec, writable)
    if axis is None:
        return full
    index = (slice(None),) * axis + (slice(lo, hi),)
    return full[index]


def run_piece(blob: bytes, positional: tuple[str, ...], layout: bytes, lo: int, hi: int,
              out_name: str) -> tuple:
    """Run the function on rows ``[lo, hi)``; a large array result goes into shared
    memory ``out_name``: returns ``("shm", spec)`` or ``("val", result)``."""
    func = load_function(blob)
    specs = _layouts.get_or_make(layout, lambda: pickle.loads(layout))
    attached = shm.attach()
    try:
        values = {name: _value(spec, lo, hi, attached) for name, spec in specs.items()
                  if name != GLOBALS}
        args = tuple(values[p] for p in positional)
        kwargs = {k: v for k, v in values.items() if k not in positional}
        current = {name: _value(spec, lo, hi, attached)
                   for name, spec in specs.get(GLOBALS, {}).items()}
        del values
        with use_globals(func, current), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # the caller's filters decide what shows
            try:
                result = func(*args, **kwargs)
            except Exception as exc:  # the user's error, made able to travel back
                raise portable(exc) from None
        del args, kwargs, current
        said = tuple(_said(w) for w in caught)
        if type(result) is np.ndarray and result.nbytes >= SHM_MIN_BYTES \
                and result.dtype.kind in "biufc":
            try:
                return "shm", shm.write_result(out_name, result), said
            except OSError:  # no room in /dev/shm: send it through the pipe instead
                pass
        if isinstance(result, np.ndarray):
            result = np.array(result)  # a copy: it may be a view of a shared segment
        return "val", result, said
    finally:
        result = None
        attached.close()


def _said(w: warnings.WarningMessage) -> tuple:
    """A warning a piece raised, as the caller re-issues it (:func:`reissue`)."""
    return (str(w.message), w.category, w.filename, w.lineno)


def reissue(said: tuple, func: Any) -> None:
    """Issue in the caller the warnings a worker's piece raised, in order, under the
    caller's filters and the function's module registry (a warning shown once per
    line in plain Python is shown once here too)."""
    registry = getattr(func, "__globals__", {}).setdefault("__warningregistry__", {})
    for message, category, filename, lineno in said:
        warnings.warn_explicit(message, category, filename, lineno, registry=registry)


class ShippedError(Exception):
    """A user's exception that plain pickle cannot carry back to the parent (a class
    defined in the ``__main__`` script, which the worker received by value, or an
    ``__init__`` that pickle cannot call again): carried as cloudpickle bytes, which
    give the parent back its own class (:meth:`unwrap`)."""

    def __init__(self, blob: bytes, text: str):
        super().__init__(blob, text)
        self.blob, self.text = blob, text

    def unwrap(self) -> BaseException | None:
        """The original exception, or None when it cannot be rebuilt here."""
        try:
            import cloudpickle

            exc = cloudpickle.loads(self.blob)
        except Exception:  # noqa: BLE001 - the caller then runs the call itself
            return None
        return exc if isinstance(exc, BaseException) else None


def portable(exc: Exception) -> Exception:
    """``exc`` if it survives a pickle round trip as itself, else a :class:`ShippedError`."""
    try:
        back = pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
        if type(back) is type(exc):
            return exc
    except Exception:  # noqa: BLE001 - any failure means: send it another way
        pass
    try:
        import cloudpickle

        blob = cloudpickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - the parent then runs the call itself
        blob = b""
    return ShippedError(blob, f"{type(exc).__name__}: {exc}")


def run_items(blob: bytes, items: list[tuple],
              current: dict[str, Any] | None = None) -> list[Any]:
    """``f.map`` in a worker: call the function on each item's arguments, in order,
    with ``current`` (the caller's globals the function reads) set."""
    func = load_function(blob)
    with use_globals(func, current or {}):
        return [func(*item) for item in items]


def remote_piece(func: Callable[..., Any], positional: tuple[str, ...],
                 names: tuple[str, ...], piece: tuple, *whole: Any,
                 current: dict[str, Any] | None = None) -> Any:
    """A piece on a Dask or Ray worker: ``names`` are the split arrays in ``piece``, then
    the arguments every piece gets whole (shipped once, passed as the last arguments);
    ``current``: the caller's globals the function reads, as they are now. Returns the
    piece's result and the warnings it raised (:func:`reissue`)."""
    values = dict(zip(names, tuple(piece) + whole))
    args = tuple(values[p] for p in positional)
    kwargs = {k: v for k, v in values.items() if k not in positional}
    with use_globals(func, current or {}), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the caller's filters decide what shows
        result = func(*args, **kwargs)
    return result, tuple(_said(w) for w in caught)


def remote_items(func: Callable[..., Any], items: list[tuple],
                 current: dict[str, Any] | None = None) -> list[Any]:
    """``f.map`` on a Dask or Ray worker (``current``: as for :func:`run_items`)."""
    with use_globals(func, current or {}):
        return [func(*item) for item in items]
