"""Fitting a call into the GPU's memory, before it starts.

:func:`plan_memory` predicts the device bytes a call needs (its host inputs, once on
the device, an output the size of the largest array, and the temporaries of the
operations that are not fused) and compares them with what the device has free
(including the pool's cached blocks and any pool limit). A call that fits runs whole;
one that does not runs chunk by chunk when the function is proven elementwise (each
chunk is independent), and otherwise is refused before anything is copied, so no
call is ever left half done. An out-of-memory error that still happens is handled in
:mod:`.call`: the pools are freed and the call runs on the CPU, with one warning.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["MemoryPlan", "plan_memory", "HEADROOM"]

#: the share of free memory a call may plan to use (the rest absorbs fragmentation)
HEADROOM = 0.8
#: temporaries counted at most this many times the largest array (CuPy frees them
#: as soon as Python drops them, so long chains do not hold every one)
_MAX_TEMPORARIES = 4


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """How a call fits: ``mode`` is ``"whole"``, ``"chunks"`` or ``"refuse"``."""

    mode: str
    need: int
    free: int | None
    reason: str = ""
    elems_per_chunk: int = 0


def plan_memory(lib: Any, host_bytes: int, largest_bytes: int, itemsize: int, fused: bool,
                ops: int, streamable: bool, chunk_elems: int) -> MemoryPlan:
    """Decide how a call with these arrays fits in ``lib``'s free device memory.

    Parameters
    ----------
    host_bytes : int
        Bytes of the host arrays that must be copied in.
    largest_bytes, itemsize : int
        The largest array argument's bytes and its element size.
    fused : bool
        One fused kernel (no temporaries) rather than one launch per operation.
    ops : int
        Array operations in the body (temporaries when not fused).
    streamable : bool
        The call can run chunk by chunk (elementwise, arrays of one shape).
    chunk_elems : int
        The chunk size streaming would use when everything fits.
    """
    temporaries = 0 if fused else min(max(ops - 1, 0), _MAX_TEMPORARIES) * largest_bytes
    need = host_bytes + largest_bytes + temporaries
    free = lib.free_bytes()
    if free is None or need <= HEADROOM * free:
        return MemoryPlan("whole", need, free, elems_per_chunk=chunk_elems)
    if streamable:
        # each chunk in flight holds its inputs and output; three are in flight
        per_elem = max(1, (host_bytes + largest_bytes) // max(1, largest_bytes // itemsize))
        fit = int(HEADROOM * free) // (3 * per_elem)
        if fit >= 1024:
            return MemoryPlan("chunks", need, free, elems_per_chunk=min(chunk_elems, fit))
    gib = 1 << 30
    return MemoryPlan("refuse", need, free,
                      f"it needs about {need / gib:.2f} GiB of GPU memory and "
                      f"{free / gib:.2f} GiB is free; only elementwise functions run "
                      "in chunks")
