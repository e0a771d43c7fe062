"""The same memory allocator behaviour for every variant a bench times.

glibc's ``malloc`` gives big blocks back to the system as soon as the top of its
heap is free (``M_TRIM_THRESHOLD``, 128 KB to start with) and serves blocks above
a threshold that moves at run time (``M_MMAP_THRESHOLD``) from fresh mappings.
A NumPy function that makes a few temporaries of some hundred kilobytes then
pays page faults on every call, or on none, depending on where the arrays that
happen to be alive sit in the heap: two variants running the *same* function
differed by 1.26-1.40x (elementwise, 100K elements, plain against level 0) with
nothing but the heap layout between them. :func:`steady` pins both thresholds
(trim never; fresh mappings only for blocks over 32 MB, the most glibc allows),
so every variant finds the same warm heap; blocks over 32 MB are mapped afresh
for every variant alike. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["steady"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_NEVER_TRIM = 1 << 30
_MMAP_ABOVE = 32 * 1024 * 1024

_done: list[bool] = []


def steady() -> bool:
    """Pin glibc's trim and mmap thresholds for this process (once); True if pinned."""
    if _done:
        return _done[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # musl and others: no mallopt
            mallopt = None
        if mallopt is not None:
            ok = bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)) and bool(
                mallopt(_M_MMAP_THRESHOLD, _MMAP_ABOVE))
    _done.append(ok)
    return ok
