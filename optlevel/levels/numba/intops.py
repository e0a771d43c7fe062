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
- the ``+ - *`` family and the forms its checks take where they move (hoisted
  before an ``if``, deferred to a loop's end, a Python int against a narrow int)
  live in :mod:`.intarith`;
- floats and complex numbers: a zero divisor of ``/``, ``//`` or ``%`` replays
  (Python numbers raise ``ZeroDivisionError``, NumPy scalars give inf or nan
  with a warning; the replay gives whichever the plain function meets);
- ``divmod(a, b)``: the same checks as ``//`` (:func:`_divmod_stub`), so plain
  Python raises with its own message;
- the value of ``array[...] = value`` (``store``, ``kstore``:
  :func:`.lowered.store_stub`): a float into an integer array, or a Python int
  into a narrow one, replays where NumPy raises.

Imported by the Numba backend when it builds code (it imports Numba), never by
``import optlevel``.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from numba import types
from numba.extending import overload

from .guard import Replay
from .inplace import INPLACE as _INPLACE
from .inplace import ipow as _ipow
from .intarith import (
    _MIN,
    _add_ovf,
    _binary,
    _compute_add,
    _compute_mul,
    _compute_sub,
    _fits,
    _mul_ovf,
    _narrow_op,
    _narrow_type,
    _stub,
    _sub_ovf,
    _wide_op,
)
from .lowered import (
    as_checked_division,
    as_checked_pow,
    as_numba_unary,
    real_scalars,
    settle_stub,
    store_stub,
)

__all__ = ["OPS"]

def _zero_checked(name: str) -> Callable[..., Any]:
    """``/``, ``//``, ``%``: a zero divisor replays; 64-bit ``MIN // -1`` too."""
    stub = _stub(name)
    is_div = name.endswith("truediv")
    is_floor = name.endswith("floordiv")
    inplace = name.startswith("i") and name[1:] in ("truediv", "floordiv", "mod")
    as_checked_division(stub, name[1:] if inplace else name)  # floats: typed first

    def typed(a: Any, b: Any) -> Any:
        if real_scalars(a, b):
            return None  # typed and lowered by as_checked_division
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


def _divmod_stub() -> Callable[..., Any]:
    """``divmod(a, b)`` of numbers: a zero divisor replays (Python raises
    ``ZeroDivisionError`` with its own message, 'integer division or modulo by zero' or
    'float divmod()', where Numba's says 'integer divmod by zero'; NumPy scalars give
    nan or 0 with a warning), as do 64-bit ``divmod(-2**63, -1)`` (Python: 2**63) and
    a narrow int's quotient NumPy 2 would wrap; otherwise Numba's own, which computes
    Python's floor quotient and remainder."""
    stub = _stub("divmod")

    def typed(a: Any, b: Any) -> Any:
        numbers = (types.Integer, types.Float, types.Boolean)
        if not (isinstance(a, numbers) and isinstance(b, numbers)):
            return _divmod_plain
        rt = _narrow_type(a, b)
        if rt is not None:
            lo, hi = _fits(rt)

            def narrow_divmod(a: Any, b: Any) -> Any:
                if b == 0:
                    raise Replay
                q = np.int64(a) // np.int64(b)
                if q < lo or q > hi:
                    raise Replay
                return rt(q), rt(np.int64(a) % np.int64(b))
            return narrow_divmod
        edge = isinstance(a, types.Integer) and isinstance(b, types.Integer) and \
            a.signed and b.signed

        def checked_divmod(a: Any, b: Any) -> Any:
            if b == 0 or (edge and b == -1 and a == _MIN):
                raise Replay
            return divmod(a, b)
        return checked_divmod

    overload(stub, prefer_literal=True, inline="always")(typed)
    return stub


def _divmod_plain(a: Any, b: Any) -> Any:
    return divmod(a, b)


def _pow_stub(name: str) -> Callable[..., Any]:
    """``**``: ints by repeated checked squaring; a negative exponent replays (Python
    gives a float, NumPy ints raise)."""
    stub = _stub(name)
    as_checked_pow(stub)  # a float exponent: typed first, lowered in the caller

    def typed(a: Any, b: Any) -> Any:
        if isinstance(a, types.Array):
            return _ipow if name == "ipow" else _pow_plain
        if isinstance(a, types.Float) and isinstance(b, types.IntegerLiteral) and \
                b.literal_value == 2:
            return _float_square  # x ** 2: one product, exactly C's pow (hot in loops)
        if isinstance(a, (types.Integer, types.Float)) and isinstance(b, types.Float):
            return None  # typed and lowered by as_checked_pow
        if isinstance(a, types.Float) and isinstance(b, types.Integer):
            return _float_pow_int(a)
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


def _float_pow_int(ft: Any) -> Callable[..., Any]:
    """A float to an int power, as Python and NumPy compute it: C's ``pow`` with the
    exponent as a float (Numba's own ``float ** int`` multiplies by squaring, and
    differed from Python's in the last bit for 3 of 4 random cases). A zero base to a
    negative power and an overflow replay, as :func:`.lowered.as_checked_pow`'s."""

    def float_pow_int(a: Any, b: Any) -> Any:
        e = ft(b)
        r = a ** e
        if a == 0 and e < 0:
            raise Replay
        if (r == np.inf or r == -np.inf) and a - a == 0:
            raise Replay
        return r
    return float_pow_int


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
    as_numba_unary(stub, abs if is_abs else operator.neg)  # floats, complex numbers

    def typed(a: Any) -> Any:
        if isinstance(a, (types.Float, types.Complex)):
            return None  # typed and lowered by as_numba_unary
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


def _checked_binary(op: str, ovf: Any, compute: Any, inplace: bool,
                    **how: Any) -> Callable[..., Any]:
    # the operator itself (``compute``) serves other operand types
    return _binary(op, _wide_op(ovf), _narrow_op(compute), compute, inplace=inplace, **how)


def _builders() -> dict[str, Callable[[], Callable[..., Any]]]:
    """Stub name → what builds it (each build registers Numba overloads: 4.2-4.9 ms for
    all 63 in a new process, of which a loop of floats calls a handful)."""
    ops: dict[str, Callable[[], Callable[..., Any]]] = {}
    for name, ovf, compute in (("add", _add_ovf, _compute_add),
                               ("sub", _sub_ovf, _compute_sub),
                               ("mul", _mul_ovf, _compute_mul)):
        for prefix in ("", "i"):
            binary = functools.partial(_checked_binary, prefix + name, ovf, compute,
                                       bool(prefix))
            ops[prefix + name] = binary
            for weak in ("", "k"):
                ops["h" + weak + prefix + name] = functools.partial(binary, mode="h",
                                                                    weak=bool(weak))
                ops["w" + weak + prefix + name] = functools.partial(binary, mode="w",
                                                                    weak=bool(weak))
            ops["k" + prefix + name] = functools.partial(binary, weak=True)
        for weak in ("", "k"):
            for mode in ("c", "f"):
                ops[mode + weak + name] = functools.partial(
                    _checked_binary, name, ovf, compute, False, mode=mode, weak=bool(weak))
    for name in ("truediv", "floordiv", "mod"):
        for prefix in ("", "i"):
            ops[prefix + name] = functools.partial(_zero_checked, prefix + name)
    ops["settle"] = settle_stub
    ops["divmod"] = _divmod_stub
    ops["store"] = functools.partial(store_stub, False)
    ops["kstore"] = functools.partial(store_stub, True)
    for name in ("pow", "ipow"):
        ops[name] = functools.partial(_pow_stub, name)
    for name, left in (("lshift", True), ("ilshift", True), ("rshift", False),
                       ("irshift", False)):
        ops[name] = functools.partial(_shift_stub, name, left)
    for name in ("neg", "abs"):
        ops[name] = functools.partial(_unary_stub, name)
    return ops


class _Ops(Mapping[str, Callable[..., Any]]):
    """The stubs by name, each built (its overloads registered with Numba) the first
    time a rewrite or the IR pass asks for it."""

    def __init__(self, builders: dict[str, Callable[[], Callable[..., Any]]]):
        self._builders = builders
        self._built: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Callable[..., Any]:
        found = self._built.get(name)
        if found is None:
            build = self._builders[name]  # KeyError: not a stub
            with self._lock:
                found = self._built.get(name)
                if found is None:
                    found = self._built[name] = build()
        return found

    def __contains__(self, name: object) -> bool:  # without building it
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


#: stub name (``add``, ``iadd``, ``neg``…) → the stub the rewritten code calls
OPS: Mapping[str, Callable[..., Any]] = _Ops(_builders())
