"""Level 3's process pool: each worker process on its own pipe, fed from the calling
thread.

``concurrent.futures.ProcessPoolExecutor`` hands every task across three threads of
the caller's process: ``submit`` wakes its manager thread through a pipe, the manager
moves the task to the call queue, whose feeder thread pickles and writes it; each
result comes back through the manager thread again. With 16 workers and 64 pieces a
call, those hand-offs cost this process 2.5 ms of the calling thread's time, 4.5 ms of
the manager's and 2 ms of the feeder's on a row-wise product whose pieces carry a few
rows each (2 cores, ``benchmarks/loop_splits.py``'s rowwise N=128, 9.7 ms a call in
all): on 16 cores that is a fixed cost the size of a worker's whole piece.

Here :meth:`PipePool.submit` pickles the task in the calling thread and writes it
straight to an idle worker's pipe, or queues it while every worker is busy; one reader
thread waits on all the pipes, unpickles each result into its future and writes the
worker's next queued task. A worker holds at most one task, so a write never waits on
a worker that is itself writing a result.

The futures are :class:`concurrent.futures.Future`: ``result``, ``wait``,
``as_completed`` and ``cancel`` behave as with the executor. A worker that dies breaks
the pool: its task and every queued one fail with ``BrokenProcessPool``, and so does
every later ``submit`` (:class:`.pools.ProcessPool` then starts a new pool), as the
executor does. A task whose arguments cannot be pickled fails in its future, not in
``submit``, as with the executor.

A process forked from the caller's inherits the pool's pipes but not its reader thread
nor its workers: there the pool refuses tasks (``BrokenProcessPool``, and
:class:`.pools.ProcessPool` starts the child a pool of its own), and shutting it down,
at the child's exit too, leaves the parent's workers alone.
"""

from __future__ import annotations

import os
import pickle
import threading
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import util
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

__all__ = ["PipePool", "serve"]

#: The message that stops a worker (a pickle is never empty).
_STOP = b""


class PipePool:
    """``workers`` processes started from ``context``, each running ``initializer``
    once and then the tasks it is sent, one at a time."""

    def __init__(self, workers: int, context: Any,
                 initializer: Callable[[], None] | None = None):
        self._lock = threading.Lock()
        self._pid = os.getpid()  # the process whose workers these are
        self._conns: list[Connection] = []
        self._sending = [threading.Lock() for _ in range(workers)]
        self.processes: list[Any] = []  # worker k's process
        for k in range(workers):
            mine, theirs = context.Pipe(duplex=True)
            process = context.Process(target=serve, args=(theirs, initializer),
                                      name=f"optlevel-L3-{k}")
            process.start()
            theirs.close()  # the worker's end lives in the worker: its death reads as EOF
            self._conns.append(mine)
            self.processes.append(process)
        self._idle = list(range(workers - 1, -1, -1))
        self._busy: dict[int, Future] = {}
        self._queued: deque[tuple[Future, Any]] = deque()
        self._live = set(range(workers))
        self._broken: str | bool = False
        self._shutdown = False
        self._wake_r, self._wake_w = context.Pipe(duplex=False)
        self._reader = threading.Thread(target=self._read, name="optlevel-L3-results",
                                        daemon=True)
        self._reader.start()
        # multiprocessing joins every live child at exit, before atexit's later hooks
        # might close this pool: its finalizers of priority >= 0 run before that join
        # (and only in the process that made them, not in a forked child)
        util.Finalize(self, _stop_all, args=(self._conns, self._sending), exitpriority=10)

    @property
    def inherited(self) -> bool:
        """This process was forked from the pool's: the workers are not its own."""
        return os.getpid() != self._pid

    # -- the caller's side ---------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            blob = ForkingPickler.dumps((fn, args, kwargs))
        except Exception as exc:  # as the executor does: the task's own failure
            future.set_exception(exc)
            return future
        with self._lock:
            if self.inherited:
                raise BrokenProcessPool(f"this pool's workers belong to process {self._pid}, "
                                        "which this process was forked from")
            if self._broken:
                raise BrokenProcessPool(self._broken)
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if not self._idle:
                self._queued.append((future, blob))
                return future
            k = self._idle.pop()
            future.set_running_or_notify_cancel()
            self._busy[k] = future
        self._send(k, blob)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers once their tasks end (with ``wait``, after every task
        submitted; ``cancel_futures`` cancels the queued ones first). In a forked
        child, only this copy is closed."""
        with self._lock:
            self._shutdown = True
            if self.inherited:
                return
            if cancel_futures:
                for future, _ in self._queued:
                    future.cancel()
                self._queued.clear()
            pending = list(self._busy.values()) + [f for f, _ in self._queued]
        if wait:
            wait_futures(pending)
        _stop_all(self._conns, self._sending)
        self._wake_w.send_bytes(b"1")
        if wait:
            for process in self.processes:
                process.join()
            self._reader.join()

    def kill_workers(self) -> None:
        """Kill every worker now (Ctrl-C, a broken pool): their tasks fail."""
        if self.inherited:
            return
        for process in self.processes:
            try:
                process.kill()
            except (OSError, ValueError, AttributeError):  # already gone
                pass
        for process in self.processes:
            process.join(timeout=5.0)

    # -- the pipes -----------------------------------------------------------------
    def _send(self, k: int, blob: Any) -> None:
        try:
            with self._sending[k]:
                self._conns[k].send_bytes(blob)
        except (OSError, ValueError) as exc:  # the worker is gone (or its pipe closed)
            self._break(f"a worker process ({self.processes[k].pid}) could not be sent its "
                        f"task: {exc}")
        except BaseException:  # Ctrl-C in the middle of a write: that pipe's framing is
            self._break("a task's write to a worker was interrupted")  # lost: a new pool
            raise

    def _read(self) -> None:
        try:
            self._read_all()
        except BaseException as exc:  # noqa: BLE001 - no future may wait on a dead reader
            self._break(f"the pool's reader thread failed: {type(exc).__name__}: {exc}")

    def _read_all(self) -> None:
        index = {id(conn): k for k, conn in enumerate(self._conns)}
        while True:
            with self._lock:
                live = [self._conns[k] for k in self._live]
                if not live and self._shutdown:
                    return
            for conn in wait([*live, self._wake_r]):
                if conn is self._wake_r:
                    self._wake_r.recv_bytes()
                    continue
                self._received(index[id(conn)])

    def _received(self, k: int) -> None:
        conn = self._conns[k]
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            with self._lock:
                self._live.discard(k)
                expected = self._shutdown and k not in self._busy
            conn.close()
            if not expected:
                self._break(f"a worker process ({self.processes[k].pid}) ended abruptly "
                            f"(exit code {self.processes[k].exitcode})")
            return
        # the worker's next task first, then this result: this one thread serves every
        # worker, and a result to unpickle before the write kept each waiting worker
        # idle for it (a word count's piece, 16 workers: a 10 KB result, a 143 KB task)
        with self._lock:
            future = self._busy.pop(k, None)  # None: the pool broke, its future failed
            following = None if self._broken else self._next_for(k)
        if following is not None:
            self._send(k, following)
        try:
            ok, value = pickle.loads(data)
        except Exception as exc:  # a result or an exception that cannot be rebuilt here
            ok, value = False, exc
        del data
        if future is not None:
            _settle(future, ok, value)

    def _next_for(self, k: int) -> Any:
        """Worker ``k``'s next queued task (under the lock), or None: it is idle."""
        while self._queued:
            future, blob = self._queued.popleft()
            if future.set_running_or_notify_cancel():
                self._busy[k] = future
                return blob
        self._idle.append(k)
        return None

    def _break(self, why: str) -> None:
        with self._lock:
            if not self._broken:
                self._broken = why
            failed = list(self._busy.values()) + [f for f, _ in self._queued]
            self._busy.clear()
            self._queued.clear()
        for future in failed:
            _settle(future, False, BrokenProcessPool(why))


def _stop_all(conns: list[Connection], sending: list[threading.Lock]) -> None:
    for conn, lock in zip(conns, sending):
        try:
            with lock:
                conn.send_bytes(_STOP)
        except (OSError, ValueError):  # gone already
            pass


def _settle(future: Future, ok: bool, value: Any) -> None:
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except InvalidStateError:  # cancelled meanwhile
        pass


# -- the worker's side -----------------------------------------------------------------
class _RemoteTraceback(Exception):
    def __str__(self) -> str:
        return str(self.args[0])


def _rebuild(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = _RemoteTraceback(text)
    return exc


class _Traced:
    """An exception with the worker's traceback, rebuilt in the caller as the
    exception's ``__cause__`` (the executor shows it the same way)."""

    def __init__(self, exc: BaseException):
        self.exc = exc
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        self.text = '\n"""\n' + "".join(lines) + '"""'

    def __reduce__(self) -> tuple:
        return _rebuild, (self.exc, self.text)


def serve(conn: Connection, initializer: Callable[[], None] | None) -> None:
    """A worker's life: the initializer, then each task sent, its outcome sent back,
    until the stop message or the caller's end of the pipe closes."""
    if initializer is not None:
        initializer()
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if data == _STOP:
            return
        try:
            fn, args, kwargs = pickle.loads(data)
            outcome: tuple = (True, fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            outcome = (False, _Traced(exc))
        del data
        conn.send_bytes(_dumped(outcome))
        del outcome


def _dumped(outcome: tuple) -> Any:
    try:
        return ForkingPickler.dumps(outcome)
    except BaseException as exc:  # noqa: BLE001 - a result or an error that cannot travel
        ok, value = outcome
        what = "result" if ok else f"exception ({type(value.exc).__name__}: {value.exc})"
        error = RuntimeError(f"a level-3 worker could not send back its {what}: "
                             f"{type(exc).__name__}: {exc}")
        return ForkingPickler.dumps((False, _Traced(error)))
