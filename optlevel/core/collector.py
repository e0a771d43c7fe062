"""Python's cyclic garbage collector, paused around optlevel's own bursts of
short-lived objects: a Numba compile, and the unpickling and merging of a loop
split's effects (:mod:`optlevel.levels.parallel.iterhelp`).

A collection is triggered by the count of new container objects, and each one of
the older generations walks every object that survived before it: in a process that
has imported Numba, about 110,000 of them. Numba's compiler makes its IR, types and
LLVM wrappers as a stream of such objects: optlevel's import, decoration and first
call of a loop kernel (Numba imported before) set off 135 young collections, 13 of the
middle generation and 2 full ones, 42 ms of a 310 ms path (2-core machine), against
about 17 ms in ``numba.njit``'s first call. With the collector paused for the compile
alone, 28, 3 and 1: 21 ms. The objects that die in the compile are freed by reference
counting as before; the cycles among them wait for the first collection after it.
Memory does not pay for it: compiling five of those kernels (level 2) raised a fresh
process's peak resident size by 86 MB paused, 89-90 MB not.

Only optlevel's own work runs while the collector is paused (a compile; the
unpickling and merging of a split's effects), never the user's function, whose cycles
it must collect as usual. :func:`paused` leaves the collector as it
found it: one that was off (the user turned it off, or another pause is running in
another thread) stays off after it. One limit: a collector that another thread turns
off while a pause runs is on again at the pause's end (``gc`` keeps one switch, so the
pause cannot tell that thread's wish from its own).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused", "set_aside"]


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The block runs with the cyclic collector off; it is back on afterwards if it
    was on before."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextlib.contextmanager
def set_aside() -> Iterator[bool]:
    """In a level-3 worker process, around one piece: the objects that exist when the
    block starts (the piece's inputs, just unpickled) are left out of the collector's
    generations while it runs (``gc.freeze``), and put back, in the oldest, at its end
    (``gc.unfreeze``). The young collections that the piece's own new objects set off
    then do not walk every row of its inputs again (a stencil piece's 570 rows of 600
    floats: 1-2 ms a collection, one a call). ``gc.freeze`` also restarts the count
    that sets off a young collection, so the block ends with one over what the piece
    made (``gc.collect(0)``: a cycle it left is found as it would have been, at a cost
    of what is still young). Yields False, and changes nothing, where objects are
    frozen already (by someone else: their ``gc.unfreeze`` would be undone here) or
    the collector is off. Never in the caller's process: there it would age the
    user's young objects."""
    if gc.get_freeze_count() or not gc.isenabled():
        yield False
        return
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()
        if gc.isenabled():
            gc.collect(0)
