"""Where NumPy keeps its own float64 loop of a ufunc (catalogue SEM030).

NumPy computes ``np.exp``, ``np.log``, ``np.tanh``, ``np.power``… with loops of its
own, vectorized and chosen per CPU when NumPy is imported (AVX-512 on the 2-core
machine), not with the C library's functions that compiled code calls: 958 of
20,000 ``np.exp(x[i])`` differed in the last bit. A scalar call runs the same loop
over one element (no difference in 20,000 calls of each function here against the
array form), so compiled code that calls that loop on one element computes NumPy's
value bit for bit.

A ufunc keeps its loops in the ``PyUFuncObject`` that ``numpy/ufuncobject.h``
declares (NumPy 1.x and 2.x alike): after the object header, ``nin``, ``nout``,
``nargs`` and ``identity`` (ints), then ``functions`` (the loops), ``data`` (each
loop's extra argument), ``ntypes`` (an int and a reserved one), ``name`` and
``types`` (``nargs`` type numbers per loop). :func:`float64_loop` reads them with
``ctypes`` and trusts what it read only where it agrees with what the ufunc says
of itself (``nin``, ``nout``, ``ntypes``, its name, its ``types`` strings): any
other layout gives None, and the function is declined as before.

No Numba here: the catalogue's detector asks :func:`float64_loop` at decoration,
and :mod:`.checked` builds the compiled call.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

__all__ = ["float64_loop", "loop_of", "Loop"]

_PTR = ctypes.sizeof(ctypes.c_void_p)
_INT = ctypes.sizeof(ctypes.c_int)
_HEAD = object.__basicsize__  # PyObject_HEAD: refcount and type
#: NumPy major versions whose ``ufuncobject.h`` declares the layout read below
_LAYOUT_KNOWN = (1, 2)


class Loop:
    """One loop of a ufunc (all float64, or all float32): ``nin`` inputs, one output,
    its address and its ``data`` argument (both plain integers)."""

    def __init__(self, name: str, nin: int, address: int, data: int):
        self.name, self.nin, self.address, self.data = name, nin, address, data

    def __repr__(self) -> str:
        return f"Loop({self.name!r}, nin={self.nin})"


_lock = threading.Lock()
_found: dict[tuple[str, str], Loop | None] = {}


def float64_loop(name: str) -> Loop | None:
    """NumPy's loop of ``np.<name>`` taking and giving float64 only (one or two
    inputs, one output), or None (no such ufunc or loop, or a layout not read)."""
    return loop_of(name, "d")


def loop_of(name: str, char: str) -> Loop | None:
    """NumPy's loop of ``np.<name>`` whose every argument has the type letter ``char``
    (``"d"`` float64, ``"f"`` float32), or None."""
    with _lock:
        if (name, char) not in _found:
            _found[name, char] = _read(name, char)
        return _found[name, char]


def _read(name: str, char: str) -> Loop | None:
    if int(np.__version__.split(".")[0]) not in _LAYOUT_KNOWN:
        return None  # a NumPy whose ufunc layout was not read here: decline, never guess
    ufunc = getattr(np, name, None)
    if not isinstance(ufunc, np.ufunc) or ufunc.nout != 1 or ufunc.nin not in (1, 2):
        return None
    want = char * ufunc.nin + "->" + char
    if want not in ufunc.types:
        return None
    try:
        return _from_object(ufunc, ufunc.types.index(want), np.dtype(char).num)
    except (ValueError, OSError):  # pragma: no cover - unreadable memory is a crash,
        return None                # not an exception; kept for odd ctypes builds


def _from_object(ufunc: np.ufunc, index: int, number: int) -> Loop | None:
    base = id(ufunc)
    nin, nout, nargs = (ctypes.c_int.from_address(base + _HEAD + k * _INT).value
                        for k in range(3))
    at = _HEAD + 4 * _INT  # nin, nout, nargs, identity
    functions = ctypes.c_void_p.from_address(base + at).value
    data = ctypes.c_void_p.from_address(base + at + _PTR).value
    ntypes = ctypes.c_int.from_address(base + at + 2 * _PTR).value
    name_at = ctypes.c_void_p.from_address(base + at + 2 * _PTR + 2 * _INT).value
    types_at = ctypes.c_void_p.from_address(base + at + 3 * _PTR + 2 * _INT).value
    if (nin, nout, nargs, ntypes) != (ufunc.nin, ufunc.nout, ufunc.nin + ufunc.nout,
                                      ufunc.ntypes) or not functions or not types_at:
        return None
    if name_at is None or ctypes.string_at(name_at).decode("ascii", "replace") != \
            ufunc.__name__:
        return None
    # every loop's type numbers must spell the ufunc's own ``types`` strings
    numbers = ctypes.string_at(types_at, ntypes * nargs)
    for k, text in enumerate(ufunc.types):
        for j, char in enumerate(text.replace("->", "")):
            if _number(char) not in (None, numbers[k * nargs + j]):
                return None
    if any(numbers[index * nargs + j] != number for j in range(nargs)):
        return None
    address = ctypes.c_void_p.from_address(functions + index * _PTR).value
    extra = ctypes.c_void_p.from_address(data + index * _PTR).value if data else None
    if not address:
        return None
    return Loop(ufunc.__name__, ufunc.nin, address, extra or 0)


def _number(char: str) -> int | None:
    """NumPy's type number of a ``types`` letter (None for one it cannot read)."""
    try:
        return np.dtype(char).num
    except TypeError:
        return None
