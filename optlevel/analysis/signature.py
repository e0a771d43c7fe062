"""``ArgSignature``: what a call's arguments look like, cheaply.

:func:`signature_key` runs on every call and must stay within a few hundred
nanoseconds per argument: it returns a hashable tuple (the plan-cache key).
:func:`describe_args` runs only when a plan is built and gives the readable
:class:`ArgSignature`. CuPy and Torch arrays are recognised by their type's
module name, so checking an argument never imports either library.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..arrays import (
    ARRAY_KINDS,
    FLAG_MASK,
    SCALAR_TYPES,
    ArgKind,
    kind_of,
    library,
    size_class,
)

__all__ = ["ArgInfo", "ArgSignature", "signature_key", "describe_args", "size_class",
           "other_key", "SIZE_CLASS"]

_ndarray = np.ndarray
#: :func:`size_class` by ``size.bit_length()``: a tuple index is cheaper than the sum
SIZE_CLASS = tuple(size_class((1 << n) - 1) for n in range(129))
_SIZE_NAMES = ("empty", "< 16", "< 256", "< 4K", "< 64K", "< 1M", "< 16M", "< 256M")


def signature_key(args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> tuple:
    """The plan-cache key of a call: one small hashable item per argument."""
    key: list[Any] = []
    for a in args:
        t = type(a)
        if t is _ndarray:
            key.append((a.dtype, a.ndim, a.flags.num & FLAG_MASK, SIZE_CLASS[a.size.bit_length()]))
        elif t in SCALAR_TYPES:
            key.append(t)
        else:
            key.append(other_key(a, t))
    if kwargs:
        key.extend((name, signature_key((kwargs[name],))) for name in sorted(kwargs))
    return tuple(key)


def other_key(a: Any, t: type) -> Any:
    """The key item of an argument that is neither a NumPy array nor a scalar."""
    kind = kind_of(t)
    lib = library(kind)
    if lib is not None:
        return lib.key(a)
    if kind is ArgKind.TUPLE and len(a) <= 8:
        return ("tuple",) + signature_key(a)
    if kind in (ArgKind.TUPLE, ArgKind.LIST, ArgKind.DICT):
        return (kind.value, size_class(len(a)))
    return t


@dataclasses.dataclass(frozen=True)
class ArgInfo:
    """One argument, for people and the planner."""

    name: str
    kind: ArgKind
    type_name: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    layout: str | None = None  # C, F, or A (neither)
    readonly: bool = False
    size: int = 1
    device: str = "cpu"

    @property
    def dtype_kind(self) -> str:
        """NumPy's kind character of the array's dtype (``"f"``, ``"i"``, …); ``"V"``
        for a structured dtype, whose text form does not parse back; ``""`` for
        non-arrays."""
        if not self.is_array or self.dtype is None:
            return ""
        try:
            return np.dtype(self.dtype).kind
        except TypeError:
            return "V"

    @property
    def is_array(self) -> bool:
        return self.kind in ARRAY_KINDS

    @property
    def size_name(self) -> str:
        return _SIZE_NAMES[min(size_class(self.size), len(_SIZE_NAMES) - 1)] \
            if self.is_array else "-"

    def __str__(self) -> str:
        if not self.is_array:
            return f"{self.name}: {self.type_name}"
        ro = ", read-only" if self.readonly else ""
        return (f"{self.name}: {self.kind} {self.dtype}{list(self.shape or ())} "
                f"{self.layout}-layout{ro} on {self.device}")


@dataclasses.dataclass(frozen=True)
class ArgSignature:
    """The arguments of one call, and the key that indexes the plan cache."""

    args: tuple[ArgInfo, ...]
    key: tuple

    @property
    def arrays(self) -> tuple[ArgInfo, ...]:
        return tuple(a for a in self.args if a.is_array)

    @property
    def total_size(self) -> int:
        return sum(a.size for a in self.arrays)

    def to_dict(self) -> dict[str, Any]:
        return {"args": [dataclasses.asdict(a) for a in self.args]}

    def __str__(self) -> str:
        return ", ".join(str(a) for a in self.args) or "(no arguments)"


def describe_args(args: tuple[Any, ...], kwargs: dict[str, Any] | None = None,
                  names: tuple[str, ...] = ()) -> ArgSignature:
    """Build the readable :class:`ArgSignature` of a call (slow path only)."""
    infos = [_describe(names[i] if i < len(names) else f"arg{i}", a)
             for i, a in enumerate(args)]
    infos += [_describe(k, v) for k, v in sorted((kwargs or {}).items())]
    return ArgSignature(tuple(infos), signature_key(args, kwargs))


def _describe(name: str, a: Any) -> ArgInfo:
    t = type(a)
    kind = kind_of(t)
    lib = library(kind)
    if lib is not None:
        return ArgInfo(name, kind, t.__name__, **lib.describe(a))
    if kind is ArgKind.SCALAR:
        return ArgInfo(name, kind, t.__name__, type(a).__name__)
    return ArgInfo(name, kind, t.__name__, size=len(a) if hasattr(a, "__len__") else 1)
