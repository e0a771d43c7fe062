"""Running one split call on this machine: threads over blocks, or a process pool.

Threads (:func:`run_threads`) suit NumPy code, which releases the GIL in its
loops. The rows are cut into blocks sized to stay in a core's cache (temporaries
of one block are reused from the allocator instead of faulting in fresh pages,
which is what limits plain "one chunk per thread" to a fraction of the cores),
handed out one at a time to the pool's threads and the calling thread, and each
result is written into one preallocated output.

Processes (:func:`run_processes`) suit Python code that holds the GIL. Arrays go
through shared memory (:mod:`.shm`), results larger than 64 KB come back the
same way, in-place writes are copied back only once every piece succeeded. A
worker that dies takes the pool with it: the pool is rebuilt and the call retried
once, then run in this process (each with one warning).
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from ...errors import ConfigError, FallbackWarning, PerformanceWarning, warn_once
from . import pools, runtime, ship, worker
from .chunks import InexactSum, SplitCall, bounds, combine, join, take
from .shm import Segments

__all__ = ["run_threads", "run_processes"]


class _Sink:
    """Where the blocks' results go: one preallocated output, or a list of partials."""

    def __init__(self, call: SplitCall, nblocks: int):
        self.call = call
        self.partials: list[Any] = [None] * nblocks
        self.out: np.ndarray | None = None
        self.lock = threading.Lock()

    def put(self, block: int, lo: int, hi: int, result: Any) -> None:
        call = self.call
        if call.output not in ("rows", "join") or call.returns is not None:
            self.partials[block] = result
            return
        if type(result) is not np.ndarray or result.ndim <= call.out_axis:
            self.partials[block] = result  # joined generically (a hint's tuples, say)
            return
        if self.out is None:
            with self.lock:
                if self.out is None:
                    shape = list(result.shape)
                    shape[call.out_axis] = call.n
                    self.out = np.empty(shape, result.dtype)
        slot = (slice(None),) * call.out_axis + (slice(lo, hi),)
        target = self.out[slot]
        if target.shape != result.shape or self.out.dtype != result.dtype:
            raise ConfigError(f"{getattr(call.func, '__qualname__', 'the function')}: a piece "
                              f"of rows {lo}:{hi} returned shape {result.shape} "
                              f"{result.dtype}, which does not fit the joined result "
                              f"{self.out.shape} {self.out.dtype}; the function is not "
                              "independent along the split axis")
        target[...] = result
        self.partials[block] = True

    def result(self) -> Any:
        if self.out is not None and all(p is True for p in self.partials):
            return self.out
        if self.out is not None:  # mixed kinds: only a wrong split= hint gets here
            raise ConfigError("the pieces returned different kinds of results")
        return combine(self.call, self.partials)


def run_threads(call: SplitCall, workers: int, rows: int) -> Any:
    """Run ``call`` in blocks of ``rows`` rows on ``workers`` threads (this one included).

    A block that raises means the plain call: the blocks stop being handed out, the
    rows of the arrays the function writes in place are put back as each block found
    them (every block saves its own rows before it runs), and the call runs here from
    the start, so the exception, its message and the partial writes are plain
    Python's."""
    nblocks = -(-call.n // rows)
    if nblocks <= 1 or workers <= 1:
        return call.run_whole()
    sink = _Sink(call, nblocks)
    counter = itertools.count()
    failed = threading.Event()
    ran: list[int] = []  # the blocks that started
    copies = _SNAPSHOTS.take([call.arguments[name] for name in call.writes])

    def work() -> None:
        while not failed.is_set():
            block = next(counter)  # atomic under the GIL
            if block >= nblocks:
                return
            lo, hi = block * rows, min(call.n, (block + 1) * rows)
            _copy_rows(call, copies, lo, hi, back=False)
            ran.append(block)
            try:
                sink.put(block, lo, hi, call.run_piece(lo, hi))
            except Exception:  # the user's error: the plain call meets it (below)
                failed.set()

    helpers = min(workers, nblocks) - 1
    executor = pools.THREADS.get(max(1, workers - 1))
    futures = [executor.submit(work) for _ in range(helpers)]
    try:
        with runtime.as_worker():
            work()
        for future in futures:
            future.result()
    except BaseException:  # Ctrl-C in the caller: stop handing out blocks, then re-raise
        failed.set()
        for future in futures:
            future.cancel()
        for future in futures:
            if not future.cancelled():
                future.exception()
        raise
    try:
        if not failed.is_set():
            try:
                return sink.result()
            except InexactSum:  # the arrays as they were, then a level below runs it
                _put_back(call, ran, rows, copies)
                raise
        _put_back(call, ran, rows, copies)
        return call.run_whole()
    finally:
        _SNAPSHOTS.give(copies)


def _put_back(call: SplitCall, ran: list[int], rows: int, copies: list[np.ndarray]) -> None:
    """The rows the blocks in ``ran`` wrote, as they were before (from ``copies``)."""
    for block in ran:
        _copy_rows(call, copies, block * rows, min(call.n, (block + 1) * rows), back=True)


def _copy_rows(call: SplitCall, copies: list[np.ndarray], lo: int, hi: int,
               back: bool) -> None:
    """Rows ``[lo, hi)`` of the arrays the function writes in place, into ``copies``
    (before a block runs), or ``back`` from them."""
    for name, copy in zip(call.writes, copies):
        axis = call.split[name]
        saved, live = take(copy, axis, lo, hi), take(call.arguments[name], axis, lo, hi)
        if back:
            live[...] = saved
        else:
            saved[...] = live


class _Snapshots:
    """Arrays the threads backend copies an in-place function's rows into before each
    block runs, kept for the next call of the same shapes: a fresh 32 MB array per
    call faults in every page again (on 2 cores that took the in-place benchmark of
    ``benchmarks/inplace_threads.py`` from 18.8 ms to 20-26 ms; kept, to 19.9). Only
    arrays of at least :data:`LARGE` bytes are kept, :data:`KEPT_BYTES` in all, the
    latest first, each used by one call at a time."""

    KEPT_BYTES = 256 << 20
    LARGE = 1 << 20

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free: list[np.ndarray] = []

    def take(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for array in arrays:
            with self.lock:
                found = next((k for k, c in enumerate(self.free) if c.shape == array.shape
                              and c.dtype == array.dtype), None)
                copy = self.free.pop(found) if found is not None else None
            out.append(copy if copy is not None else np.empty(array.shape, array.dtype))
        return out

    def give(self, copies: list[np.ndarray]) -> None:
        if not copies:  # a function that writes nothing in place: no lock per call
            return
        with self.lock:
            for copy in copies:
                if self.LARGE <= copy.nbytes <= self.KEPT_BYTES:
                    self.free.insert(0, copy)
            total = 0
            for k, copy in enumerate(self.free):
                total += copy.nbytes
                if total > self.KEPT_BYTES:
                    del self.free[k:]
                    break


_SNAPSHOTS = _Snapshots()


def run_processes(call: SplitCall, workers: int, pieces: int) -> Any:
    """Run ``call`` on the process pool, retrying once if a worker dies, then here.

    Raises
    ------
    ship.ShipError
        When the function or an argument cannot be sent to the workers (the caller
        falls back with the reason).
    """
    blob = ship.dumps_function(call.func)
    name = getattr(call.func, "__qualname__", "function")
    for attempt in (1, 2):
        try:
            # a piece's exception (one plain pickle could not carry included) is met
            # again by the plain call, here (:func:`_run_processes_once`)
            return _run_processes_once(call, blob, workers, pieces)
        except BrokenProcessPool as exc:
            pools.PROCESSES.rebuild()
            if attempt == 1:
                warn_once((name, "worker died", id(call.func)),
                          f"{name}: a level-3 worker process died during the call ({exc}); "
                          "the process pool was restarted and the call run again.",
                          PerformanceWarning)
    warn_once((name, "worker died twice", id(call.func)),
              f"{name}: level-3 worker processes died twice during one call; it ran at "
              "level 0 in this process instead.", FallbackWarning)
    return call.run_whole()


def _run_processes_once(call: SplitCall, blob: bytes, workers: int, pieces: int) -> Any:
    executor = pools.PROCESSES.get(workers)
    ranges = bounds(call.n, pieces)
    with Segments() as segments:
        try:
            layout, packed = _layout(call, segments)
        except OSError as exc:  # /dev/shm too small (containers often give it 64 MB)
            raise ship.ShipError(f"the arguments do not fit in shared memory ({exc})") \
                from None
        outs = [segments.reserve() for _ in ranges]
        futures: list[Future] = []
        try:
            futures = [executor.submit(worker.run_piece, blob, call.positional, packed,
                                       lo, hi, out) for (lo, hi), out in zip(ranges, outs)]
            done, failed = pools.gather(futures)
        except KeyboardInterrupt:
            pools.PROCESSES.kill()  # the workers stop now; the segments go with `with`
            raise
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        if isinstance(failed, BrokenProcessPool):
            raise failed
        if failed is not None:
            # The user's error. Nothing has reached the caller's arrays yet, so the
            # plain call runs here from the start and meets it as plain Python does:
            # the same exception and message (a piece sees its rows from 0), the same
            # partial writes, the same warnings. Only a call that raises pays this.
            return call.run_whole()
        results = [(kind, value) for kind, value, _ in done]
        result = _assemble(call, results, ranges, segments)  # InexactSum: nothing changed
        for name in call.writes:  # every piece succeeded: now the caller's arrays change
            segments.read_into(layout[name][1][0], call.arguments[name])
        for _, _, said in done:  # the pieces' warnings, in the loop's order
            worker.reissue(said, call.func)
        return result


def _layout(call: SplitCall, segments: Segments) -> tuple[dict[str, Any], bytes]:
    """Each argument as a shared segment (split or large arrays) or a pickled value."""
    layout: dict[str, Any] = {}
    for name, value in call.arguments.items():
        if name in call.split:
            layout[name] = ("shm", segments.put(value), call.split[name], name in call.writes)
        elif type(value) is np.ndarray and value.nbytes >= worker.SHM_MIN_BYTES \
                and value.dtype.kind in "biufc":
            layout[name] = ("shm", segments.put(value), None, False)
        else:
            layout[name] = ("val", value)
    # The globals the function reads, as they are now (a worker must not see old ones).
    layout[worker.GLOBALS] = {name: _shared(value, segments)
                              for name, value in ship.current_globals(call.func).items()}
    return layout, ship.dumps_values(layout, "an argument or a global it reads")


def _shared(value: Any, segments: Segments) -> tuple:
    """A whole value for every piece: large arrays through shared memory (read-only)."""
    if type(value) is np.ndarray and value.nbytes >= worker.SHM_MIN_BYTES \
            and value.dtype.kind in "biufc":
        return ("shm", segments.put(value), None, False)
    return ("val", value)


def _assemble(call: SplitCall, results: list[tuple], ranges: list[tuple[int, int]],
              segments: Segments) -> Any:
    """The pieces' results, read from shared memory straight into the joined output."""
    if call.output in ("rows", "join") and call.returns is None and results \
            and all(kind == "shm" for kind, _ in results) and call.out_axis == 0:
        first = results[0][1]
        trailing, dtype = tuple(first[1][1:]), first[2]
        if all(spec[1][1:] == trailing and spec[2] == dtype and spec[1][0] == hi - lo
               for (_, spec), (lo, hi) in zip(results, ranges)):
            out = np.empty((call.n,) + trailing, np.dtype(dtype))
            for (_, spec), (lo, hi) in zip(results, ranges):
                segments.read_into(spec[0], out[lo:hi])
            return out
    values = []
    for kind, value in results:
        if kind == "shm":
            array = np.empty(value[1], np.dtype(value[2]))
            segments.read_into(value[0], array)
            value = array
        values.append(value)
    if call.output == "join":
        return join(values, call.out_axis, call.func)
    return combine(call, values)
