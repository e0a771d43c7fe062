"""Checking a level's result against the plain function (``verify=True``)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["snapshot_args", "same_result", "restore_args"]


def snapshot_args(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Deep copies of the arguments, so the plain run sees what the call saw."""
    return copy.deepcopy(args), copy.deepcopy(kwargs)


def same_result(a: Any, b: Any) -> bool:
    """Equal within floating-point tolerance, NaNs equal, same container kind and shape."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return False
        return _close(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(
            same_result(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_result(a[k], b[k]) for k in a)
    if isinstance(a, (int, float, complex, np.number, np.bool_)) and \
            isinstance(b, (int, float, complex, np.number, np.bool_)):
        return _close(np.asarray(a), np.asarray(b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        tol = 1e-4 if np.float32 in (a.dtype.type, b.dtype.type) else 1e-9
        return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return bool(np.array_equal(a, b))


def restore_args(target: tuple, kwargs: dict, source: tuple, source_kwargs: dict) -> None:
    """Copy the plain run's in-place writes back into the caller's arrays."""
    for dst, src in zip(list(target) + list(kwargs.values()),
                        list(source) + list(source_kwargs.values())):
        if isinstance(dst, np.ndarray) and dst.flags.writeable:
            np.copyto(dst, src)
