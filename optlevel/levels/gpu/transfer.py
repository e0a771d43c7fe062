"""Moving host arrays to and from a CuPy device fast, and streaming elementwise work.

Measured on the H100 machine (benchmarks/gpu_explore.py): pageable copies run at
7.5-8 GB/s in and 2.3-2.8 GB/s out, pinned ones at 54-55 GB/s both ways; one
thread copies pageable→pinned at 8-11 GB/s, sixteen at 35-49 GB/s; allocating
pinned memory costs 0.6 s per 800 MB and touching fresh pages 4.5-4.9 GB/s. So:

- inputs go through a ring of pinned staging slots allocated once and reused by
  every call: worker threads copy chunk *k* into a free slot while the copy engine
  sends chunk *k-1* on its own stream;
- outputs land in pinned host arrays handed out by :class:`PinnedPool` (one DMA and
  no further copy: the array the user gets *is* the DMA target); a block comes back
  to the pool when the last array viewing it dies. Past the pool's budget, outputs
  go through the staging ring into ordinary NumPy arrays;
- a function proven elementwise runs chunk by chunk (:meth:`Engine.stream`), so
  copies in, the kernel and copies out of different chunks overlap, and an array
  larger than the GPU's free memory still runs.
"""

from __future__ import annotations

import collections
import ctypes
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ...arrays import ArgKind, kind_of

__all__ = ["Engine", "PinnedPool", "CHUNK_BYTES", "SMALL_BYTES", "is_host_array"]

#: bytes per staging slot and per streamed chunk
CHUNK_BYTES = 8 << 20
#: arrays below this go by one pageable copy: latency, not bandwidth, matters there
SMALL_BYTES = 256 << 10
_SLOTS = 24  # 192 MB of pinned staging, allocated on first use and kept


def is_host_array(x: Any) -> bool:
    """Is ``x`` a NumPy array (to copy in), rather than a device array or a scalar?"""
    return kind_of(type(x)) is ArgKind.NUMPY


def _round_up(n: int, to: int = 1 << 20) -> int:
    return max(to, (n + to - 1) // to * to)


class PinnedPool:
    """Pinned host blocks for results, reused once the arrays viewing them are gone.

    ``budget`` caps the bytes of pinned memory the pool ever holds (pinned pages
    cannot be swapped, so the rest of the machine loses them).
    """

    def __init__(self, cupy: Any, budget: int):
        self.cupy = cupy
        self.budget = budget
        self.held = 0
        self.free: dict[int, list[Any]] = collections.defaultdict(list)
        self.lock = threading.Lock()

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """A C-ordered array in pinned memory, or None when the budget is spent."""
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        size = _round_up(nbytes)
        with self.lock:
            blocks = self.free.get(size)
            mem = blocks.pop() if blocks else None
            if mem is None:
                if self.held + size > self.budget:
                    return None
                self.held += size
        if mem is None:
            try:
                mem = self.cupy.cuda.PinnedMemory(size)
            except self.cupy.cuda.runtime.CUDARuntimeError:
                with self.lock:
                    self.held -= size
                return None
        holder = _holder(mem.ptr, size)
        weakref.finalize(holder, self._give_back, size, mem)
        return np.frombuffer(holder, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize) \
            .reshape(shape)

    def _give_back(self, size: int, mem: Any) -> None:
        with self.lock:
            self.free[size].append(mem)

    def release(self) -> None:
        """Let go of the free blocks (blocks still viewed come back to nobody)."""
        with self.lock:
            for size, blocks in self.free.items():
                self.held -= size * len(blocks)
            self.free.clear()


def _holder(ptr: int, size: int) -> Any:
    """A buffer object over ``size`` bytes at ``ptr`` that weak references can watch
    (NumPy views of an array keep the array's buffer object alive)."""
    kind: Any = type("PinnedBlock", (ctypes.c_ubyte * size,), {})
    return kind.from_address(ptr)


class Engine:
    """Streams, staging slots, worker threads and the result pool of one device."""

    def __init__(self, cupy: Any):
        self.cupy = cupy
        self.h2d = cupy.cuda.Stream(non_blocking=True)
        self.d2h = cupy.cuda.Stream(non_blocking=True)
        # the kernels run on the caller's current stream, which waits for our copies
        self._slot_mem = [cupy.cuda.PinnedMemory(CHUNK_BYTES) for _ in range(_SLOTS)]
        self.slots = [np.frombuffer(_holder(m.ptr, CHUNK_BYTES), np.uint8)
                      for m in self._slot_mem]
        self.slot_done: list[Any] = [None] * _SLOTS
        # one thread copies pageable→pinned at 8-11 GB/s, sixteen at 35-49 GB/s
        self.pool = ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1),
                                       thread_name_prefix="optlevel-gpu-copy")
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") \
            if hasattr(os, "sysconf") else 8 << 30
        self.results = PinnedPool(cupy, budget=ram // 8)
        self.lock = threading.Lock()  # one call at a time uses the slots

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.results.release()

    # --- whole arrays ------------------------------------------------------------------

    def upload(self, host: np.ndarray, compute: Any) -> Any:
        """A device copy of ``host``; the stream ``compute`` waits for it."""
        cp = self.cupy
        host = np.ascontiguousarray(host)
        with compute:
            dev = cp.empty(host.shape, host.dtype)
        if host.nbytes < SMALL_BYTES:
            dev.set(host, stream=compute)
            return dev
        with self.lock:
            self._staged_in(host.reshape(-1).view(np.uint8), dev.data)
            compute.wait_event(self.h2d.record())
        return dev

    def download(self, dev: Any, compute: Any, out: np.ndarray | None = None) -> np.ndarray:
        """``dev`` on the host: in ``out`` (a copy-back) or in a new array, pinned
        when the pool has room. Waits for the compute stream first."""
        cp = self.cupy
        with compute:
            dev = cp.ascontiguousarray(dev)
        if out is None:
            out = self.results.empty(dev.shape, dev.dtype)
            pinned = out is not None
            if out is None:
                out = np.empty(dev.shape, dev.dtype)
        else:
            pinned = False
        if out.nbytes == 0:
            return out
        self.d2h.wait_event(compute.record())
        target = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
        if pinned:
            dev.data.copy_to_host_async(target.ctypes.data, target.nbytes, self.d2h)
            self.d2h.synchronize()
        elif target.nbytes < SMALL_BYTES:
            dev.get(stream=self.d2h, out=target)
            self.d2h.synchronize()
        else:
            with self.lock:
                self._staged_out(dev.data, target.reshape(-1).view(np.uint8))
        if target is not out:
            out[...] = target
        return out

    def _staged_in(self, src: np.ndarray, dst: Any,
                   marks: list[int] | None = None,
                   on_mark: Callable[[int], None] | None = None) -> None:
        """Copy host bytes ``src`` to device memory ``dst`` through the pinned slots.

        Pieces are small enough that every worker thread has one (a single thread
        copies at a fifth of what sixteen do). ``on_mark(i)`` is called once the
        bytes up to ``marks[i]`` are on their way (the caller records an event)."""
        workers = self.pool._max_workers
        piece = min(CHUNK_BYTES, max(1 << 20, -(-src.nbytes // workers)))
        marks = list(marks or [])
        pending: collections.deque[tuple[int, int, int, Future]] = collections.deque()
        slot = 0
        for start in range(0, src.nbytes, piece):
            while pending and (len(pending) == _SLOTS or pending[0][3].done()):
                self._send(pending.popleft(), dst, marks, on_mark)
            stop = min(start + piece, src.nbytes)
            fut = self.pool.submit(self._fill, slot, src[start:stop])
            pending.append((slot, start, stop - start, fut))
            slot = (slot + 1) % _SLOTS
        while pending:
            self._send(pending.popleft(), dst, marks, on_mark)

    def _fill(self, slot: int, chunk: np.ndarray) -> None:
        done = self.slot_done[slot]
        if done is not None:
            done.synchronize()  # the slot's previous chunk has left
        np.copyto(self.slots[slot][:chunk.nbytes], chunk)

    def _send(self, item: tuple[int, int, int, Future], dst: Any,
              marks: list[int] | None = None,
              on_mark: Callable[[int], None] | None = None) -> None:
        slot, start, nbytes, fut = item
        fut.result()
        (dst + start).copy_from_host_async(self.slots[slot].ctypes.data, nbytes, self.h2d)
        self.slot_done[slot] = self.h2d.record()
        while marks and on_mark is not None and start + nbytes >= marks[0]:
            marks.pop(0)
            on_mark(start + nbytes)

    def _staged_out(self, src: Any, dst: np.ndarray) -> None:
        """Copy device memory ``src`` to host bytes ``dst`` through the pinned slots."""
        pending: collections.deque[Future] = collections.deque()
        for start in range(0, dst.nbytes, CHUNK_BYTES):
            slot = (start // CHUNK_BYTES) % _SLOTS
            if len(pending) == _SLOTS:
                pending.popleft().result()  # that slot's bytes are in dst: reuse it
            stop = min(start + CHUNK_BYTES, dst.nbytes)
            (src + start).copy_to_host_async(self.slots[slot].ctypes.data, stop - start,
                                             self.d2h)
            event = self.d2h.record()
            pending.append(self.pool.submit(self._drain, event, slot, dst[start:stop]))
        for fut in pending:
            fut.result()
        for slot in range(_SLOTS):
            self.slot_done[slot] = None

    def _drain(self, event: Any, slot: int, chunk: np.ndarray) -> None:
        event.synchronize()
        np.copyto(chunk, self.slots[slot][:chunk.nbytes])

    # --- elementwise, chunk by chunk -------------------------------------------------------

    def stream(self, kernel: Callable[..., Any], args: list[Any], shape: tuple[int, ...],
               elems_per_chunk: int, compute: Any, fits: bool = True) -> np.ndarray:
        """Run the elementwise ``kernel`` over host arrays of one ``shape`` chunk by
        chunk (scalars in ``args`` are passed as they are); the result on the host.

        When the arrays ``fits`` in device memory, a second thread sends every chunk
        in through the staging slots while this one launches each chunk's kernel as
        soon as its bytes have arrived and sends its result straight into the pinned
        output; otherwise device buffers are made per chunk and at most a few chunks
        are on the device at once."""
        size = int(np.prod(shape, dtype=np.int64))
        flats = [a.reshape(-1) if is_host_array(a) else a for a in args]
        starts = list(range(0, size, elems_per_chunk))
        with self.lock:
            if fits:
                return self._stream_resident(kernel, flats, size, starts,
                                             compute).reshape(shape)
            return self._stream_chunks(kernel, flats, shape, size, starts, compute)

    def stream_rows(self, kernel: Callable[..., Any], args: list[Any], n_rows: int,
                    rows_per_chunk: int, compute: Any, fits: bool = True) -> np.ndarray:
        """Like :meth:`stream`, for a function proven independent along axis 0 of the
        host arrays in ``args`` (the other arguments are already on the device): its
        result's rows are the rows of its pieces' results."""
        starts = list(range(0, n_rows, rows_per_chunk))
        with self.lock:
            if fits:
                return self._stream_resident(kernel, args, n_rows, starts, compute)
            return self._stream_chunks(kernel, args, (n_rows,), n_rows, starts, compute)

    def _stream_resident(self, kernel: Callable[..., Any], flats: list[Any], size: int,
                         starts: list[int], compute: Any) -> np.ndarray:
        cp = self.cupy
        with compute:
            devs = [cp.empty(a.shape, a.dtype) if is_host_array(a) else a
                    for a in flats]
        arrived: list[Any] = [None] * len(starts)
        ready = [threading.Event() for _ in starts]
        failed: list[BaseException] = []

        def send_all() -> None:
            try:
                arrays = [(a, d) for a, d in zip(flats, devs) if is_host_array(a)]
                for j, (a, d) in enumerate(arrays):
                    last = j == len(arrays) - 1
                    row = a.nbytes // max(1, a.shape[0])
                    ends = [(starts[c] + len_of(c)) * row for c in range(len(starts))]
                    done = iter(range(len(starts)))

                    def mark(_: int, last: bool = last, done: Any = done) -> None:
                        c = next(done)
                        if last:  # every array's bytes of chunk c are on their way
                            arrived[c] = self.h2d.record()
                            ready[c].set()
                    self._staged_in(a.reshape(-1).view(np.uint8), d.data, ends, mark)
            except BaseException as exc:  # handed to the caller's thread below
                failed.append(exc)
                for event in ready:
                    event.set()

        def len_of(c: int) -> int:
            return (starts[c + 1] if c + 1 < len(starts) else size) - starts[c]

        sender = threading.Thread(target=send_all, name="optlevel-gpu-send", daemon=True)
        sender.start()
        out: np.ndarray | None = None
        pieces = []
        try:
            for c, start in enumerate(starts):
                ready[c].wait()
                if failed:
                    raise failed[0]
                stop = start + len_of(c)
                compute.wait_event(arrived[c])
                with compute:
                    piece = cp.ascontiguousarray(kernel(*[
                        d[start:stop] if is_host_array(a) else d
                        for a, d in zip(flats, devs)]))
                _check_piece(piece, stop - start)
                if out is None:
                    out = self._result_array((size,) + piece.shape[1:], piece.dtype)
                    if not _is_pinned(out, self.results):
                        sender.join()  # the staging slots carry the result out: wait
                self.d2h.wait_event(compute.record())
                self._piece_out(piece, out[start:stop])
                pieces.append(piece)  # alive until its copy out is done
            self.d2h.synchronize()
        finally:
            sender.join()
        assert out is not None  # size > 0 is checked by the caller
        return out

    def _stream_chunks(self, kernel: Callable[..., Any], flats: list[Any],
                       shape: tuple[int, ...], size: int, starts: list[int],
                       compute: Any) -> np.ndarray:
        cp = self.cupy
        out: np.ndarray | None = None
        in_flight: collections.deque[tuple[Any, list[Any]]] = collections.deque()
        for start in starts:
            stop = min(start + (starts[1] if len(starts) > 1 else size), size)
            dev_args = []
            for a in flats:
                if is_host_array(a):
                    with compute:
                        d = cp.empty(a[start:stop].shape, a.dtype)
                    self._staged_in(a[start:stop].reshape(-1).view(np.uint8), d.data)
                    dev_args.append(d)
                else:
                    dev_args.append(a)
            compute.wait_event(self.h2d.record())
            with compute:
                piece = cp.ascontiguousarray(kernel(*dev_args))
            _check_piece(piece, stop - start)
            if out is None:
                out = self._result_array((size,) + piece.shape[1:], piece.dtype)
            self.d2h.wait_event(compute.record())
            self._piece_out(piece, out[start:stop])
            in_flight.append((self.d2h.record(), dev_args + [piece]))
            while len(in_flight) > 2:  # bound device memory to a few chunks
                event, _ = in_flight.popleft()
                event.synchronize()
        self.d2h.synchronize()
        assert out is not None
        return out.reshape(shape + out.shape[1:]) if len(shape) > 1 else out

    def _result_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        out = self.results.empty(shape, dtype)
        return out if out is not None else np.empty(shape, dtype)

    def _piece_out(self, piece: Any, target: np.ndarray) -> None:
        """Send one chunk's result to its place in the host output."""
        if _is_pinned(target, self.results):
            piece.data.copy_to_host_async(target.ctypes.data, piece.nbytes, self.d2h)
        else:
            self._staged_out(piece.data, target.reshape(-1).view(np.uint8))


def _check_piece(piece: Any, n: int) -> None:
    shape = getattr(piece, "shape", None)
    if not shape or shape[0] != n:
        raise ValueError("a piece's result does not have one row per input row")


def _is_pinned(target: np.ndarray, pool: PinnedPool) -> bool:
    base = target.base
    while isinstance(base, np.ndarray):
        base = base.base
    return type(base).__name__ == "PinnedBlock"
