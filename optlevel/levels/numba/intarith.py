"""The checked ``+ - *`` of compiled code (see :mod:`.intops`) and their forms.

``mode`` of :func:`_binary`: "" the op where it stands (replays where it leaves
Python's meaning); "c" its check alone, hoisted before an ``if``, and "h" the op in
the arm after it; "f" a branch-free flag for a loop's end and "w" the wrapping op
beside it (:mod:`.placement`); ``weak`` ("k"): one operand is a Python int on every
call, computed against a narrow NumPy int in the narrow type, as NumPy 2 does
(NEP 50).

Floats take Numba's own operators, typed and lowered straight into the caller
(:func:`.lowered.as_numba_op`, :func:`.lowered.as_numba_unary`); ``/ // %`` of real numbers keep a
zero test of the divisor there too (:func:`.lowered.as_checked_division`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype, from_dtype

from .guard import Replay
from .inplace import INPLACE as _INPLACE
from .lowered import as64 as _as64
from .lowered import as_checked_wide, as_numba_op
from .lowered import mixed64 as _mixed64
from .lowered import plain_scalars as _plain_scalars
from .lowered import wide as _wide

_MIN = -(2 ** 63)


def _intrinsic(kind: str) -> Any:
    """``(result, overflowed)`` of LLVM's ``{kind}.with.overflow`` on two 64-bit ints."""

    @intrinsic
    def op(typingctx: Any, a: Any, b: Any) -> Any:
        if not (isinstance(a, types.Integer) and a.bitwidth == 64 and a == b):
            return None
        sig = types.Tuple((a, types.boolean))(a, b)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            signed = signature.args[0].signed
            method = getattr(builder, ("s" if signed else "u") + kind + "_with_overflow")
            pair = method(args[0], args[1])
            value = builder.extract_value(pair, 0)
            flag = builder.extract_value(pair, 1)
            return cgutils.make_anonymous_struct(builder, [value, flag])

        return sig, codegen

    return op


_add_ovf = _intrinsic("add")
_sub_ovf = _intrinsic("sub")
_mul_ovf = _intrinsic("mul")
_OVF = {"add": _add_ovf, "sub": _sub_ovf, "mul": _mul_ovf}


def _stub(name: str) -> Callable[..., Any]:
    def stub(*args: Any) -> Any:  # only ever called from compiled code
        raise NotImplementedError(name)

    stub.__name__ = stub.__qualname__ = f"__ol_{name}"
    return stub


def _narrow_type(a: Any, b: Any) -> Any:
    """NumPy 2's result type of two narrow ints (a Python int constant is weak), or None."""
    ints = (isinstance(a, types.Integer) and isinstance(b, types.Integer))
    if not ints:
        return None
    a_lit, b_lit = isinstance(a, types.IntegerLiteral), isinstance(b, types.IntegerLiteral)
    if a.bitwidth < 64 and not a_lit and b_lit:
        return a
    if b.bitwidth < 64 and not b_lit and a_lit:
        return b
    if a.bitwidth < 64 and b.bitwidth < 64 and not a_lit and not b_lit:
        return from_dtype(np.promote_types(as_dtype(a), as_dtype(b)))
    return None


def _fits(t: Any) -> tuple[int, int]:
    info = np.iinfo(as_dtype(t))
    return int(info.min), int(info.max)


def _binary(name: str, wide: Callable[..., Any], narrow: Callable[..., Any],
            plain: Callable[..., Any], inplace: bool, mode: str = "",
            weak: bool = False) -> Callable[..., Any]:
    """The checked op ``name``; ``mode`` "c" is its check alone, hoisted before an
    ``if`` (an array operand is passed through: array arithmetic never replays),
    "h" its use in the arm after that check (64-bit ints wrap: they cannot)."""
    stub = _stub(mode + ("k" if weak else "") + name)
    op = name[1:] if inplace else name
    as_numba_op(stub, op, mode)  # floats and complex numbers: typed first, no check
    lowered = mode == ""
    if lowered:  # 64-bit ints: typed first, checked in the caller (a narrow int beside
        # a Python int that always is one keeps its k op: NumPy 2's narrow type)
        as_checked_wide(stub, op, mixed=not weak)

    def typed(a: Any, b: Any) -> Any:
        if _plain_scalars(a, b):
            return None  # typed and lowered by as_numba_op
        if lowered and (_wide(a, b) or not weak and _mixed64(a, b)):
            return None  # typed and lowered by as_checked_wide
        if weak:
            found = _weak(op, a, b, mode)
            if found is not None:
                return found
        if mode == "f":
            return _flag(op, a, b)
        if isinstance(a, types.Array) or isinstance(b, types.Array):
            if mode == "c":
                return _first if isinstance(a, types.Array) else _second
            if inplace and isinstance(a, types.Array):
                return _inplace_impl(name)
            return plain
        if _wide(a, b) or _mixed64(a, b):
            if mode == "c":
                return _check_only(_OVF[op], plain)(a, b)
            return plain if mode in ("h", "w") else wide(a, b)
        rt = _narrow_type(a, b)
        if rt is not None:
            return _wrapping(op, rt) if mode == "w" else narrow(rt)
        return plain

    overload(stub, prefer_literal=True, inline="always")(typed)
    return stub


def _flag(op: str, a: Any, b: Any) -> Callable[..., Any] | None:
    """``f`` mode: does ``a op b`` leave the checked meaning (an int past 64 bits, a
    narrow int where NumPy 2 wraps)? Branch-free, for a flag tested after the loop."""
    if isinstance(a, types.Array) or isinstance(b, types.Array):
        return _never
    if _wide(a, b) or _mixed64(a, b):
        t = _as64(a, b)
        ovf = _OVF[op]

        def wide_flag(a: Any, b: Any) -> Any:
            return ovf(t(a), t(b))[1]
        return wide_flag
    rt = _narrow_type(a, b)
    if rt is not None and op in ("add", "sub") and a == rt and b == rt:
        return _carry_flag(op, rt)
    if rt is not None:
        lo, hi = _fits(rt)
        compute = _COMPUTE[op]

        def narrow_flag(a: Any, b: Any) -> Any:
            r = compute(np.int64(a), np.int64(b))
            return (r < lo) | (r > hi)
        return narrow_flag
    if isinstance(a, (types.Number, types.Boolean)) and \
            isinstance(b, (types.Number, types.Boolean)):
        return _never
    return None


def _weak(op: str, a: Any, b: Any, mode: str) -> Callable[..., Any] | None:
    """The ``k`` ops: one operand is a Python int on every call (the rewrite proved
    it; Numba types it int64) and the other a narrow NumPy int: NumPy 2 computes in
    the narrow type (NEP 50). A Python int outside that type raises OverflowError in
    NumPy, a result outside it wraps with a warning: both replay (``f`` mode: both
    set the loop's flag; ``w``: the wrapped value). None for other types."""
    def narrow(t: Any) -> bool:
        return isinstance(t, types.Integer) and t.bitwidth < 64 and \
            not isinstance(t, types.IntegerLiteral)

    def python(t: Any) -> bool:
        return isinstance(t, types.Integer) and t.bitwidth == 64 and t.signed

    if narrow(a) and python(b):
        rt, weak_first = a, False
    elif narrow(b) and python(a):
        rt, weak_first = b, True
    else:
        return None
    lo, hi = _fits(rt)
    compute = _COMPUTE[op]
    if mode == "w":
        def weak_wrapped(a: Any, b: Any) -> Any:
            return rt(compute(np.int64(a), np.int64(b)))
        return weak_wrapped
    if mode == "f":
        def weak_flag(a: Any, b: Any) -> Any:
            k = a if weak_first else b
            r = compute(np.int64(a), np.int64(b))
            return (k < lo) | (k > hi) | (r < lo) | (r > hi)
        return weak_flag

    def weak_checked(a: Any, b: Any) -> Any:
        k = a if weak_first else b
        if k < lo or k > hi:
            raise Replay
        r = compute(np.int64(a), np.int64(b))
        if r < lo or r > hi:
            raise Replay
        return rt(r)
    return weak_checked


def _carry_flag(op: str, rt: Any) -> Callable[..., Any]:
    """The flag of ``+``/``-`` of two values of one narrow type, from the wrapped
    result (carry or sign rule): LLVM then checks in the type's own lanes (a uint8
    sum: 64 per vector, not 8 as in int64)."""
    compute = _COMPUTE[op]
    add = op == "add"
    if not rt.signed:
        if add:
            def carry(a: Any, b: Any) -> Any:
                return rt(compute(np.int64(a), np.int64(b))) < a
            return carry

        def borrow(a: Any, b: Any) -> Any:
            return a < b
        return borrow

    def sign(a: Any, b: Any) -> Any:
        w = rt(compute(np.int64(a), np.int64(b)))
        if add:
            return rt((a ^ w) & (b ^ w)) < 0
        return rt((a ^ b) & (a ^ w)) < 0
    return sign


def _wrapping(op: str, rt: Any) -> Callable[..., Any]:
    """``w`` mode on narrow ints: NumPy 2's result type, wrapped (the flag says if)."""
    compute = _COMPUTE[op]

    def wrapped(a: Any, b: Any) -> Any:
        return rt(compute(np.int64(a), np.int64(b)))
    return wrapped


def _never(a: Any, b: Any) -> Any:
    return False


def _first(a: Any, b: Any) -> Any:
    return a


def _second(a: Any, b: Any) -> Any:
    return b


def _inplace_impl(name: str) -> Callable[..., Any]:
    """``a op= b`` on an array is in place in Python: the same here."""
    return _INPLACE[name]


def _wide_op(ovf: Any) -> Callable[..., Any]:
    def make(a: Any, b: Any) -> Any:
        t = _as64(a, b)

        def impl(a: Any, b: Any) -> Any:
            r, bad = ovf(t(a), t(b))
            if bad:
                raise Replay
            return r
        return impl
    return make


def _check_only(ovf: Any, plain: Callable[..., Any]) -> Callable[..., Any]:
    """The hoisted check: replays where the op leaves 64 bits; its value is the plain
    (wrapping, here exact) op, not the intrinsic's: LLVM would otherwise take the
    arm's product from the intrinsic, a 3-cycle ``imul`` where ``3 * n + 1`` is one
    ``lea`` (Collatz: 0.62x of ``numba.njit`` with it, 0.94x without)."""
    import numba

    plain = numba.njit(inline="always")(plain)

    def make(a: Any, b: Any) -> Any:
        t = _as64(a, b)

        def impl(a: Any, b: Any) -> Any:
            _, bad = ovf(t(a), t(b))
            if bad:
                raise Replay
            return plain(a, b)
        return impl
    return make


def _narrow_op(compute: Callable[[int, int], int]) -> Callable[..., Any]:
    import numba

    njit_compute = numba.njit(inline="always")(compute)

    def make(rt: Any) -> Any:
        lo, hi = _fits(rt)

        def impl(a: Any, b: Any) -> Any:
            # in int64: a narrow sum or product fits, except uint32 * uint32 past
            # 2**63, which wraps to a negative int64 and so fails the range check too
            r = njit_compute(np.int64(a), np.int64(b))
            if r < lo or r > hi:
                raise Replay
            return rt(r)
        return impl
    return make


# the operators themselves: compiled inline for the checked integer paths, and the
# overloads' implementation for every other operand type
def _compute_add(a: Any, b: Any) -> Any:
    return a + b


def _compute_sub(a: Any, b: Any) -> Any:
    return a - b


def _compute_mul(a: Any, b: Any) -> Any:
    return a * b


def _njit_computes() -> dict[str, Any]:
    import numba

    return {op: numba.njit(inline="always")(f) for op, f in
            (("add", _compute_add), ("sub", _compute_sub), ("mul", _compute_mul))}


_COMPUTE = _njit_computes()
