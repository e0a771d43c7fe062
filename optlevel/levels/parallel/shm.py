"""Arrays to and from worker processes through shared memory, never pickled copies.

A :class:`Segments` object holds the segments of one call and unlinks every one of
them when the call ends, however it ends (result, user exception, worker killed,
Ctrl-C): no segment outlives a call. Workers attach by name and build NumPy views
(:func:`attach`); a worker writes a large result into a segment whose name the
parent chose beforehand (:func:`reserve`), so the parent can remove it even if
the worker died half-way.

On Linux the parent writes and reads segments through their file in
``/dev/shm`` rather than a memory map, so its own resident memory does not grow by
the array's size (the pages live in the shared-memory file system instead):
shipping a 1 GB array costs the parent a 64 MB buffer at most, not another GB.
Elsewhere the segment's mapping is used.

``multiprocessing.shared_memory`` registers segments with the resource tracker
(which the worker processes share with the parent): each segment is registered
when created and unregistered when unlinked, exactly once, so the tracker never
warns, and cleans up after a parent that is killed outright.

The segments of calls still running belong to optlevel's runtime owner: the
first segment made registers :func:`unlink_live` with
:meth:`~optlevel.core.runtime.Runtime.closer`, so
:func:`optlevel.core.runtime.shutdown` (and the exit hook) unlinks whatever a call
interrupted at exit left behind.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any

import numpy as np

from ...core.runtime import RUNTIME

__all__ = ["Segments", "ArraySpec", "attach", "reserve_name", "PREFIX", "live_segments",
           "SHM_DIR", "unlink_live"]

#: Every segment optlevel makes starts with this (tests look for leftovers by it).
PREFIX = "olp"
SHM_DIR = Path("/dev/shm")
_BLOCK = 64 << 20  # bytes copied at a time through the segment's file
_counter = itertools.count()
_counter_lock = threading.Lock()

#: (segment name, shape, dtype string)
ArraySpec = tuple[str, tuple[int, ...], str]


def reserve_name() -> str:
    """A fresh segment name (≤ 30 characters, as macOS requires)."""
    with _counter_lock:
        k = next(_counter)
    return f"{PREFIX}{os.getpid() % 100000}_{k}_{secrets.token_hex(3)}"


class _Live:
    """Names of this process's segments whose call has not ended yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: set[str] = set()
        self.registered = False

    def add(self, name: str) -> None:
        with self.lock:
            self.names.add(name)
            first, self.registered = not self.registered, True
        if first:  # the first segment: shutdown unlinks those a call left behind
            RUNTIME.closer("parallel.shm", unlink_live)

    def discard(self, names: list[str]) -> None:
        with self.lock:
            self.names.difference_update(names)

    def take(self) -> list[str]:
        with self.lock:
            names, self.names = sorted(self.names), set()
        return names


_LIVE = _Live()


def unlink_live() -> None:
    """Unlink every segment of a call that has not ended (registered with the
    runtime owner's shutdown when the first segment is made)."""
    _unlink(_LIVE.take())


def _file(name: str) -> Path | None:
    path = SHM_DIR / name
    return path if path.exists() else None


class Segments:
    """The shared-memory segments of one call; all unlinked by :meth:`close`."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __enter__(self) -> Segments:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def reserve(self) -> str:
        """A name for a segment a worker will create; removed with the others."""
        name = reserve_name()
        self.names.append(name)
        _LIVE.add(name)
        return name

    def put(self, array: np.ndarray) -> ArraySpec:
        """Copy ``array`` into a new segment (C order); return its spec."""
        name = self.reserve()
        seg = shared_memory.SharedMemory(name=name, create=True, size=max(1, array.nbytes))
        try:
            _fill(seg, array)
        finally:
            seg.close()
        return name, tuple(array.shape), array.dtype.str

    def read_into(self, name: str, out: np.ndarray) -> None:
        """Copy segment ``name`` (C order, ``out``'s size) into ``out``."""
        path = _file(name)
        target = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
        if path is not None:
            with open(path, "rb") as fh:
                _read_exact(fh, target.reshape(-1).view(np.uint8).data)
        else:
            seg = shared_memory.SharedMemory(name=name)
            try:
                src = np.ndarray(out.shape, out.dtype, buffer=seg.buf)
                target[...] = src
                del src
            finally:
                seg.close()
        if target is not out:
            out[...] = target

    def close(self) -> None:
        """Unlink every segment of this call (ignoring those never created)."""
        names, self.names = self.names, []
        _unlink(names)
        _LIVE.discard(names)


def _unlink(names: list[str]) -> None:
    """Unlink the segments called ``names`` (ignoring those never created)."""
    for name in names:
        try:
            seg = shared_memory.SharedMemory(name=name)
        except FileNotFoundError:
            continue
        seg.close()
        try:
            seg.unlink()
        except FileNotFoundError:  # removed in between: nothing left to do
            pass


def _fill(seg: shared_memory.SharedMemory, array: np.ndarray) -> None:
    """Copy ``array`` (C order) into the new segment ``seg``: through its file where
    there is one (the writer's memory does not grow), else through its mapping."""
    path = _file(seg.name.lstrip("/"))
    if path is not None:
        _write_file(path, array)
        return
    view = np.ndarray(array.shape, array.dtype, buffer=seg.buf)
    view[...] = array
    del view


def _write_file(path: Path, array: np.ndarray) -> None:
    """Write ``array`` in C order through the segment's file, a block at a time."""
    if array.size == 0:
        return
    flat_rows = array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(-1, 1)
    row_bytes = max(1, flat_rows.shape[1] * array.itemsize)
    step = max(1, _BLOCK // row_bytes)
    with open(path, "r+b") as fh:
        for lo in range(0, flat_rows.shape[0], step):
            block = np.ascontiguousarray(flat_rows[lo:lo + step])
            fh.write(block.reshape(-1).view(np.uint8).data)


def _read_exact(fh: Any, buf: memoryview) -> None:
    done = 0
    while done < len(buf):
        got = fh.readinto(buf[done:done + _BLOCK])
        if not got:
            raise OSError("shared-memory segment is shorter than expected")
        done += got


class Attached:
    """Segments a worker attached to for one piece; closed by :meth:`close`."""

    _stuck: list[Any] = []  # mappings a user's function still references: kept, not closed

    def __init__(self) -> None:
        self.segments: list[shared_memory.SharedMemory] = []

    def array(self, spec: ArraySpec, writable: bool) -> np.ndarray:
        name, shape, dtype = spec
        seg = shared_memory.SharedMemory(name=name)
        self.segments.append(seg)
        view = np.ndarray(shape, np.dtype(dtype), buffer=seg.buf)
        view.flags.writeable = writable
        return view

    def close(self) -> None:
        for seg in self.segments:
            try:
                seg.close()
            except BufferError:  # the function kept a view: leave the mapping, not the name
                Attached._stuck.append(seg)
        self.segments = []


def attach() -> Attached:
    return Attached()


def write_result(name: str, array: np.ndarray) -> ArraySpec:
    """In a worker: put ``array`` into a new segment called ``name`` (the parent unlinks).

    Raises
    ------
    OSError
        When ``/dev/shm`` has no room for it (written through the file, so a full
        file system is an error here, not a crash on a mapped page).
    """
    seg = shared_memory.SharedMemory(name=name, create=True, size=max(1, array.nbytes))
    try:
        _fill(seg, array)
    except OSError:
        seg.close()
        seg.unlink()
        raise
    seg.close()
    return name, tuple(array.shape), array.dtype.str


def live_segments(pid: int | None = None) -> list[str]:
    """optlevel's segments still in ``/dev/shm`` (made by process ``pid``, by default
    this one); for tests, empty where there is no ``/dev/shm``."""
    if not SHM_DIR.is_dir():
        return []
    prefix = f"{PREFIX}{(os.getpid() if pid is None else pid) % 100000}_"
    return sorted(p.name for p in SHM_DIR.iterdir() if p.name.startswith(prefix))
