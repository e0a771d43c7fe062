"""Checked ops lowered straight into the caller's compiled code.

An ``overload`` compiles its implementation as a function of its own, once per op
and type pair and process: 20-45 ms each at a first compile (Black-Scholes' loop:
160 ms plain against 360 ms checked). Where an op's check is a compare or two, it is
typed here with ``type_callable`` and lowered with ``lower_builtin`` after Numba's
own op instead: floats' ``+ - *`` and negation (no check), ``/ // %`` (a zero
divisor), ``**`` with a float exponent, 64-bit ints' ``+ - *`` (LLVM's overflow
intrinsics), a loop's deferred flag and the value of an array store (a float into an
integer array: NaN, inf and values outside the dtype). The stubs are :mod:`.intarith`'s and
:mod:`.intops`'s; a check that fails raises :class:`~.guard.Replay`, and
:data:`LOWERED_REPLAYS` tells :func:`.jit.may_replay` where, since the typed IR
holds no raise for it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from numba import types
from numba.core import cgutils
from numba.extending import lower_builtin, type_callable

from .guard import Replay

__all__ = ["LOWERED_REPLAYS", "as_numba_op", "as_numba_unary", "as_checked_division",
           "as_checked_pow", "as_checked_wide", "settle_stub", "plain_scalars",
           "real_scalars", "replay_where", "wide", "mixed64", "as64", "store_stub"]


def wide(a: Any, b: Any) -> bool:
    """Both 64-bit ints of one signedness: Numba's result wraps where Python's grows."""
    return isinstance(a, types.Integer) and isinstance(b, types.Integer) and \
        a.bitwidth == 64 and b.bitwidth == 64 and a.signed == b.signed


def mixed64(a: Any, b: Any) -> bool:
    """A signed 64-bit int with a narrower int: Numba and NumPy compute in int64."""
    if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
        return False
    return (a.bitwidth == 64 and a.signed and b.bitwidth < 64) or \
        (b.bitwidth == 64 and b.signed and a.bitwidth < 64)


def as64(a: Any, b: Any) -> Any:
    """The one type both operands are cast to (literal types included)."""
    return types.int64 if mixed64(a, b) or a.signed else types.uint64


_OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}
_NUMBERS = (types.Integer, types.Float, types.Complex)
_INEXACT = (types.Float, types.Complex)


def plain_scalars(a: Any, b: Any) -> bool:
    """Two numbers, a float or complex among them: ``a op b`` means in compiled code
    what it means in Python (no int past 64 bits, no narrow int that wraps), so the
    op is Numba's own, unchecked (and a loop's ``f`` flag is never raised)."""
    return isinstance(a, _NUMBERS) and isinstance(b, _NUMBERS) and \
        (isinstance(a, _INEXACT) or isinstance(b, _INEXACT))


def as_numba_op(stub: Callable[..., Any], op: str, mode: str) -> None:
    """Type and lower ``stub`` on :func:`plain_scalars` as Numba's ``a op b`` (for
    mode "f": the constant False), straight into the caller's code. An ``overload``
    returning the same ``a op b`` compiles that implementation as a function of its
    own, once per op and type pair: 20-40 ms each at a first compile (Black-Scholes'
    loop: 160 ms plain against 360 ms checked). No ``raise`` is involved, so
    :func:`.jit.may_replay`, which reads the typed IR for raises, sees the same."""
    pyop = _OPERATORS[op]

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(a: Any, b: Any) -> Any:
            if not plain_scalars(a, b):
                return None
            if mode == "f":
                return types.boolean(a, b)
            return context.resolve_function_type(pyop, (a, b), {})
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        if mode == "f":
            return context.get_constant(types.boolean, False)
        return context.get_function(pyop, sig)(builder, args)

    for pair in ((types.Float, types.Number), (types.Complex, types.Number),
                 (types.Integer, types.Float), (types.Integer, types.Complex)):
        lower_builtin(stub, *pair)(lower)


#: LLVM names of the functions into which a checked op (:func:`as_checked_division`,
#: :func:`as_checked_wide`, :func:`settle_stub`...) lowered a replay:
#: :func:`.jit.may_replay` reads raises from the typed IR, where these are not (a set
#: of names that only grows, like Numba's own registries)
LOWERED_REPLAYS: set[str] = set()


def replay_where(context: Any, builder: Any, bad: Any) -> None:
    """Where ``bad`` (an i1) holds, the compiled function raises
    :class:`~.guard.Replay` (the call runs again in plain Python); the function is
    named in :data:`LOWERED_REPLAYS`."""
    with cgutils.if_unlikely(builder, bad):
        context.call_conv.return_user_exc(builder, Replay, ())
    LOWERED_REPLAYS.add(builder.function.name)
_DIVISIONS = {"truediv": operator.truediv, "floordiv": operator.floordiv,
              "mod": operator.mod}


def real_scalars(a: Any, b: Any) -> bool:
    """Two real numbers, one of them a float: no complex, no bool, no array."""
    reals = (types.Integer, types.Float)
    return isinstance(a, reals) and isinstance(b, reals) and \
        (isinstance(a, types.Float) or isinstance(b, types.Float))


def as_checked_division(stub: Callable[..., Any], op: str) -> None:
    """Type and lower ``stub`` on :func:`real_scalars` as Numba's own ``/``, ``//``
    or ``%`` behind a zero test of the divisor that raises :class:`~.guard.Replay`,
    straight into the caller's code. The ``overload`` it replaces compiled its
    ``if b == 0: raise Replay`` as a function of its own per type pair, 20-25 ms
    of a first compile (Black-Scholes' four divisions). Where the divisor is not
    zero, Numba's float division, floor division and remainder are CPython's."""
    pyop = _DIVISIONS[op]

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(a: Any, b: Any) -> Any:
            if not real_scalars(a, b):
                return None
            return context.resolve_function_type(pyop, (a, b), {})
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        divisor, kind = args[1], sig.args[1]
        if isinstance(kind, types.Float):
            zero = builder.fcmp_ordered("==", divisor, divisor.type(0.0))
        else:
            zero = builder.icmp_signed("==", divisor, divisor.type(0))
        replay_where(context, builder, zero)
        return context.get_function(pyop, sig)(builder, args)

    for pair in ((types.Float, types.Float), (types.Float, types.Integer),
                 (types.Integer, types.Float)):
        lower_builtin(stub, *pair)(lower)


def as_checked_pow(stub: Callable[..., Any]) -> None:
    """Type and lower ``stub`` on a float exponent (the base an int or a float) as
    Numba's own ``**`` (C's ``pow``, as Python's) behind Python's checks, straight into
    the caller's code: a negative base to a fractional power (Python gives a complex
    number), a zero base to a negative power (ZeroDivisionError) and an overflow
    (OverflowError) replay. NumPy scalars give nan or inf with a warning there, which
    the replay gives too. The overload it replaces compiled the checks as a function
    of its own (40 ms of nbody's first compile, for ``** 1.5``)."""

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(a: Any, b: Any) -> Any:
            if isinstance(a, (types.Integer, types.Float)) and isinstance(b, types.Float):
                return context.resolve_function_type(operator.pow, (a, b), {})
            return None
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        r = context.get_function(operator.pow, sig)(builder, args)
        a, b = args
        floor = builder.module.declare_intrinsic("llvm.floor", [b.type])
        fractional = builder.and_(builder.fcmp_ordered("<", a, a.type(0.0)),
                                  builder.fcmp_unordered("une", b, builder.call(floor, [b])))
        zero = builder.and_(builder.fcmp_ordered("==", a, a.type(0.0)),
                            builder.fcmp_ordered("<", b, b.type(0.0)))
        inf = builder.or_(builder.fcmp_ordered("==", r, r.type(float("inf"))),
                          builder.fcmp_ordered("==", r, r.type(float("-inf"))))
        for v in (a, b):  # v - v is 0.0 exactly where v is finite
            step = builder.fsub(v, v)
            inf = builder.and_(inf, builder.fcmp_ordered("==", step, step.type(0.0)))
        replay_where(context, builder, builder.or_(builder.or_(fractional, zero), inf))
        return r

    lower_builtin(stub, types.Float, types.Float)(lower)


def as_checked_wide(stub: Callable[..., Any], op: str, mixed: bool = True) -> None:
    """Type and lower ``stub`` on two 64-bit ints (or int64 with a narrower int) as
    LLVM's ``{op}.with.overflow``: the value, or a replay where it leaves 64 bits,
    straight into the caller's code. The overload it replaces (:func:`.intarith._wide_op`)
    compiled that as a function of its own per op and type pair (about 20 ms of a
    first compile: histogram's ``out[b] += 1``). ``mixed``: int64 with a narrower int
    too (not for a ``k`` op, whose narrow int keeps NumPy 2's type)."""

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(a: Any, b: Any) -> Any:
            if not (wide(a, b) or mixed and mixed64(a, b)):
                return None
            t = as64(a, b)
            return t(t, t)  # the call casts both operands, as ``t(a), t(b)`` did
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        signed = sig.return_type.signed
        pair = getattr(builder, ("s" if signed else "u") + op + "_with_overflow")(*args)
        replay_where(context, builder, builder.extract_value(pair, 1))
        return builder.extract_value(pair, 0)

    lower_builtin(stub, types.int64, types.int64)(lower)
    lower_builtin(stub, types.uint64, types.uint64)(lower)


def as_numba_unary(stub: Callable[..., Any], fn: Callable[[Any], Any]) -> None:
    """Type and lower the one-operand ``stub`` on a float or complex number as Numba's
    own ``fn`` (``abs``, ``operator.neg``), as :func:`as_numba_op` does: neither can
    leave Python's meaning there, so no implementation is compiled for it."""

    @type_callable(stub)
    def typer(context: Any) -> Any:
        def typed(a: Any) -> Any:
            return context.resolve_function_type(fn, (a,), {}) \
                if isinstance(a, _INEXACT) else None
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return context.get_function(fn, sig)(builder, args)

    for kind in _INEXACT:
        lower_builtin(stub, kind)(lower)


def settle_stub() -> Callable[..., Any]:
    """``__ol_settle(flag)`` after a loop whose checks were deferred to its end
    (:mod:`.placement`): a replay where the flag is set. Lowered in the caller (an
    overload compiled ``if flag: raise Replay`` as a function of its own, about
    20 ms of every first compile with a deferred check); where every op of the loop
    computes plainly the flag is the constant False, and LLVM folds the test away
    (:func:`.jit._replay_in_llvm` reads what is left)."""

    def settle(flag: Any) -> None:  # only ever called from compiled code
        raise NotImplementedError("settle")

    settle.__name__ = settle.__qualname__ = "__ol_settle"

    @type_callable(settle)
    def typer(context: Any) -> Any:
        def typed(flag: Any) -> Any:
            return types.none(flag) if isinstance(flag, (types.Boolean, types.Integer)) \
                else None
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        bad = context.is_true(builder, sig.args[0], args[0])
        replay_where(context, builder, bad)
        return context.get_dummy_value()

    lower_builtin(settle, types.Boolean)(lower)
    lower_builtin(settle, types.Integer)(lower)
    return settle


def store_stub(weak: bool) -> Callable[..., Any]:
    """``__ol_store(array, value)`` (``__ol_kstore`` where ``value`` is a Python int on
    every call): the value of ``array[...] = value``, checked where NumPy's store means
    something else than Numba's conversion (catalogue SEM007, SEM009).

    NumPy stores a float into an integer array through Python's ``int()`` and a
    bounds check: NaN raises ``ValueError``, inf and values outside the dtype
    ``OverflowError`` (an unsigned array wraps some ``np.float64`` values with a
    warning); Numba converts with no check (NaN and inf give -2**63). A float whose
    truncation leaves the dtype (or NaN, inf) replays, so the plain function raises
    or stores its own value; in range both truncate toward zero. NumPy 2 also refuses
    a Python int outside a narrow integer dtype (``OverflowError``), where Numba wraps
    it: ``kstore`` replays there. A NumPy integer stored into a signed array whose range
    it may leave replays where it does (NumPy raises ``OverflowError``; an unsigned
    array wraps it, as Numba does). Every other type pair is the value itself, with no
    code (floats into float arrays, ints into wider int arrays, whole arrays)."""

    def store(array: Any, value: Any) -> Any:  # only ever called from compiled code
        raise NotImplementedError("store")

    store.__name__ = store.__qualname__ = "__ol_kstore" if weak else "__ol_store"

    @type_callable(store)
    def typer(context: Any) -> Any:
        def typed(array: Any, value: Any) -> Any:
            return types.unliteral(value)(array, value)
        return typed

    def lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type, value_type = sig.args
        value = args[1]
        dtype = getattr(array_type, "dtype", None) if isinstance(array_type, types.Array) \
            else None
        if isinstance(dtype, types.Integer):
            import numpy as np
            from numba.np.numpy_support import as_dtype

            info = np.iinfo(as_dtype(dtype))
            if isinstance(value_type, types.Float):
                as_double = value if value_type.bitwidth == 64 else \
                    builder.fpext(value, context.get_value_type(types.float64))
                low = as_double.type(float(int(info.min) - 1))
                high = as_double.type(float(int(info.max) + 1))
                inside = builder.and_(builder.fcmp_ordered(">", as_double, low),
                                      builder.fcmp_ordered("<", as_double, high))
                replay_where(context, builder, builder.not_(inside))
            elif weak and isinstance(value_type, types.Integer) and value_type.signed and \
                    (dtype.bitwidth < 64 or not dtype.signed):
                wide = context.cast(builder, value, value_type, types.int64)
                bad = builder.icmp_signed("<", wide, wide.type(max(int(info.min), -2 ** 63)))
                if info.max < 2 ** 63 - 1:
                    bad = builder.or_(bad, builder.icmp_signed(">", wide,
                                                               wide.type(int(info.max))))
                replay_where(context, builder, bad)
            elif isinstance(value_type, types.Integer) and not weak and dtype.signed and (
                    value_type.bitwidth > dtype.bitwidth
                    or (not value_type.signed and value_type.bitwidth >= dtype.bitwidth)):
                # NumPy checks a NumPy integer stored into a signed array (OverflowError
                # past its range; an unsigned array wraps it, as Numba does)
                if value_type.signed:
                    wide = context.cast(builder, value, value_type, types.int64)
                    bad = builder.or_(
                        builder.icmp_signed("<", wide, wide.type(int(info.min))),
                        builder.icmp_signed(">", wide, wide.type(int(info.max))))
                else:
                    wide = context.cast(builder, value, value_type, types.uint64)
                    bad = builder.icmp_unsigned(">", wide, wide.type(int(info.max)))
                replay_where(context, builder, bad)
        return context.cast(builder, value, value_type, sig.return_type)

    lower_builtin(store, types.Any, types.Any)(lower)
    return store
