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

__all__ = ["TOLERANCES", "Difference", "compare", "same_result", "snapshot_args",
           "restore_args", "array_kind", "to_numpy", "host_copy"]

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


def snapshot_args(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Deep copies of the arguments, so the plain run sees what the call saw."""
    return copy.deepcopy(args), copy.deepcopy(kwargs)


def restore_args(target: tuple, kwargs: dict, source: tuple, source_kwargs: dict) -> None:
    """Copy the plain run's in-place writes back into the caller's arguments."""
    for dst, src in zip(list(target) + list(kwargs.values()),
                        list(source) + list(source_kwargs.values())):
        if isinstance(dst, np.ndarray) and dst.flags.writeable:
            np.copyto(dst, src)
        elif type(dst) is list:
            dst[:] = src
        elif type(dst) is dict:
            dst.clear()
            dst.update(src)
