"""Checking a level's result against the plain function's: one routine for every
array kind.

:func:`compare` returns ``None`` when two results are the same, or a
:class:`Difference` that says how they differ. "The same" means:

- the same container: NumPy array ↔ NumPy array, CuPy ↔ CuPy, Torch ↔ Torch
  (compared on the host after one copy), tuple ↔ tuple, list ↔ list, dict ↔ dict,
  with the same length or keys;
- arrays of the same shape and exactly the same dtype, whose values are equal —
  integers, booleans and strings exactly, floating-point and complex within the
  tolerance of their dtype (:data:`TOLERANCES`, relative and absolute alike), NaN
  equal to NaN in the same places;
- scalars of equal value (same tolerance) and the same type. When only the scalar
  type differs between two numeric types — a compiler handing back a Python
  ``float`` where the plain function returns ``np.float64`` — the difference is
  *repairable*: :attr:`Difference.converter` turns the fast result into the plain
  function's type, and the dispatcher applies it to later calls.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..arrays import array_kind, host_copy, to_numpy
from ..errors import first_line

__all__ = ["TOLERANCES", "Difference", "compare", "same_result", "snapshot_args",
           "CannotCopy", "array_kind", "to_numpy", "host_copy"]

#: dtype character → relative and absolute tolerance for floating-point comparisons.
#: float16 1e-2, float32/complex64 1e-4, float64/complex128 1e-9, longdouble 1e-12.
TOLERANCES: dict[str, float] = {"e": 1e-2, "f": 1e-4, "F": 1e-4, "d": 1e-9, "D": 1e-9,
                                "g": 1e-12, "G": 1e-12}


@dataclasses.dataclass(frozen=True)
class Difference:
    """How a result differs from the plain function's; ``converter`` is set when the
    only difference is a scalar type that converting repairs."""

    text: str
    converter: Callable[[Any], Any] | None = None

    @property
    def repairable(self) -> bool:
        return self.converter is not None

    def __str__(self) -> str:
        return self.text


def _dtype_name(x: Any) -> str:
    return str(getattr(x, "dtype", type(x).__name__)).replace("torch.", "")


def compare(result: Any, expected: Any, where: str = "the result") -> Difference | None:
    """None when ``result`` is the same as ``expected`` (see the module docstring)."""
    kind_r, kind_e = array_kind(result), array_kind(expected)
    if kind_r or kind_e:
        return _compare_arrays(result, expected, kind_r, kind_e, where)
    if type(expected) in (tuple, list):
        return _compare_sequences(result, expected, where)
    if isinstance(expected, dict):
        return _compare_dicts(result, expected, where)
    if _is_number(result) and _is_number(expected):
        return _compare_scalars(result, expected, where)
    if type(result) is not type(expected):
        return Difference(f"{where} is a {type(result).__name__}, plain Python's a "
                          f"{type(expected).__name__} ({result!r} vs {expected!r})")
    try:
        equal = bool(result == expected)
    except (TypeError, ValueError):
        equal = result is expected
    return None if equal else Difference(f"{where} is {_short(result)}, plain Python's "
                                         f"is {_short(expected)}")


def same_result(a: Any, b: Any) -> bool:
    """True when :func:`compare` finds no difference (a repairable one counts)."""
    diff = compare(a, b)
    return diff is None or diff.repairable


def identical(a: Any, b: Any) -> bool:
    """Is ``a`` the plain result ``b`` bit for bit: the same types, shapes and dtypes,
    every number equal, nan where ``b`` has nan, and the sign of every zero kept?
    (:func:`same_result` allows floats a relative 1e-9; this allows nothing.)"""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, (np.ndarray, np.generic, float, complex)):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.kind not in "fc":
            return bool(np.array_equal(x, y))
        pairs = [(x.real, y.real), (x.imag, y.imag)] if x.dtype.kind == "c" else [(x, y)]
        return all(_same_floats(p, q) for p, q in pairs)
    if hasattr(a, "__array__") and not isinstance(a, (str, bytes)):  # a device array
        return identical(to_numpy(a), to_numpy(b))
    try:
        return bool(a == b)
    except Exception:  # an object that cannot say
        return False


def _same_floats(p: np.ndarray, q: np.ndarray) -> bool:
    """Equal values, nan at the same places, zeros of the same sign (a nan's sign and
    payload are not compared: no operation promises them)."""
    if not np.array_equal(p, q, equal_nan=True):
        return False
    return bool(np.all((np.signbit(p) == np.signbit(q)) | np.isnan(p)))


def _is_number(x: Any) -> bool:
    return isinstance(x, (numbers.Number, np.bool_, bool)) and not isinstance(x, np.ndarray)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        tol = max(TOLERANCES.get(a.dtype.char, 1e-9), TOLERANCES.get(b.dtype.char, 1e-9))
        return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return bool(np.array_equal(a, b))


def _compare_arrays(result: Any, expected: Any, kind_r: str | None, kind_e: str | None,
                    where: str) -> Difference | None:
    if kind_r != kind_e:
        return Difference(f"{where} is {_kind_name(result, kind_r)}, plain Python's is "
                          f"{_kind_name(expected, kind_e)}")
    a, b = to_numpy(result), to_numpy(expected)
    if a.shape != b.shape:
        return Difference(f"{where} has shape {a.shape}, plain Python's {b.shape}")
    if a.dtype != b.dtype:
        return Difference(f"{where} has dtype {a.dtype}, plain Python's {b.dtype}")
    if a.dtype.kind in "biufcmM?" and not _close(a, b):
        bad = int(np.sum(~_elementwise_close(a, b)))
        return Difference(f"{where} differs from plain Python's in {bad} of {a.size} "
                          f"elements (first: {_first_difference(a, b)})")
    if a.dtype.kind not in "biufcmM?" and not np.array_equal(a, b):
        return Difference(f"{where} differs from plain Python's ({a.dtype} values)")
    return None


def _elementwise_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "fc":
        tol = TOLERANCES.get(a.dtype.char, 1e-9)
        return np.isclose(a, b, rtol=tol, atol=tol, equal_nan=True)
    return np.asarray(a == b)


def _first_difference(a: np.ndarray, b: np.ndarray) -> str:
    index = np.argwhere(~_elementwise_close(a, b))
    if not len(index):
        return "-"
    at = tuple(int(i) for i in index[0])
    return f"at {list(at)}: {a[at]!r} vs {b[at]!r}"


def _kind_name(x: Any, kind: str | None) -> str:
    return f"a {kind} array of {_dtype_name(x)}" if kind else f"a {type(x).__name__}"


def _compare_sequences(result: Any, expected: Any, where: str) -> Difference | None:
    if type(result) is not type(expected):
        return Difference(f"{where} is a {type(result).__name__}, plain Python's a "
                          f"{type(expected).__name__}")
    if len(result) != len(expected):
        return Difference(f"{where} has {len(result)} items, plain Python's {len(expected)}")
    converters: list[Callable[[Any], Any] | None] = []
    for i, (r, e) in enumerate(zip(result, expected)):
        diff = compare(r, e, f"{where}[{i}]")
        if diff is not None and not diff.repairable:
            return diff
        converters.append(diff.converter if diff else None)
    if not any(converters):
        return None
    container = type(expected)
    return Difference(f"{where}'s items have other scalar types than plain Python's",
                      lambda value: container(c(v) if c else v
                                              for c, v in zip(converters, value)))


def _compare_dicts(result: Any, expected: dict, where: str) -> Difference | None:
    if type(result) is not type(expected) or result.keys() != expected.keys():
        return Difference(f"{where} has other keys than plain Python's")
    for k in expected:
        diff = compare(result[k], expected[k], f"{where}[{k!r}]")
        if diff is not None:
            return Difference(diff.text) if diff.repairable else diff
    return None


def _compare_scalars(result: Any, expected: Any, where: str) -> Difference | None:
    a, b = np.asarray(result), np.asarray(expected)
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        tol = max(TOLERANCES.get(a.dtype.char, 1e-9), TOLERANCES.get(b.dtype.char, 1e-9))
        equal = bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    else:
        equal = bool(a == b)
    if not equal:
        return Difference(f"{where} is {_short(result)}, plain Python's is {_short(expected)}")
    if type(result) is type(expected):
        return None
    target = type(expected)
    return Difference(f"{where} is a {type(result).__name__}, plain Python's a "
                      f"{target.__name__}", target)


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


class CannotCopy(Exception):
    """The arguments cannot be copied faithfully for a check (the reason is the text)."""


def snapshot_args(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Copies of the arguments that behave as the originals do: views of one buffer
    stay views of one copied buffer (``f(a[1:], a[:-1])``, ``f(a, a.T)``), read-only
    arrays stay read-only, and an object passed twice is copied once. Raises
    :class:`CannotCopy` when that is impossible (a generator, a lock, arrays that
    overlap in a layout that cannot be rebuilt)."""
    memo: dict[int, Any] = {}
    arrays: dict[int, np.ndarray] = {}
    _collect_arrays((args, kwargs), arrays, depth=0)
    groups: dict[int, list[np.ndarray]] = {}
    for a in arrays.values():
        groups.setdefault(id(_root(a)), []).append(a)
    for members in groups.values():
        _copy_group(members, memo)
    _check_disjoint(groups)
    try:
        return copy.deepcopy(args, memo), copy.deepcopy(kwargs, memo)
    except Exception as exc:  # deepcopy raises whatever the object's hooks raise
        raise CannotCopy(f"an argument cannot be copied ({type(exc).__name__}: "
                         f"{first_line(exc)})") from None


def _collect_arrays(value: Any, found: dict[int, np.ndarray], depth: int) -> None:
    if isinstance(value, np.ndarray):
        found.setdefault(id(value), value)
    elif depth < 4 and type(value) in (tuple, list):
        for item in value:
            _collect_arrays(item, found, depth + 1)
    elif depth < 4 and type(value) is dict:
        for item in value.values():
            _collect_arrays(item, found, depth + 1)


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def _copy_group(members: list[np.ndarray], memo: dict[int, Any]) -> None:
    """Copy arrays that share one buffer: once, as the buffer, with each array
    rebuilt as the same view of the copy."""
    if len(members) == 1:
        a = members[0]
        twin = a.copy(order="K")
        twin.flags.writeable = a.flags.writeable
        memo[id(a)] = twin
        return
    root = _root(members[0])
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise CannotCopy("arguments are views of one buffer whose layout cannot be copied")
    raw = root.ravel(order="K").view(np.uint8).copy()
    for a in members:
        twin = np.ndarray(a.shape, a.dtype, buffer=raw, offset=_address(a) - _address(root),
                          strides=a.strides)
        twin.flags.writeable = a.flags.writeable
        memo[id(a)] = twin


def _check_disjoint(groups: dict[int, list[np.ndarray]]) -> None:
    """Arrays of different buffers that still overlap (two ``np.frombuffer`` of one
    ``bytes``) cannot be copied apart."""
    if len(groups) < 2:
        return
    firsts = [members[0] for members in groups.values()]
    for i, a in enumerate(firsts):
        for b in firsts[i + 1:]:
            if np.may_share_memory(_root(a), _root(b)) and np.shares_memory(a, b):
                raise CannotCopy("arguments overlap in memory they do not own")

