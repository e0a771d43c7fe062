"""The call-time half of level 2's guards (catalogue SEM012, SEM013, SEM017).

Numba froze the globals and closure cells a function read when it compiled. The
callable :func:`guarded` returns checks, before each call, that each of them
still holds the object it held then (an identity test per name, a few tens of
nanoseconds), and rebuilds when one changed. It also checks Python int
arguments against the 64-bit range where Numba's own unboxing error
(``OverflowError``) could not be told apart from the user's code raising one.
Without guards or int checks the Numba dispatcher itself is the callable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ArgumentBeyondInt64", "RebuildDeclined", "guarded"]

_MISSING = object()
_LOW, _HIGH = -(2 ** 63), 2 ** 63


class ArgumentBeyondInt64(OverflowError):
    """A Python int argument does not fit the compiled int64 parameter."""


class RebuildDeclined(RuntimeError):
    """A frozen global changed and the function cannot be compiled for its new value."""


def guarded(disp: Any, guards: tuple[Any, ...], rebuild: Callable[[], Any],
            check_ints: bool) -> Callable[..., Any]:
    """``disp``, or a function that checks ``guards`` (and int arguments) first.

    ``rebuild()`` returns a new :class:`~.helpers.Built` for the current
    values, or raises :class:`RebuildDeclined`.
    """
    if not guards and not check_ints:
        return disp
    fn = disp
    in_globals, in_cells = _split(guards)

    def refresh() -> None:
        nonlocal fn, in_globals, in_cells
        built = rebuild()
        fn = built.disp
        in_globals, in_cells = _split(built.guards)

    # Plain loops, not any(...) over generators: this runs before every call.
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            for owner, name, value in in_globals:
                if owner.get(name, _MISSING) is not value:
                    raise _Changed
            for cell, value in in_cells:
                if cell.cell_contents is not value:
                    raise _Changed
        except (_Changed, ValueError):  # ValueError: a cell was emptied
            refresh()
        if check_ints:
            for value in args:
                if type(value) is int and not _LOW <= value < _HIGH:
                    raise ArgumentBeyondInt64(f"the int argument {value} does not fit "
                                              "in 64 bits")
            if kwargs:
                _check_ints((), kwargs)
        return fn(*args, **kwargs)

    call.__wrapped__ = disp  # type: ignore[attr-defined]
    call.py_func = getattr(disp, "py_func", None)  # type: ignore[attr-defined]
    return call


class _Changed(Exception):
    """A frozen value changed (internal to :func:`guarded`)."""


def _split(guards: tuple[Any, ...]) -> tuple[tuple, tuple]:
    in_globals = tuple((g.owner, g.name, g.value) for g in guards if isinstance(g.owner, dict))
    in_cells = tuple((g.owner, g.value) for g in guards if not isinstance(g.owner, dict))
    return in_globals, in_cells


def _check_ints(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if type(value) is int and not _LOW <= value < _HIGH:
            raise ArgumentBeyondInt64(f"the int argument {value} does not fit in 64 bits")
