"""Compiled replacements that replay where Python raises (catalogue SEM007, SEM008).

Numba's ``int(x)``, ``round(x)`` and ``math.floor/ceil/trunc(x)`` of NaN or inf
return -9223372036854775808, and its ``math`` functions return nan or inf where
CPython raises ``ValueError`` or ``OverflowError``. The Numba backend hands the
compiled function these replacements under the same names (``int``, ``round``,
a ``math`` module whose checked functions replace the originals); each computes
the same value and adds CPython's checks, which cost a compare or two. Where a
check fails (NaN, inf, a float whose int value needs more than 64 bits, a math
domain or range error) the replacement raises :class:`~.guard.Replay`: the call
runs again in plain Python, which raises its own exception with its own message
(or, beyond 64 bits, returns its unbounded int).

Imported by the Numba backend when it builds code, never by ``import optlevel``.
"""

from __future__ import annotations

import math
import threading
import types
from collections.abc import Callable
from typing import Any

import numba
from numba.core import types as nbtypes
from numba.extending import overload

from .guard import Replay

__all__ = ["replacement"]

_LIMIT = 9.223372036854775807e18  # 2**63 as a float: the first value int64 cannot hold
def _stub(name: str) -> Callable[[Any], Any]:
    def stub(x: Any) -> Any:  # only ever called from compiled code
        raise NotImplementedError(name)

    stub.__name__ = stub.__qualname__ = f"checked_{name}"
    return stub


_CONVERT: dict[str, Callable[[Any], Any]] = {"int": int, "round": round,
                                             "floor": math.floor, "ceil": math.ceil,
                                             "trunc": math.trunc}


def _register(name: str, pure: bool) -> Callable[[Any], Any]:
    stub = _stub(name)
    convert = _CONVERT[name]

    def typed(x: Any) -> Any:
        if isinstance(x, (nbtypes.Integer, nbtypes.Boolean)):
            return lambda x: convert(x)
        if not isinstance(x, nbtypes.Float):
            return None
        def checked(x: Any) -> Any:
            if x != x or x >= _LIMIT or x < -_LIMIT:  # NaN, ±inf, beyond 64 bits
                raise Replay
            return convert(x)
        return checked

    overload(stub)(typed)
    return stub


def _math1(fn: Callable[[float], float], can_overflow: bool, poles: bool) -> Any:
    """CPython's rule for one-argument math functions: nan from a non-nan argument is a
    domain error; inf from a finite one a range error (or a domain error where the
    function has no overflow, like log(0)). ``poles``: gamma and lgamma are undefined
    at 0 and the negative integers."""

    def checked(x: Any) -> Any:
        if poles and x <= 0 and x == math.floor(x):
            raise Replay
        r = fn(x)
        if r != r and x == x:
            raise Replay
        if (r == math.inf or r == -math.inf) and x - x == 0:
            raise Replay
        return r

    return numba.njit(checked)


def _math2(fn: Callable[[float, float], float], zero_is_domain: bool) -> Any:
    """The same rule for two arguments (pow, hypot, ldexp, fmod, atan2…)."""

    def checked(x: Any, y: Any) -> Any:
        r = fn(x, y)
        if r != r and x == x and y == y:
            raise Replay
        if (r == math.inf or r == -math.inf) and x - x == 0 and y - y == 0:
            raise Replay
        return r

    return numba.njit(checked)


_TWO_ARGS = {"pow": True, "hypot": False, "ldexp": False, "fmod": False, "atan2": False}
# The replacements made, one per (name, purity): a fixed set of compiled constants
# (the names of _CONVERT and CHECKED_MATH, twice at most), not state to forget. It
# stays out of the runtime's reset on purpose: Numba keeps every ``overload`` it is
# given for the life of the process, so making them again would only register
# duplicates and compile the checked math functions again.
_lock = threading.RLock()  # reentrant: a math module is made of its checked functions
_made: dict[tuple[str, bool], Any] = {}


def replacement(what: str, pure: bool, overflows: dict[str, bool]) -> Any:
    """The compiled replacement for ``what`` (``builtins.int``, ``math``,
    ``math.floor`` …). ``pure``: the function writes nothing into its arguments.
    ``overflows``: math function name → whether inf from finite is an OverflowError."""
    key = (what, pure)
    with _lock:
        found = _made.get(key)
        if found is None:
            found = _made[key] = _make(what, pure, overflows)
    return found


def _make(what: str, pure: bool, overflows: dict[str, bool]) -> Any:
    root, _, leaf = what.partition(".")
    if root == "builtins":
        return _register(leaf, pure)
    if what == "math":
        module = types.ModuleType("math", "math, with CPython's checks compiled in")
        module.__dict__.update({k: v for k, v in vars(math).items() if not k.startswith("__")})
        for name in _CONVERT:
            if name in vars(math):
                setattr(module, name, replacement(f"math.{name}", pure, overflows))
        for name in overflows:
            if name in vars(math):
                setattr(module, name, replacement(f"math.{name}", pure, overflows))
        return module
    if leaf in _CONVERT:
        return _register(leaf, pure)
    fn = getattr(math, leaf)
    if leaf in _TWO_ARGS:
        return _math2(fn, _TWO_ARGS[leaf])
    return _math1(fn, overflows.get(leaf, False), leaf in ("gamma", "lgamma"))
