"""Level 3's process pool: the caller writes every task into one pipe, idle workers
take them from it, and each worker sends its outcomes back on a pipe of its own.

``concurrent.futures.ProcessPoolExecutor`` hands every task across three threads of
the caller's process: ``submit`` wakes its manager thread through a pipe, the manager
moves the task to the call queue, whose feeder thread pickles and writes it; each
result comes back through the manager thread again. With 16 workers and 64 pieces a
call, those hand-offs cost this process 2.5 ms of the calling thread's time, 4.5 ms of
the manager's and 2 ms of the feeder's on a row-wise product whose pieces carry a few
rows each (2 cores, ``benchmarks/loop_splits.py``'s rowwise N=128, 9.7 ms a call in
all): on 16 cores that is a fixed cost the size of a worker's whole piece.

Here :meth:`PipePool.submit` pickles the task in the calling thread and writes it into
the pool's task pipe (enlarged to 1 MB where Linux allows); a worker that is idle
takes the next task from it itself (one reader at a time, under a lock the workers
share), so a worker that ends a piece starts its next one at once, with no thread of
the caller's process in between. An earlier version kept the tasks in this process
and had its reader thread hand each worker its next one: that thread needed the GIL
for every hand-out, and the caller held it while it pickled a call's pieces (on 16
cores, a word count's 64 pieces of 7 ms, 28 ms of work a worker, ended 42-53 ms into
the call; with this pool a worker there waits 1.0-2.5 ms between its pieces, against
3.1-6.0 ms, ``docs/levels/parallel.md``). One reader thread waits on the
workers' result pipes and settles each future. When the task pipe is full, ``submit``
waits (its write lets go of the GIL) until a worker has taken a task; a function run
by a future's done callback must not submit (that callback runs in the reader
thread).

The futures are :class:`concurrent.futures.Future`: ``result``, ``wait`` and
``as_completed`` behave as with the executor. A written task cannot be taken back, so
``cancel`` answers False: a call that gives up on its pieces waits for them
(:func:`.pools.settle`), and none runs behind it into the next call (or writes a
shared-memory segment the call already removed). A worker that dies breaks the pool:
every task not yet settled fails with ``BrokenProcessPool``, and so does every later
``submit`` (:class:`.pools.ProcessPool` then starts a new pool), as with the executor;
the other workers are stopped, so that none runs a task whose future has failed. A
task whose arguments cannot be pickled fails in its future, not in ``submit``.

A process forked from the caller's inherits the pool's pipes but not its reader thread
nor its workers: there the pool refuses tasks (``BrokenProcessPool``, and
:class:`.pools.ProcessPool` starts the child a pool of its own), and shutting it down,
at the child's exit too, leaves the parent's workers alone.
"""

from __future__ import annotations

import itertools
import os
import pickle
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import util
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ...core import collector

__all__ = ["PipePool", "serve"]

#: The message that stops a worker, and a stopping worker's goodbye (a pickle is
#: never empty).
_STOP = b""
#: The task pipe's size where Linux lets it be set (``fcntl.F_SETPIPE_SZ``; 1 MB is the
#: default most an unprivileged process may ask): tasks written ahead of the workers.
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031


class _Future(Future):
    """A pool task's future: written into the pipe, it is the workers' to run."""

    def cancel(self) -> bool:
        return False


class PipePool:
    """``workers`` processes started from ``context``, each running ``initializer``
    once and then the tasks it takes, one at a time."""

    def __init__(self, workers: int, context: Any,
                 initializer: Callable[[], None] | None = None):
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one task's two messages at a time
        self._pid = os.getpid()  # the process whose workers these are
        tasks, self._tasks = context.Pipe(duplex=False)
        _enlarge(self._tasks)
        # one worker reads a task at a time; kept here, as the pool lives: a spawned
        # worker opens the lock by name as it starts, after this returns
        self._taking = taking = context.Lock()
        self._conns: list[Connection] = []  # worker k's outcomes
        self.processes: list[Any] = []  # worker k's process
        for k in range(workers):
            mine, theirs = context.Pipe(duplex=False)
            process = context.Process(target=serve, args=(tasks, taking, theirs, initializer),
                                      name=f"optlevel-L3-{k}")
            process.start()
            theirs.close()  # the worker's end lives in the worker: its death reads as EOF
            self._conns.append(mine)
            self.processes.append(process)
        tasks.close()  # only the workers read tasks: if every one is gone, a write fails
        self._ids = itertools.count()
        self._pending: dict[int, Future] = {}
        self._live = set(range(workers))
        self._stopped: set[int] = set()  # workers that said goodbye
        self._broken: str | bool = False
        self._shutdown = False
        self._wake_r, self._wake_w = context.Pipe(duplex=False)
        self._reader = threading.Thread(target=self._read, name="optlevel-L3-results",
                                        daemon=True)
        self._reader.start()
        # multiprocessing joins every live child at exit, before atexit's later hooks
        # might close this pool: its finalizers of priority >= 0 run before that join
        # (and only in the process that made them, not in a forked child)
        util.Finalize(self, _stop_all, args=(self._tasks, self._writing, workers),
                      exitpriority=10)

    @property
    def inherited(self) -> bool:
        """This process was forked from the pool's: the workers are not its own."""
        return os.getpid() != self._pid

    # -- the caller's side ---------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = _Future()
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
            task = next(self._ids)
            self._pending[task] = future
        self._send(task, blob)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers once the tasks written end (with ``wait``, after they all
        did; a written task cannot be cancelled, so ``cancel_futures`` changes
        nothing). In a forked child, only this copy is closed."""
        with self._lock:
            self._shutdown = True
            if self.inherited:
                return
            pending = list(self._pending.values())
        if wait:
            wait_futures(pending)
            _stop_all(self._tasks, self._writing, len(self.processes))
        else:  # the pipe may hold tasks still: the stops wait behind them, not the caller
            threading.Thread(target=_stop_all, name="optlevel-L3-stop", daemon=True,
                             args=(self._tasks, self._writing, len(self.processes))).start()
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
    def _send(self, task: int, blob: Any) -> None:
        try:
            with self._writing:
                self._tasks.send_bytes(task.to_bytes(8, "little"))
                self._tasks.send_bytes(blob)
        except (OSError, ValueError) as exc:  # every worker is gone (or the pipe closed)
            self._break(f"the workers could not be sent a task: {exc}")
        except BaseException:  # Ctrl-C in the middle of a write: the pipe's framing is
            self._break("a task's write to the workers was interrupted")  # lost
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
        """Worker ``k``'s next message: a task's id and outcome, or its goodbye."""
        conn = self._conns[k]
        try:
            head = conn.recv_bytes()
            data = conn.recv_bytes() if head != _STOP else b""
        except (EOFError, OSError):
            with self._lock:
                self._live.discard(k)
                # a stopped worker's end, or the pool broke already (its workers were
                # killed: a second wait on a worker here would race that one)
                expected = k in self._stopped or bool(self._broken)
            conn.close()
            if not expected:
                self._break(f"a worker process ({self.processes[k].pid}) ended abruptly "
                            f"(exit code {self.processes[k].exitcode})")
            return
        if head == _STOP:
            with self._lock:
                self._stopped.add(k)
            return
        try:
            ok, value = pickle.loads(data)
        except Exception as exc:  # a result or an exception that cannot be rebuilt here
            ok, value = False, exc
        del data
        with self._lock:  # None: the pool broke and failed it already
            future = self._pending.pop(int.from_bytes(head, "little"), None)
        if future is not None:
            _settle(future, ok, value)

    def _break(self, why: str) -> None:
        with self._lock:
            first = not self._broken
            if first:
                self._broken = why
            failed = list(self._pending.values())
            self._pending.clear()
        if first:  # no worker runs on into tasks whose futures fail here
            self.kill_workers()
        for future in failed:
            _settle(future, False, BrokenProcessPool(why))


def _enlarge(conn: Connection) -> None:
    """The task pipe at :data:`_PIPE_BYTES`, where the system allows it."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, OSError):  # not Linux, or above the system's limit
        pass


def _stop_all(tasks: Connection, writing: threading.Lock, workers: int) -> None:
    try:
        with writing:
            for _ in range(workers):
                tasks.send_bytes(_STOP)
    except (OSError, ValueError):  # every worker is gone already, or the pipe closed
        pass


def _settle(future: Future, ok: bool, value: Any) -> None:
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except InvalidStateError:  # settled meanwhile
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


def serve(tasks: Connection, taking: Any, outcomes: Connection,
          initializer: Callable[[], None] | None) -> None:
    """A worker's life: the initializer, then each task it takes from ``tasks``, its
    id and outcome sent back on ``outcomes``, until a stop message (answered with a
    goodbye) or the caller's end of the pipe closes."""
    if initializer is not None:
        initializer()
    while True:
        try:
            with taking:
                head = tasks.recv_bytes()
                data = tasks.recv_bytes() if head != _STOP else _STOP
        except (EOFError, OSError):
            return
        if head == _STOP:
            outcomes.send_bytes(_STOP)
            return
        try:
            with collector.paused():  # a burst of new objects that all live on
                fn, args, kwargs = pickle.loads(data)
            outcome: tuple = (True, fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            outcome = (False, _Traced(exc))
        del data
        blob = _dumped(outcome)
        del outcome
        outcomes.send_bytes(head)
        outcomes.send_bytes(blob)
        del blob


def _dumped(outcome: tuple) -> Any:
    try:
        return ForkingPickler.dumps(outcome)
    except BaseException as exc:  # noqa: BLE001 - a result or an error that cannot travel
        ok, value = outcome
        what = "result" if ok else f"exception ({type(value.exc).__name__}: {value.exc})"
        error = RuntimeError(f"a level-3 worker could not send back its {what}: "
                             f"{type(exc).__name__}: {exc}")
        return ForkingPickler.dumps((False, _Traced(error)))
