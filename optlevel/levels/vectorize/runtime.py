"""What the generated vectorized code calls at run time (as ``_ol.<name>``).

Everything here either returns what the loop would have produced, exactly, or
raises :class:`Unfit`; the generated code then runs the original loop, which does
what plain Python does (including raising where it raises). Nothing here writes
to the user's arrays except :func:`write`, which runs only after every check.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

__all__ = ["Unfit", "extent", "fits", "need_scalar", "pick", "as_mask", "andnot",
           "either", "element_abs", "multiply", "for_write", "write", "reduce", "last"]

_NUMERIC = frozenset("biufc")
_PY_SCALARS = {bool: "b", int: "i", float: "f", complex: "c"}


class Unfit(Exception):
    """These values are outside what the vectorized form reproduces exactly."""


def extent(iterable: Any) -> int:
    """The trip count of ``range(n)`` or of iterating an array: ``len``."""
    return len(iterable)


def _scalar(value: Any) -> bool:
    if type(value) in _PY_SCALARS:
        return True
    return isinstance(value, np.generic) and value.dtype.kind in _NUMERIC


def fits(shape: tuple[int, ...], arrays: tuple, written: tuple[str, ...],
         scalars: tuple, indices: tuple, accs: tuple, pure: tuple) -> bool:
    """Can the vectorized form run for these values?

    Parameters
    ----------
    shape : tuple of int
        The trip counts of the loop nest (each must be positive).
    arrays : tuple of (name, array, ndim, ((axis, level), ...))
        Every array indexed by the loop variables, with the axes each level indexes.
    written : tuple of str
        The names of the arrays the loop writes.
    scalars, indices, accs : tuple
        Values used as operands (numbers), as invariant indices (integers), and the
        accumulators' values before the loop (numbers).
    pure : tuple of (name, value)
        Inputs of the calls computed once instead of on every iteration.
    """
    if not all(n > 0 for n in shape):
        return False
    named: dict[str, Any] = {}
    for name, arr, ndim, positions in arrays:
        if type(arr) is not np.ndarray or arr.dtype.kind not in _NUMERIC or arr.ndim != ndim:
            return False
        if any(arr.shape[axis] != shape[level] for axis, level in positions):
            return False
        named[name] = arr
    for name, value in pure:
        if type(value) is np.ndarray:
            named.setdefault(name, value)
        elif not (_scalar(value) or type(value) in (list, tuple)):
            return False
    if not all(_scalar(v) for v in scalars) or not all(_scalar(v) for v in accs):
        return False
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in indices):
        return False
    return _no_overlap(named, written)


def _no_overlap(named: dict[str, Any], written: tuple[str, ...]) -> bool:
    """A written array may share memory with no other array the loop touches: the loop
    would then read values it wrote on earlier iterations."""
    for name in written:
        target = named[name]
        if not target.flags.writeable:
            return False
        for other, arr in named.items():
            if other != name and np.may_share_memory(target, arr):
                return False
    return True


def need_scalar(value: Any) -> Any:
    """A value computed once (``x.mean()``) must be a number to stand for every
    iteration's; a whole array would broadcast instead."""
    if not _scalar(value):
        raise Unfit("a hoisted value is not a number")
    return value


def _full(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` broadcast to ``shape`` (np.broadcast_to costs microseconds: skip it
    when the shape is already right, the usual case)."""
    return value if value.shape == shape else np.broadcast_to(value, shape)


def pick(value: Any, mask: Any, shape: tuple[int, ...]) -> Any:
    """The elements of ``value`` (broadcast over the loop nest) where ``mask`` is true."""
    if mask is None or not isinstance(value, np.ndarray):
        return value
    return _full(value, shape)[mask]


def as_mask(value: Any, within: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A test's truth, as a full-size mask (false outside ``within``)."""
    arr = np.asarray(value)
    if arr.dtype.kind != "b":
        if arr.dtype.kind not in _NUMERIC:
            raise Unfit("a condition is not a number")
        arr = arr != 0  # Python's truth of a number: nan is true, like nan != 0
    if within is None:
        return _full(arr, shape)
    full = np.zeros(shape, dtype=bool)
    full[within] = arr
    return full


def andnot(within: Any, mask: np.ndarray) -> np.ndarray:
    """Where ``within`` holds and ``mask`` does not."""
    return ~mask if within is None else within & ~mask


def either(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a | b


# -- operations whose NumPy array loops round differently from one scalar's ----------
#
# ``abs(z)`` of one complex NumPy scalar is ``hypot(z.real, z.imag)`` (libm, correctly
# rounded), while ``np.abs`` of a complex array runs NumPy's own SIMD loop: they differ
# in the last bit for about a third of complex64 elements. ``a * b`` of two complex
# scalars is the textbook ``(ar*br - ai*bi, ar*bi + ai*br)``, each step rounded, while
# the array loop may fuse a multiply and an add. Such terms, summed, change the sum's
# last bit, so the rewrite computes them the scalar's way (where a probe at first use
# shows that way reproduces this NumPy's scalars exactly; elsewhere the loop runs).

_exact: dict[tuple[str, np.dtype], bool] = {}


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan = np.isnan(a) & np.isnan(b)  # a NaN's sign and payload are not kept anyway
    return bool(np.all(nan | ((a == b) & (np.signbit(a.real) == np.signbit(b.real))
                              & (np.signbit(a.imag) == np.signbit(b.imag)))))


def _probe(what: str, dtype: np.dtype) -> bool:
    """Does the array form of ``what`` give, on awkward values of ``dtype``, what one
    scalar gives? (Checked once per dtype: a few microseconds.)"""
    key = (what, dtype)
    found = _exact.get(key)
    if found is None:
        info = np.finfo(dtype)
        values = [complex(1, 1), complex(-0.0, 0.0), complex(np.inf, np.nan),
                  complex(3.0, -7.0) / 9, complex(1e-3, 2e5), 0j]
        a = np.array(values, dtype=dtype)
        # (1 + 2**-k)**2 needs more bits than the dtype has: a fused multiply-add
        # keeps the rounding error that two rounded products cancel
        a.real[-1] = a.imag[-1] = 1 + info.dtype.type(2) ** -(info.nmant // 2 + 1)
        b = np.array(a[::-1])
        with np.errstate(all="ignore"):
            if what == "abs":
                scalar = [abs(v) for v in a]
                array = element_abs(a, checked=True)
            else:
                scalar = [x * y for x, y in zip(a, b)]
                array = multiply(a, b, checked=True)
            found = all(_same(s, array[k]) and type(s) is type(array[k])
                        for k, s in enumerate(scalar))
        _exact[key] = found
    return found


def element_abs(value: Any, checked: bool = False) -> Any:
    """``abs()`` of every element, as ``abs()`` of each one NumPy scalar computes it:
    ``hypot(real, imag)`` for complex elements (``np.abs`` of a complex array rounds
    differently)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind != "c":
        return abs(value)
    if not (checked or _probe("abs", value.dtype)):
        raise Unfit("abs() of a complex array does not round like abs() of its elements")
    return np.hypot(value.real, value.imag)


def multiply(a: Any, b: Any, checked: bool = False) -> Any:
    """``a * b`` elementwise, as each pair of NumPy scalars multiplies: for a complex
    product the textbook formula, each step rounded (the array loop may fuse them)."""
    if not (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        return a * b
    dtype = np.result_type(a, b)  # Python numbers weakly, as the scalars promote them
    if dtype.kind != "c":
        return a * b
    if not (checked or _probe("multiply", dtype)):
        raise Unfit("a complex array product does not round like its elements' products")
    x, y = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), dtype=dtype)
    out.real = x.real * y.real - x.imag * y.imag
    out.imag = x.real * y.imag + x.imag * y.real
    return out[()] if out.ndim == 0 else out


def _castable(value: np.dtype, target: np.dtype) -> bool:
    """Would ``target[i] = element`` store what ``target[:] = array`` stores? Only for
    casts that cannot fail: a float into an int raises on nan one element at a time."""
    if value.kind not in _NUMERIC:
        return False
    if target.kind == "b":
        return value.kind == "b"
    if target.kind in "iu":
        return value.kind in "biu" and np.can_cast(value, target, "safe")
    if target.kind == "f":
        return value.kind == "f" or (value.kind in "biu" and np.can_cast(value, target, "safe"))
    return value.kind in "fc" or np.can_cast(value, target, "safe")


def for_write(target: np.ndarray, value: Any) -> Any:
    """``value``, checked to store into ``target`` as the loop's element stores would."""
    if isinstance(value, (np.ndarray, np.generic)):
        if not _castable(value.dtype, target.dtype):
            raise Unfit("the value's dtype does not store like a scalar would")
        return value
    kind = _PY_SCALARS.get(type(value))
    if kind is None:
        raise Unfit("the value is not a number")
    allowed = {"b": "b", "i": "bi", "u": "bi", "f": "bif", "c": "bifc"}[target.dtype.kind]
    if kind not in allowed:
        raise Unfit("a Python number of another kind")
    if target.dtype.kind in "iu":
        np.array(value, dtype=target.dtype)  # raises OverflowError like the element store
    return value


def write(view: np.ndarray, mask: Any, value: Any, full: bool = False) -> None:
    """Store ``value`` where ``mask`` holds: the selected elements (a gathered
    ``value``) or, with ``full``, ``value`` computed for every element."""
    if mask is None:
        view[...] = value
    elif full:
        np.copyto(view, value, casting="unsafe", where=mask)  # checked by for_write
    else:
        view[mask] = value


_UFUNCS = {"+": np.add, "*": np.multiply}


def _step(op: str, acc: Any, term: Any, negate: bool) -> Any:
    if op == "*":
        return acc * term
    return acc - term if negate else acc + term


def _flat_first(mask: Any, size: int) -> tuple[int, int]:
    """(how many elements a part touches, the flat index of its first)."""
    if mask is None:
        return size, 0
    flat = mask.reshape(-1)
    count = int(np.count_nonzero(flat))
    return count, (int(flat.argmax()) if count else -1)


def _first_term(values: Any, mask: Any, full: bool, first: int,
                shape: tuple[int, ...]) -> Any:
    if not isinstance(values, np.ndarray):
        return values
    if mask is None or full:
        return _full(values, shape).reshape(-1)[first] if values.shape == shape else \
            np.broadcast_to(values, shape)[np.unravel_index(first, shape)]
    return values[0]


def _dtype_of(values: Any) -> Any:
    """The dtype the loop's steps see: an array's, a NumPy scalar's, or the Python
    number itself (which NumPy 2 promotes weakly, like the loop does)."""
    if isinstance(values, (np.ndarray, np.generic)):
        return values.dtype
    return values


def reduce(op: str, init: Any, parts: tuple, shape: tuple[int, ...], cover: str,
           order: str = "auto") -> Any:
    """What ``for ...: acc op= term`` leaves in ``acc``, in the loop's order, exactly.

    ``parts`` holds ``(mask, values, negate, full)`` per accumulating statement, in
    body order: the terms where ``mask`` holds (``mask`` None: everywhere), gathered,
    or with ``full`` computed for every element. ``cover`` says how the masks relate:
    ``"all"`` (every element exactly one term), ``"disjoint"`` or ``"any"``.
    With ``order="loop"`` floating-point terms are added one after the other like
    the loop does, so the result is the loop's to the last bit; ``"pairwise"`` lets
    NumPy add them pairwise like ``np.sum`` (faster; the last bits may differ);
    ``"auto"`` is the loop's order (it was pairwise for float64 and complex128, where
    only the last bits changed; now every level keeps them).
    """
    size = math.prod(shape)
    touched = [_flat_first(part[0], size) for part in parts]
    firsts = [(first, j) for j, (count, first) in enumerate(touched) if count]
    if not firsts:
        return init  # no iteration touched it: unchanged, same type
    first_at, j0 = min(firsts)
    mask0, values0, negate0, full0 = parts[j0]
    first = _step(op, init, _first_term(values0, mask0, full0, first_at, shape), negate0)
    if not isinstance(first, np.generic):
        return _python_reduce(op, init, first, parts, touched, shape, cover)
    acc = first.dtype
    if acc.kind not in "iufc":
        raise Unfit("the accumulator is not a number")
    for j, (count, _) in enumerate(touched):
        if count and np.result_type(acc, _dtype_of(parts[j][1])) != acc:
            raise Unfit("a term would change the accumulator's dtype")
    seq = _sequence(parts, shape, acc, cover)
    seq[0] = first
    ufunc = _UFUNCS[op]
    # integers wrap: any order is exact; floats keep the loop's order unless "pairwise"
    # (which "auto" also was for float64 once: its last bits differed from the loop's)
    if acc.kind in "iu" or order == "pairwise":
        return ufunc.reduce(seq, dtype=acc)
    ufunc.accumulate(seq, out=seq)
    return seq[-1]


def _python_reduce(op: str, init: Any, first: Any, parts: tuple, touched: list,
                   shape: tuple[int, ...], cover: str) -> Any:
    """Python numbers throughout (counting with ``n += 1``): Python arithmetic."""
    values = [part[1] for part in parts]
    if any(isinstance(v, (np.ndarray, np.generic)) for v in values):
        raise Unfit("the accumulator turns from a Python number into a NumPy one midway")
    if type(init) is int and all(type(v) is int for v in values):
        if op == "+":
            return init + sum((-part[1] if part[2] else part[1]) * count
                              for part, (count, _) in zip(parts, touched))
        out = init
        for v, (count, _) in zip(values, touched):
            out *= operator.pow(v, count)
        return out
    if type(init) is float and all(type(v) in (int, float) for v in values):
        seq = _sequence(parts, shape, np.dtype(np.float64), cover)
        seq[0] = first  # Python floats are IEEE doubles: the same steps as float64
        _UFUNCS[op].accumulate(seq, out=seq)
        return float(seq[-1])
    raise Unfit("an accumulator of Python numbers of mixed kinds")


def _put(terms: np.ndarray, values: Any, mask: Any, negate: bool, full: bool,
         shape: tuple[int, ...]) -> None:
    """Store one statement's terms (cast to ``terms``' dtype, then negated) into the
    flat ``terms`` where ``mask`` holds."""
    acc = terms.dtype
    if mask is None or full:
        where = True if mask is None else mask.reshape(-1)
        flat = _full(values, shape).reshape(-1) if np.ndim(values) else values
        if negate:
            np.negative(flat, out=terms, where=where, dtype=acc)
        else:
            np.copyto(terms, flat, casting="unsafe", where=where)
        return
    chunk = np.asarray(values, dtype=acc)
    terms[mask.reshape(-1)] = -chunk if negate else chunk


def _where(parts: tuple, shape: tuple[int, ...], acc: np.dtype) -> np.ndarray:
    chosen = []
    for _, values, negate, _ in parts:
        value = np.asarray(values, dtype=acc)
        chosen.append(np.negative(value) if negate else value)
    a, b = (np.array(_full(c, shape), dtype=acc) if c.shape != shape else c for c in chosen)
    return select(_full(np.asarray(parts[0][0]), shape), a, b).reshape(-1)


_UINTS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def select(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.where(mask, a, b)`` for two arrays of one dtype and shape, by bit masks:
    the same values, without np.where's branch per element (about twice as fast on a
    random mask)."""
    unsigned = _UINTS.get(a.dtype.itemsize)
    if unsigned is None or a.dtype != b.dtype or a.shape != b.shape != mask.shape \
            or not (a.flags.c_contiguous and b.flags.c_contiguous):
        return np.where(mask, a, b)
    ua, ub = a.view(unsigned), b.view(unsigned)
    out = np.bitwise_xor(ua, ub)  # the bits where a and b differ,
    np.multiply(out, mask, out=out)  # kept where mask holds (one new array in all),
    out ^= ub  # flip b's bits there: a where mask holds, b elsewhere
    return out.view(a.dtype)


def _sequence(parts: tuple, shape: tuple[int, ...], acc: np.dtype, cover: str) -> np.ndarray:
    """Every term, cast to ``acc`` and negated where subtracted, in the loop's order."""
    size = math.prod(shape)
    if cover == "all" and len(parts) == 2 and all(p[3] for p in parts):
        return _where(parts, shape, acc)  # if/else, both computed everywhere: one select
    if len(parts) == 1 and parts[0][0] is not None:  # one guarded statement: one gather
        mask, values, negate, full = parts[0]
        chosen = np.asarray(values, dtype=acc)
        if full and chosen.ndim:
            seq = _full(chosen, shape)[mask]
        else:
            seq = np.array(np.broadcast_to(chosen, (int(np.count_nonzero(mask)),)), dtype=acc)
        return np.negative(seq, out=seq) if negate else seq
    if cover in ("all", "disjoint") or len(parts) == 1:
        terms = np.empty(size, dtype=acc)
        for mask, values, negate, full in parts:
            _put(terms, values, mask, negate, full, shape)
        if cover == "all" or (len(parts) == 1 and parts[0][0] is None):
            return terms
        used = np.zeros(size, dtype=bool)
        for part in parts:
            used |= part[0].reshape(-1)
        return terms[used]
    columns = np.empty((len(parts), size), dtype=acc)
    used = np.zeros((len(parts), size), dtype=bool)
    for j, (mask, values, negate, full) in enumerate(parts):
        _put(columns[j], values, mask, negate, full, shape)
        used[j] = True if mask is None else mask.reshape(-1)
    return columns.T[used.T]  # element-major: each element's terms in statement order


def last(value: Any, shape: tuple[int, ...]) -> Any:
    """A temporary's value on the last iteration (what the loop leaves in it)."""
    if isinstance(value, np.ndarray) and value.ndim:
        return _full(value, shape)[(-1,) * len(shape)]
    return value
