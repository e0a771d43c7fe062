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
(or, beyond 64 bits, returns its unbounded int). The math functions' checks are
lowered into the caller after Numba's own function (:func:`_lowered`); only
gamma and lgamma, with their poles, are compiled functions of their own, and they are
CPython's algorithm rather than Numba's (:mod:`.pymath`).

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
from numba.extending import lower_builtin, overload, type_callable

from .guard import Replay
from .lowered import replay_where
from .npcalls import raises_in_python
from .shims import CHECKED_MATH

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


def _exact_int(x: Any) -> Any:
    """Every one of the five of an int is that int (Numba's ``round`` of an int goes
    through a float: 2**53 + 1 came back as 2**53)."""
    return int(x)


#: the LLVM step to an integral value before a float converts to int (int and trunc:
#: none, the conversion truncates toward zero)
_ROUNDING = {"round": "llvm.rint", "floor": "llvm.floor", "ceil": "llvm.ceil"}


def _register(name: str) -> Callable[[Any], Any]:
    """``int``, ``round``, ``math.floor/ceil/trunc``: of a float, NaN, ±inf and values
    beyond 64 bits replay, tested in the caller's code before Numba's own conversion
    (an overload compiled the test as a function of its own: 40-45 ms of a first
    compile); ints and bools are Numba's own."""
    stub = _stub(name)
    convert = _CONVERT[name]

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(x: Any) -> Any:
            return context.resolve_function_type(convert, (x,), {}) \
                if isinstance(x, nbtypes.Float) else None
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        x = args[0]
        # one test, one branch: |x| >= 2**63 or NaN (three tests made three branches
        # in the loop, and a 1M-element histogram ran 2.6x slower than Numba's own int();
        # -2**63 itself now replays too, which gives the same int)
        fabs = builder.module.declare_intrinsic("llvm.fabs", [x.type])
        bad = builder.fcmp_unordered(">=", builder.call(fabs, [x]), x.type(_LIMIT))
        replay_where(context, builder, bad)
        if name in _ROUNDING:  # to an integral float first; round: half to even, as Python
            step = builder.module.declare_intrinsic(_ROUNDING[name], [x.type])
            x = builder.call(step, [x])
        as_int = builder.fptosi(x, context.get_value_type(nbtypes.int64))
        return context.cast(builder, as_int, nbtypes.int64, sig.return_type)

    lower_builtin(stub, nbtypes.Float)(lower)

    def typed(x: Any) -> Any:
        if isinstance(x, nbtypes.Boolean) or \
                isinstance(x, nbtypes.Integer) and (x.signed or x.bitwidth < 64):
            return _exact_int  # floats: typed and lowered above; uint64: Numba declines
        return None

    overload(stub)(typed)
    return stub


def _math1(fn: Callable[[float], float]) -> Any:
    """gamma and lgamma as CPython computes them (:mod:`.pymath`: Numba's are the C
    library's, which differ in the last bits, catalogue SEM028), in double precision
    whatever the argument's type (as Python converts it), with CPython's rule: a pole
    (0 and the negative integers) is a domain error, then :func:`_lowered`'s rule."""

    def checked(x: Any) -> Any:
        v = float(x)
        if v <= 0 and v == math.floor(v):
            raise Replay
        r = fn(v)
        if raises_in_python(r, v):
            raise Replay
        return r

    return numba.njit(checked)


def _lowered(fn: Callable[..., float], arity: int) -> Callable[..., Any]:
    """CPython's rule for the math functions (math_1, math_2 in mathmodule.c): nan
    from arguments that are not nan is a domain error; inf from finite arguments a
    range error (or a domain error, like log(0)). Where it applies, the call replays.

    The check is lowered straight into the caller after Numba's own function, with
    no function of its own to compile (a checked ``math.log`` compiled as a function
    took 45-50 ms of Black-Scholes' first compile). Called from Python, the stub is
    the math function itself."""

    def one(x: Any) -> Any:
        return fn(x)

    def two(x: Any, y: Any) -> Any:
        return fn(x, y)

    stub = one if arity == 1 else two  # fixed arity: Numba folds the call's arguments
    stub.__name__ = stub.__qualname__ = f"checked_{fn.__name__}"

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(args: tuple) -> Any:
            if not all(isinstance(a, _REALS) for a in args):
                return None
            return context.resolve_function_type(fn, args, {})

        def typed1(x: Any) -> Any:
            return typed((x,))

        def typed2(x: Any, y: Any) -> Any:
            return typed((x, y))
        return typed1 if arity == 1 else typed2  # named, fixed parameters, as the stub's

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        r = context.get_function(fn, sig)(builder, args)
        numbers = [(v, t) for v, t in zip(args, sig.args) if isinstance(t, nbtypes.Float)]
        nan = builder.fcmp_unordered("uno", r, r)
        inf = builder.or_(builder.fcmp_ordered("==", r, r.type(math.inf)),
                          builder.fcmp_ordered("==", r, r.type(-math.inf)))
        for v, _ in numbers:
            nan = builder.and_(nan, builder.fcmp_ordered("ord", v, v))
            step = builder.fsub(v, v)  # 0.0 exactly where v is finite
            inf = builder.and_(inf, builder.fcmp_ordered("==", step, step.type(0.0)))
        replay_where(context, builder, builder.or_(nan, inf))
        return r

    lower_builtin(stub, *([nbtypes.Number] * arity))(lower)
    return stub


_TWO_ARGS = ("pow", "hypot", "ldexp", "fmod")
_REALS = (nbtypes.Integer, nbtypes.Float, nbtypes.Boolean)
# The replacements made, one per name: a fixed set of compiled constants (the names
# of _CONVERT and CHECKED_MATH), not state to forget. It stays out of the runtime's
# reset on purpose: Numba keeps every ``overload`` it is given for the life of the
# process, so making them again would only register duplicates and compile the
# checked math functions again.
_lock = threading.RLock()  # reentrant: a math module is made of its checked functions
_made: dict[str, Any] = {}


def replacement(what: str) -> Any:
    """The compiled replacement for ``what`` (``builtins.int``, ``math``,
    ``math.floor``, ``numpy``, ``numpy.exp`` …)."""
    with _lock:
        found = _made.get(what)
        if found is None:
            found = _made[what] = _make(what)
    return found


def _make(what: str) -> Any:
    root, _, leaf = what.partition(".")
    if root == "numpy":
        from . import npcalls

        return npcalls.numpy_module() if not leaf else npcalls.ufunc(leaf)
    if root == "builtins" or leaf in _CONVERT:
        return _register(leaf)
    if what == "math":
        module = types.ModuleType("math", "math, with CPython's checks compiled in")
        module.__dict__.update({k: v for k, v in vars(math).items() if not k.startswith("__")})
        for name in (*_CONVERT, *CHECKED_MATH):
            if name in vars(math):
                setattr(module, name, replacement(f"math.{name}"))
        return module
    fn = getattr(math, leaf)
    if leaf in ("gamma", "lgamma"):
        from . import pymath

        return _math1(pymath.tgamma if leaf == "gamma" else pymath.lgamma)
    return _lowered(fn, 2 if leaf in _TWO_ARGS else 1)
