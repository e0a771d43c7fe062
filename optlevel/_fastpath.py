"""The base class of :class:`~optlevel.Optimized`: the compiled call fast path
(``_fastcall.c``) where it was built, else an empty class and the Python fast
path.

The compiled path is an optional extension: ``pip install`` builds it where a C
compiler is found, and a failed build leaves the pure-Python path, which means the
same. ``OPTLEVEL_PURE_PYTHON=1`` in the environment (read at import) chooses the
Python path even where the extension was built. :data:`COMPILED` says which runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from time import perf_counter

import numpy as np

from .analysis.signature import SIZE_CLASS, other_key
from .arrays import FLAG_MASK, SCALAR_TYPES
from .config import CONTEXT_LEVEL, STATE
from .core.plan import Plan, Retyped

__all__ = ["CallBase", "COMPILED", "configure", "probe_arrays"]


def _load() -> tuple[type, Callable[..., None]] | None:
    """The compiled base class and its ``configure``, or None where Python serves."""
    if os.environ.get("OPTLEVEL_PURE_PYTHON", "").strip() not in ("", "0"):
        return None
    try:
        from ._fastcall import CallBase as base  # type: ignore[import-not-found]
        from ._fastcall import configure
    except ImportError:  # not built here (no compiler at install): Python serves
        return None
    return base, configure


def probe_arrays() -> tuple[np.ndarray, ...]:
    """Arrays of every rank, layout, flag and size class the key tells apart: the
    compiled path reads NumPy's array head directly only where it gives the key the
    attributes give on each of these."""
    base = np.arange(24.0)
    readonly = base.copy()
    readonly.flags.writeable = False
    unaligned = np.frombuffer(b"\0" * 33, dtype=np.uint8)[1:].view(np.float64)
    return (base, base.reshape(2, 3, 4), base.reshape(4, 6).T, base[::3], readonly,
            np.array(3.0), np.empty(0), np.empty((0, 5)), base.astype(np.int8),
            np.zeros(5000, dtype=np.complex64), np.zeros(70_000, dtype=bool),
            np.zeros(3, dtype=[("a", "f4"), ("b", "i8")]), unaligned)


def configure(clock: Callable[[], float] = perf_counter,
              probes: tuple[np.ndarray, ...] | None = None) -> None:
    """Hand the compiled path the objects it reads: the clock it times calls with
    (a test's fake clock reaches it only through here) and the probe arrays its
    array-head check runs on (:func:`probe_arrays` unless given)."""
    if _compiled is not None:
        _compiled[1](np.ndarray, SCALAR_TYPES, SIZE_CLASS, FLAG_MASK, other_key, STATE,
                     CONTEXT_LEVEL, clock, probe_arrays() if probes is None else probes,
                     Retyped, Plan)


class _PythonCallBase:
    """The base where the compiled path does not serve: the subclass's own
    ``__call__`` (its Python fast path) runs."""

    __slots__ = ()

    def _bind(self, plans: dict, tally: object) -> None:
        """The plans dict the call reads (the compiled base also keeps ``tally``, the
        count of its changes, for its inline cache)."""
        self._plans = plans


_compiled = _load()
configure()
#: True where calls run through the compiled fast path
COMPILED: bool = _compiled is not None
CallBase: type = _compiled[0] if _compiled is not None else _PythonCallBase
