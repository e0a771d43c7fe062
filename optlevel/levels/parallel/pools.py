"""The persistent pools of level 3, started on first use and reused.

A thread pool (``concurrent.futures.ThreadPoolExecutor``) for NumPy code that
releases the GIL, and a process pool (:class:`.pipes.PipePool`: the calling thread
writes the tasks into one pipe, the workers take them from it; its processes spawned
without running the user's ``__main__`` script: :mod:`.start`) for Python code that
holds it. Only the standard library: the pools work wherever Python does. Each
worker process caps its BLAS, OpenMP and Numba threads at one (threadpoolctl) so a
pool of N workers uses N cores, and never starts level 3 itself. A pool whose worker
died is rebuilt (:meth:`ProcessPool.rebuild`); Ctrl-C kills the running workers
(:meth:`ProcessPool.kill`) rather than waiting for them.

The pools belong to optlevel's runtime owner: the first pool started registers
:func:`close_pools` with :meth:`~optlevel.core.runtime.Runtime.closer`, so
:func:`optlevel.core.runtime.shutdown` (and the exit hook) stops them.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ...core.runtime import RUNTIME
from ...errors import PerformanceWarning, warn_once
from . import runtime, worker
from .pipes import PipePool

__all__ = ["ThreadPool", "ProcessPool", "THREADS", "PROCESSES", "close_pools", "wait_all",
           "gather", "settle"]

log = logging.getLogger("optlevel")


class ThreadPool:
    """``size`` threads serving level 3; the calling thread helps, so a pool of
    ``workers - 1`` threads keeps ``workers`` cores busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._size = 0
        _FORKABLE.add(self)

    @property
    def running(self) -> bool:
        return self._executor is not None

    def forked(self) -> None:
        """In a child just forked: the executor's threads stayed in the parent (a task
        submitted to it would wait for ever), and a lock another thread held at the
        fork would never be released. Forget both; the next ``get`` starts threads
        here."""
        self._lock = threading.Lock()
        self._executor, self._size = None, 0

    def get(self, size: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None or self._size != size:
                if self._executor is not None:
                    self._executor.shutdown(wait=False)
                _closed_at_shutdown()
                self._executor = ThreadPoolExecutor(
                    max_workers=max(1, size), thread_name_prefix="optlevel-L3",
                    initializer=runtime.mark_worker_thread)
                self._size = size
            return self._executor

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor, self._size = None, 0


class ProcessPool:
    """``size`` worker processes, started once and reused across calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: PipePool | None = None
        self._size = 0
        self.starts = 0  # how many times a pool was started (tests read it)
        _FORKABLE.add(self)

    def forked(self) -> None:
        """In a child just forked: a lock another thread held at the fork would never
        be released. (The inherited pool itself refuses tasks here, and ``get``
        starts this process's own: :attr:`.PipePool.inherited`.)"""
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._executor is not None

    def get(self, size: int) -> PipePool:
        with self._lock:
            broken = self._executor is not None and (self._executor._broken
                                                     or self._executor.inherited)
            if self._executor is None or self._size != size or broken:
                self._drop(kill=broken)
                _closed_at_shutdown()
                self._executor = PipePool(max(1, size), _context(), worker.init_process)
                self._size = size
                self.starts += 1
            return self._executor

    def pids(self) -> list[int]:
        """Process ids of the workers."""
        executor = self._executor
        return [] if executor is None else [p.pid for p in executor.processes]

    def rebuild(self) -> None:
        """Drop a broken pool (its workers are killed); the next ``get`` starts a new one."""
        with self._lock:
            self._drop(kill=True)

    def kill(self) -> None:
        """Ctrl-C: stop the running pieces now, and drop the pool."""
        self.rebuild()

    def close(self) -> None:
        with self._lock:
            self._drop(kill=False)

    def _drop(self, kill: bool) -> None:
        executor, self._executor, self._size = self._executor, None, 0
        if executor is None:
            return
        if kill:  # (a forked child's inherited pool leaves its parent's workers alone)
            executor.kill_workers()
        executor.shutdown(wait=not kill, cancel_futures=True)


def _context() -> Any:
    from .start import context

    return context()


#: every pool of this process, told when it forks (:func:`_after_fork`)
_FORKABLE: weakref.WeakSet[ThreadPool | ProcessPool] = weakref.WeakSet()


def _after_fork() -> None:
    for pool in list(_FORKABLE):
        pool.forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

THREADS = ThreadPool()
PROCESSES = ProcessPool()


def close_pools() -> None:
    """Stop both pools (:func:`optlevel.core.runtime.shutdown`, at exit, or a backend's
    ``close()``); the next call that needs one starts it again."""
    THREADS.close()
    PROCESSES.close()


def _closed_at_shutdown() -> None:
    """Register :func:`close_pools` with the runtime owner (once: the name is the key),
    when a pool is first started rather than at import."""
    RUNTIME.closer("parallel.pools", close_pools)


def rebuild_after_death(name: str, exc: BaseException, first: bool, again: str) -> None:
    """A worker died during ``name``'s call: the process pool is rebuilt, and on the
    call's first attempt a warning says so and what runs ``again``."""
    PROCESSES.rebuild()
    if first:
        warn_once((name, "iterations", "worker died"),
                  f"{name}: a level-3 worker process died during the call ({exc}); the "
                  f"process pool was restarted and {again} again.", PerformanceWarning)


def wait_all(futures: list[Future]) -> list[Any]:
    """The futures' results in order; the first piece's exception (by position) is
    raised after every piece finished, so no piece is left running behind it."""
    results, errors = [], []
    for future in futures:
        try:
            results.append(future.result())
        except Exception as exc:  # a piece failed: keep collecting, raise the first below
            results.append(None)
            errors.append(exc)
    if errors:
        raise errors[0]
    return results


def gather(futures: list[Future]) -> tuple[list[Any], BaseException | None]:
    """What the pieces returned, in order, up to the first that raised (by position),
    and that piece's exception (a dead pool's, if any piece saw one), or None; every
    piece has ended when it returns."""
    returned: list[Any] = []
    failed: BaseException | None = None
    for future in futures:
        try:
            got = future.result()
        except Exception as exc:  # every piece still ends before the call goes on
            if failed is None or isinstance(exc, BrokenProcessPool):
                failed = exc
            continue
        if failed is None:
            returned.append(got)
    return returned, failed


def settle(futures: list[Future]) -> None:
    """Cancel the pieces that can be (the thread pool's not started yet; a process
    pool's piece, once written, cannot) and wait for the others (a call that gave up
    on them leaves none running behind it)."""
    for future in futures:
        future.cancel()
    wait(futures)
