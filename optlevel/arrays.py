"""The one registry of array kinds: NumPy, CuPy and Torch, and the place a new
array library is added.

Each library is one :class:`ArrayLibrary` row: how to recognise its array type
(by the type's module and name, so looking at an argument never imports CuPy or
Torch), and what the rest of optlevel needs to ask of such an array: its
plan-cache key, its readable description, and a host copy. :func:`kind_of` answers
per type, cached, for the fast path.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ArgKind", "ArrayLibrary", "LIBRARIES", "ARRAY_KINDS", "DEVICE_KINDS", "kind_of",
           "array_kind", "library", "to_numpy", "host_copy", "size_class", "FLAG_MASK"]


class ArgKind(str, enum.Enum):
    """What an argument is, for the planner: an array of one library, or else."""

    NUMPY = "numpy"
    CUPY = "cupy"
    TORCH = "torch"
    SCALAR = "scalar"
    TUPLE = "tuple"
    LIST = "list"
    DICT = "dict"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


# C_CONTIGUOUS | F_CONTIGUOUS | ALIGNED | NOTSWAPPED | WRITEABLE: what compiled code cares
# about; OWNDATA is left out so a view and its base share a plan.
FLAG_MASK = 0x1 | 0x2 | 0x100 | 0x200 | 0x400


def size_class(size: int) -> int:
    """Size bucket: 0 for empty, then one bucket per factor of 16 elements."""
    return (size.bit_length() + 3) >> 2


def _layout(c: bool, f: bool) -> str:
    return "C" if c else ("F" if f else "A")


@dataclasses.dataclass(frozen=True)
class ArrayLibrary:
    """One array library. ``key`` is the array's plan-cache item (dtype, rank,
    layout, device, size class); ``describe`` its readable fields (type name, dtype,
    shape, layout, read-only, size, device); ``to_numpy`` one copy to the host."""

    kind: ArgKind
    module: str  # the root of its types' ``__module__``
    type_names: tuple[str, ...]
    key: Callable[[Any], tuple]
    describe: Callable[[Any], dict[str, Any]]
    to_numpy: Callable[[Any], np.ndarray]

    def owns(self, t: type) -> bool:
        if self.kind is ArgKind.NUMPY:
            return issubclass(t, np.ndarray)
        module = t.__module__ or ""
        return module.startswith(self.module) and t.__name__ in self.type_names


def _numpy_describe(a: Any) -> dict[str, Any]:
    return dict(dtype=str(a.dtype), shape=tuple(a.shape),
                layout=_layout(a.flags.c_contiguous, a.flags.f_contiguous),
                readonly=not a.flags.writeable, size=int(a.size))


def _cupy_describe(a: Any) -> dict[str, Any]:
    return dict(dtype=str(a.dtype), shape=tuple(a.shape),
                layout=_layout(a.flags.c_contiguous, a.flags.f_contiguous), readonly=False,
                size=int(a.size), device=f"cuda:{a.device.id}")


def _torch_describe(a: Any) -> dict[str, Any]:
    return dict(dtype=str(a.dtype).replace("torch.", ""), shape=tuple(a.shape),
                layout="C" if a.is_contiguous() else "A", readonly=False,
                size=int(a.numel()), device=str(a.device))


#: The array libraries optlevel knows; a new one is one more row.
LIBRARIES: tuple[ArrayLibrary, ...] = (
    ArrayLibrary(
        ArgKind.NUMPY, "numpy", ("ndarray",),
        # a subclass such as np.matrix or a masked array keeps its type in the key
        key=lambda a: (type(a), a.dtype, a.ndim, a.flags.num & FLAG_MASK, size_class(a.size)),
        describe=_numpy_describe, to_numpy=np.asarray),
    ArrayLibrary(
        ArgKind.CUPY, "cupy", ("ndarray",),
        key=lambda a: ("cupy", a.dtype, a.ndim, a.flags.c_contiguous, size_class(a.size)),
        describe=_cupy_describe, to_numpy=lambda a: a.get()),
    ArrayLibrary(
        ArgKind.TORCH, "torch", ("Tensor", "Parameter"),
        key=lambda a: ("torch", a.dtype, a.dim(), a.device.type, a.is_contiguous(),
                       size_class(a.numel())),
        describe=_torch_describe, to_numpy=lambda a: a.detach().cpu().numpy()),
)
ARRAY_KINDS = frozenset(lib.kind for lib in LIBRARIES)
DEVICE_KINDS = frozenset({ArgKind.CUPY, ArgKind.TORCH})
_BY_KIND = {lib.kind: lib for lib in LIBRARIES}

SCALAR_TYPES = frozenset({int, float, complex, bool, type(None), str}
                         | {t for t in np.sctypeDict.values() if issubclass(t, np.generic)})
_CONTAINERS = {tuple: ArgKind.TUPLE, list: ArgKind.LIST, dict: ArgKind.DICT}
# type → kind; grows by one entry per argument type seen, never by values
_KIND_BY_TYPE: dict[type, ArgKind] = {}


def kind_of(t: type) -> ArgKind:
    """The :class:`ArgKind` of values of type ``t`` (cached per type)."""
    kind = _KIND_BY_TYPE.get(t)
    if kind is None:
        kind = _KIND_BY_TYPE[t] = _classify(t)  # a racing thread writes the same value
    return kind


def _classify(t: type) -> ArgKind:
    for lib in LIBRARIES:
        if lib.owns(t):
            return lib.kind
    if t in SCALAR_TYPES:
        return ArgKind.SCALAR
    return _CONTAINERS.get(t, ArgKind.OTHER)


def library(kind: str) -> ArrayLibrary | None:
    """The :class:`ArrayLibrary` of an array kind, None for other kinds."""
    return _BY_KIND.get(kind)  # type: ignore[call-overload]


def array_kind(x: Any) -> ArgKind | None:
    """``x``'s array kind (NUMPY, CUPY, TORCH), or None for anything else."""
    kind = kind_of(type(x))
    return kind if kind in ARRAY_KINDS else None


def to_numpy(x: Any) -> np.ndarray:
    """One copy to the host for device arrays; NumPy arrays (and the rest, through
    ``np.asarray``) as they are."""
    lib = _BY_KIND.get(kind_of(type(x)))
    return lib.to_numpy(x) if lib is not None else np.asarray(x)


def host_copy(x: Any) -> Any:
    """``x`` with every device array copied to a NumPy one (in containers too)."""
    kind = kind_of(type(x))
    if kind in DEVICE_KINDS:
        return to_numpy(x)
    if kind in (ArgKind.TUPLE, ArgKind.LIST):
        return type(x)(host_copy(v) for v in x)
    if kind is ArgKind.DICT:
        return {k: host_copy(v) for k, v in x.items()}
    return x
