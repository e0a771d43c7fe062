"""Checked arithmetic for compiled code: Python's meaning, or a replay.

The rewrite (:mod:`.rewrite`) turns each arithmetic operation of a function
whose operands are not proven small into a call of one of the stubs below;
Numba picks the implementation from the operands' types at compile time, so an
operation on floats or arrays costs nothing extra:

- 64-bit integers (Python ints, loop counters, int64 and uint64 elements):
  ``+ - *`` use LLVM's overflow intrinsics; ``**``, ``<<``, ``>>``, unary ``-``,
  ``abs``, ``//`` and ``%`` check their edges (negative exponents and counts,
  ``-2**63``, a zero divisor). Past 64 bits Python keeps every digit, NumPy
  wraps with a ``RuntimeWarning``: either way the compiled code cannot say
  which, so it raises :class:`~.guard.Replay` and the call runs again in Python;
- narrow integers (uint8, int16, int32…): NumPy 2 computes in
  ``np.promote_types`` of the two dtypes (NEP 50: a Python int constant takes
  the array's dtype) and wraps with a ``RuntimeWarning``; the compiled result
  is that dtype when it fits, a replay otherwise;
- floats and complex numbers: a zero divisor of ``/``, ``//`` or ``%`` replays
  (Python numbers raise ``ZeroDivisionError``, NumPy scalars give inf or nan
  with a warning; the replay gives whichever the plain function meets).

Imported by the Numba backend when it builds code (it imports Numba), never by
``import optlevel``.
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
from .inplace import ipow as _ipow

__all__ = ["OPS"]

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


def _wide(a: Any, b: Any) -> bool:
    """Both 64-bit ints of one signedness: Numba's result wraps where Python's grows."""
    return isinstance(a, types.Integer) and isinstance(b, types.Integer) and \
        a.bitwidth == 64 and b.bitwidth == 64 and a.signed == b.signed


def _mixed64(a: Any, b: Any) -> bool:
    """A signed 64-bit int with a narrower int: Numba and NumPy compute in int64."""
    if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
        return False
    return (a.bitwidth == 64 and a.signed and b.bitwidth < 64) or \
        (b.bitwidth == 64 and b.signed and a.bitwidth < 64)


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

    def typed(a: Any, b: Any) -> Any:
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


def _settle_impl(flag: Any) -> Any:
    def settle(flag: Any) -> Any:
        if flag:
            raise Replay
    return settle


def _first(a: Any, b: Any) -> Any:
    return a


def _second(a: Any, b: Any) -> Any:
    return b


def _inplace_impl(name: str) -> Callable[..., Any]:
    """``a op= b`` on an array is in place in Python: the same here."""
    return _INPLACE[name]


def _as64(a: Any, b: Any) -> Any:
    """The one type both operands are cast to (literal types included)."""
    return types.int64 if _mixed64(a, b) or a.signed else types.uint64


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
            r = njit_compute(np.int64(a), np.int64(b))
            if r < lo or r > hi:
                raise Replay
            return rt(r)
        return impl
    return make


def _add_plain(a: Any, b: Any) -> Any:
    return a + b


def _sub_plain(a: Any, b: Any) -> Any:
    return a - b


def _mul_plain(a: Any, b: Any) -> Any:
    return a * b


def _zero_checked(name: str) -> Callable[..., Any]:
    """``/``, ``//``, ``%``: a zero divisor replays; 64-bit ``MIN // -1`` too."""
    stub = _stub(name)
    is_div = name.endswith("truediv")
    is_floor = name.endswith("floordiv")
    inplace = name.startswith("i") and name[1:] in ("truediv", "floordiv", "mod")

    def typed(a: Any, b: Any) -> Any:
        if isinstance(a, types.Array):
            return _INPLACE[name] if inplace else _PLAIN_DIV[name.lstrip("i")]
        if isinstance(b, types.Array):
            return _PLAIN_DIV[name.lstrip("i")]
        numbers = (types.Number, types.Boolean)
        if not (isinstance(a, numbers) and isinstance(b, numbers)):
            return None
        rt = None if is_div else _narrow_type(a, b)
        if rt is not None:
            lo, hi = _fits(rt)
            if is_floor:
                def narrow_floor(a: Any, b: Any) -> Any:
                    if b == 0:
                        raise Replay
                    r = np.int64(a) // np.int64(b)
                    if r < lo or r > hi:
                        raise Replay
                    return rt(r)
                return narrow_floor

            def narrow_mod(a: Any, b: Any) -> Any:
                if b == 0:
                    raise Replay
                return rt(np.int64(a) % np.int64(b))
            return narrow_mod
        edge = not is_div and isinstance(a, types.Integer) and isinstance(b, types.Integer) \
            and a.signed and b.signed
        if is_div:
            def div(a: Any, b: Any) -> Any:
                if b == 0:
                    raise Replay
                return a / b
            return div
        if is_floor:
            def floordiv(a: Any, b: Any) -> Any:
                if b == 0 or (edge and b == -1 and a == _MIN):
                    raise Replay
                return a // b
            return floordiv

        def mod(a: Any, b: Any) -> Any:
            if b == 0:
                raise Replay
            return a % b
        return mod

    overload(stub, prefer_literal=True, inline="always")(typed)
    return stub


def _truediv_plain(a: Any, b: Any) -> Any:
    return a / b


def _floordiv_plain(a: Any, b: Any) -> Any:
    return a // b


def _mod_plain(a: Any, b: Any) -> Any:
    return a % b


_PLAIN_DIV = {"truediv": _truediv_plain, "floordiv": _floordiv_plain, "mod": _mod_plain}


def _pow_stub(name: str) -> Callable[..., Any]:
    """``**``: ints by repeated checked squaring; a negative exponent replays (Python
    gives a float, NumPy ints raise)."""
    stub = _stub(name)

    def typed(a: Any, b: Any) -> Any:
        if isinstance(a, types.Array):
            return _ipow if name == "ipow" else _pow_plain
        if isinstance(a, types.Float) and isinstance(b, types.IntegerLiteral) and \
                b.literal_value == 2:
            return _float_square  # x ** 2: one product, exactly C's pow (hot in loops)
        if isinstance(a, (types.Integer, types.Float)) and isinstance(b, types.Float) or \
                isinstance(a, types.Float) and isinstance(b, types.Integer):
            return _float_pow
        if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
            return _pow_plain if isinstance(a, (types.Number, types.Boolean)) and \
                isinstance(b, (types.Number, types.Boolean, types.Array)) else None
        if a.bitwidth < 64 or b.bitwidth < 64 or not a.signed or not b.signed:
            rt = _narrow_type(a, b)
            if rt is None:
                return None  # uint64 and other mixes: Numba's own (rare)
            lo, hi = _fits(rt)

            def narrow_pow(a: Any, b: Any) -> Any:
                if b < 0:
                    raise Replay
                r = _checked_pow(np.int64(a), np.int64(b))
                if r < lo or r > hi:
                    raise Replay
                return rt(r)
            return narrow_pow
        return _checked_pow_entry

    overload(stub, prefer_literal=True, inline="always")(typed)
    return stub


def _pow_plain(a: Any, b: Any) -> Any:
    return a ** b


def _float_square(a: Any, b: Any) -> Any:
    # Not checked for overflow: a branch here stops LLVM from vectorizing the loops
    # it sits in (9x on conditional_accumulate). Past 1.3e154, Python's float ** 2
    # raises OverflowError and NumPy's warns; level 2 gives inf (see the docs).
    return a * a


def _float_pow(a: Any, b: Any) -> Any:
    """Python: a negative base to a fractional power is complex, 0.0 ** -1 raises,
    overflow raises; NumPy scalars give nan or inf with a warning: replay all three."""
    r = a ** b
    if a < 0 and b != np.floor(b):
        raise Replay
    if a == 0 and b < 0:
        raise Replay
    if (r == np.inf or r == -np.inf) and a - a == 0 and b - b == 0:
        raise Replay
    return r


def _checked_pow_entry(a: Any, b: Any) -> Any:
    return _checked_pow(a, b)


def _make_checked_pow() -> Any:
    import numba

    @numba.njit(inline="always")
    def checked_pow(a: Any, b: Any) -> Any:
        if b < 0:
            raise Replay
        result = np.int64(1)
        base = np.int64(a)
        e = np.int64(b)
        while True:
            if e & 1:
                result, bad = _mul_ovf(result, base)
                if bad:
                    raise Replay
            e >>= 1
            if e == 0:
                break
            base, bad = _mul_ovf(base, base)
            if bad:
                raise Replay
        return result

    return checked_pow


_checked_pow = _make_checked_pow()


def _shift_stub(name: str, left: bool) -> Callable[..., Any]:
    stub = _stub(name)

    def typed(a: Any, b: Any) -> Any:
        if isinstance(a, types.Array):
            return _INPLACE[name] if name.startswith("i") else \
                (_lshift_plain if left else _rshift_plain)
        if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
            return None
        if not (a.bitwidth == 64 and a.signed):
            return _lshift_plain if left else _rshift_plain  # NumPy's own rules
        if left:
            def lshift(a: Any, b: Any) -> Any:
                if b < 0 or b >= 63:
                    raise Replay
                r = a << b
                if (r >> b) != a:
                    raise Replay
                return r
            return lshift

        def rshift(a: Any, b: Any) -> Any:
            if b < 0 or b >= 64:
                raise Replay
            return a >> b
        return rshift

    overload(stub, prefer_literal=True, inline="always")(typed)
    return stub


def _lshift_plain(a: Any, b: Any) -> Any:
    return a << b


def _rshift_plain(a: Any, b: Any) -> Any:
    return a >> b


def _unary_stub(name: str) -> Callable[..., Any]:
    """Unary ``-`` and ``abs`` of ``-2**63`` replay (Python: 2**63)."""
    stub = _stub(name)
    is_abs = name == "abs"

    def typed(a: Any) -> Any:
        if isinstance(a, types.Integer) and a.bitwidth == 64 and a.signed:
            if is_abs:
                def checked_abs(a: Any) -> Any:
                    if a == _MIN:
                        raise Replay
                    return a if a >= 0 else -a
                return checked_abs

            def neg(a: Any) -> Any:
                if a == _MIN:
                    raise Replay
                return -a
            return neg
        if isinstance(a, types.Integer) and not a.signed and not is_abs:
            def unsigned_neg(a: Any) -> Any:
                if a != 0:
                    raise Replay  # NumPy wraps with a warning
                return a
            return unsigned_neg
        if isinstance(a, types.Integer) and a.bitwidth < 64 and a.signed:
            lo, _ = _fits(a)
            ta = a

            def narrow_neg(a: Any) -> Any:
                if a == lo:
                    raise Replay
                return ta(-a) if not is_abs or a < 0 else a
            return narrow_neg
        if is_abs:
            return _abs_plain
        return _neg_plain

    overload(stub, prefer_literal=True, inline="always")(typed)
    return stub


def _abs_plain(a: Any) -> Any:
    return abs(a)


def _neg_plain(a: Any) -> Any:
    return -a


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


def _build() -> dict[str, Callable[..., Any]]:
    ops: dict[str, Callable[..., Any]] = {}
    for name, ovf, compute, plain in (("add", _add_ovf, _compute_add, _add_plain),
                                      ("sub", _sub_ovf, _compute_sub, _sub_plain),
                                      ("mul", _mul_ovf, _compute_mul, _mul_plain)):
        for prefix in ("", "i"):
            ops[prefix + name] = _binary(prefix + name, _wide_op(ovf), _narrow_op(compute),
                                         plain, inplace=bool(prefix))
            for weak in ("", "k"):
                ops["h" + weak + prefix + name] = _binary(
                    prefix + name, _wide_op(ovf), _narrow_op(compute), plain,
                    inplace=bool(prefix), mode="h", weak=bool(weak))
                ops["w" + weak + prefix + name] = _binary(
                    prefix + name, _wide_op(ovf), _narrow_op(compute), plain,
                    inplace=bool(prefix), mode="w", weak=bool(weak))
            ops["k" + prefix + name] = _binary(prefix + name, _wide_op(ovf),
                                               _narrow_op(compute), plain,
                                               inplace=bool(prefix), weak=True)
        for weak in ("", "k"):
            for mode in ("c", "f"):
                ops[mode + weak + name] = _binary(name, _wide_op(ovf), _narrow_op(compute),
                                                  plain, inplace=False, mode=mode,
                                                  weak=bool(weak))
    for name in ("truediv", "floordiv", "mod"):
        for prefix in ("", "i"):
            ops[prefix + name] = _zero_checked(prefix + name)
    settle = _stub("settle")
    overload(settle, inline="always")(_settle_impl)
    ops["settle"] = settle
    ops["pow"] = _pow_stub("pow")
    ops["ipow"] = _pow_stub("ipow")
    ops["lshift"] = _shift_stub("lshift", True)
    ops["ilshift"] = _shift_stub("ilshift", True)
    ops["rshift"] = _shift_stub("rshift", False)
    ops["irshift"] = _shift_stub("irshift", False)
    ops["neg"] = _unary_stub("neg")
    ops["abs"] = _unary_stub("abs")
    return ops


#: stub name (``add``, ``iadd``, ``neg``…) → the stub the rewritten code calls
OPS: dict[str, Callable[..., Any]] = _build()
