"""An iteration split run by processes forked for the call (:mod:`.iterrun`), on Linux.

The process pool's workers get a piece's inputs pickled: the rows of ``A`` and the
whole of ``B`` for a row-wise product, every document for a word count. On many cores
that pickling, and the pool's threads handing out one piece after another in this
process, are most of a call: on the GPU machine's 16 cores, rowwise N=128 ran in
18-21 ms through the pool, against 14-15 ms for the same rows cut by hand over forked
processes that inherit their inputs. Here the caller forks a process per piece at the
call, and each reads the loop's inputs as the caller has them (copy-on-write: nothing
is pickled on the way in). Only each piece's effects come back, pickled, through a
pipe of its own. The caller runs piece 0 itself, on its own objects, as the pool's
helping caller does (:mod:`.iterhelp`); then it merges the others' effects in order.

The forks make a tree (the caller forks the process that forks half of the others,
and so on): a fork costs about 1 ms here, so sixteen pieces start within four forks'
time rather than sixteen. Every forked process dies with its parent
(``PR_SET_PDEATHSIG``) and never returns into the caller's code: it runs its piece,
writes its effects, waits for the processes it forked, and leaves with ``os._exit``
(no ``atexit`` hooks, no flushing of the caller's buffers).

Semantics stay the plain loop's, as on the pool: the forked pieces see the objects as
the loop found them (they were forked before piece 0 ran); a piece that raises, or a
process that died, means the pieces before it are merged and the loop runs on here
from that piece's first iteration, as written. Their warnings are issued again here.
The first call checks that the effects travel: the first forked piece compares what
it sends with what the caller will unpickle (:mod:`.itercheck`'s comparison).

Forking is not used (the pool serves the call) where it is not safe: outside Linux,
where a thread this module does not know runs Python in the caller's process (it could
hold a lock the forked process then waits on forever; a ``ThreadPoolExecutor``'s thread
waiting for work holds none), or where :data:`ENABLED` is off (``OPTLEVEL_FORK=0``).
A forked piece that still does not answer long after the caller's own piece ended
(:data:`PATIENCE`) is killed, and the loop runs on here from it.

Neither way wins everywhere, so each loop times both on its own calls and keeps the
faster (:class:`Choice`).
"""

from __future__ import annotations

import collections
import ctypes
import gc
import itertools
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
import warnings
from typing import Any

from ...errors import FallbackWarning, ResultMismatchWarning, warn_once
from . import runtime
from .chunks import bounds
from .itercut import describe
from .iterhelp import _resume
from .iterworker import items_of, run_piece_on
from .worker import _said, reissue

__all__ = ["ENABLED", "Choice", "refused", "run_forked"]

#: Forked pieces serve the process backend's iteration splits where :func:`refused`
#: finds nothing against it (``OPTLEVEL_FORK=0`` turns them off).
ENABLED = os.environ.get("OPTLEVEL_FORK", "1").strip() not in ("0", "false", "no", "off")

_HEADER = struct.Struct("<Q")
_PR_SET_PDEATHSIG = 1
_OK, _RAISED, _DIFFERS = "ok", "raised", "differs"
#: threads of the standard library's pools, which hold no lock a forked piece needs
_KNOWN_THREADS = ("optlevel", "QueueFeederThread")
#: A forked piece that has not answered this many times the caller's own piece's
#: seconds (and at least :data:`LEAST_WAIT_S`) after the caller's piece ended is taken
#: for stuck (a lock another thread held at the fork): it is killed and the loop runs
#: on here from that piece.
PATIENCE, LEAST_WAIT_S = 20.0, 2.0
#: Calls each way that are timed before the faster is kept; the slower is tried again
#: once every :data:`RETRY_EVERY` calls (the machine's load changes).
_TIMED, RETRY_EVERY = 2, 32


class Choice:
    """Which way a loop's calls run, the pool or forked processes: each way is timed on
    calls of its own (seconds per iteration, the best of the latest three: a way's
    early calls still settle, as the pool's share of the caller; a way's first call is
    left out, it checks a piece), and the faster is kept. Neither wins everywhere:
    forking costs about 1 ms a fork at a process of 100 MB (more in a larger one) and a
    copy of each memory page either side writes, the pool a pickling of every piece's
    inputs in the caller. On the 2-core machine the pool ran the stencil of
    ``benchmarks/loop_splits.py`` in 85 ms and the forks in 105."""

    def __init__(self) -> None:
        self.rates: dict[str, collections.deque[float]] = {
            way: collections.deque(maxlen=3) for way in ("pool", "fork")}
        self.calls = 0

    def pick(self) -> str:
        self.calls += 1
        pool, fork = self.rates["pool"], self.rates["fork"]
        if len(pool) < _TIMED:
            return "pool"
        if len(fork) < _TIMED:
            return "fork"
        best = "fork" if min(fork) < min(pool) else "pool"
        if self.calls % RETRY_EVERY == 0:
            return "pool" if best == "fork" else "fork"
        return best

    def record(self, way: str, seconds: float, iterations: int) -> None:
        self.rates[way].append(seconds / max(1, iterations))

    def describe(self) -> str:
        """The ways' measured times, for ``explain``."""
        return ", ".join(f"{way} {min(r) * 1e6:.1f} us an iteration"
                         for way, r in self.rates.items() if r) or "not timed yet"


def refused() -> str:
    """Why the caller's process should not fork for a piece, or ``""``."""
    if not ENABLED:
        return "OPTLEVEL_FORK=0"
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return "forking is used on Linux only"
    from concurrent.futures.process import _ExecutorManagerThread

    current = threading.current_thread()
    frames = sys._current_frames()
    for thread in threading.enumerate():
        if thread is current or thread.name.startswith(_KNOWN_THREADS) \
                or isinstance(thread, _ExecutorManagerThread) \
                or _idle_pool_thread(frames.get(thread.ident or 0)):
            continue
        return f"thread {thread.name!r} runs in this process"
    return ""


def _idle_pool_thread(frame: Any) -> bool:
    """Is this a ``ThreadPoolExecutor`` thread waiting for work? Its innermost Python
    frame is then the pool's own loop (the queue's wait is C code), and it holds no
    lock; one that wakes at the fork and takes one is met by :data:`PATIENCE`."""
    return frame is not None and frame.f_code.co_name == "_worker" \
        and frame.f_code.co_filename.endswith(os.path.join("concurrent", "futures",
                                                           "thread.py"))


def run_forked(runner: Any, kind: str, args: tuple, seq: Any, env: dict) -> tuple | None:
    """The loop over ``seq`` in ``runner.workers`` pieces: piece 0 here, the others in
    forked processes; their effects merged in order into ``env``'s objects; the loop's
    reductions. None, with nothing run, when the processes could not be made (no
    memory, no process slots, no file descriptors left): the pool serves the call."""
    ranges = bounds(len(seq), runner.workers)
    descs = [describe(kind, args, seq, lo, hi) for lo, hi in ranges]
    starts = [runner.starts(env, k) for k in range(len(descs))]
    pipes: list[tuple[int, int]] = []
    try:
        for _ in descs[1:]:
            pipes.append(os.pipe())
        kids, mine = _fork_tree(len(descs))
    except BaseException as exc:
        for fd in itertools.chain.from_iterable(pipes):
            os.close(fd)
        if isinstance(exc, OSError):
            return None
        raise
    check = not runner.fork_checked
    runner.fork_checked = True
    if mine:  # a forked process: it never returns from here
        _child(runner, env, starts[mine], descs[mine], pipes, mine, kids, check and mine == 1)
    for _, write in pipes:
        os.close(write)
    names = [name for name, _ in runner.proof.reductions]
    try:
        began = time.perf_counter()
        try:
            with runtime.as_worker():
                done = runner.piece(env, items_of(descs[0]))
        except BaseException:
            runner.last = "the first piece, run here, raised: the plain loop's error"
            raise
        env.update(zip(names, done))  # the others fold onto what piece 0 reduced
        was = gc.isenabled()
        gc.disable()  # as iterhelp: no collection walks the effects while they arrive
        try:
            spent = time.perf_counter() - began
            deadline = time.monotonic() + max(LEAST_WAIT_S, PATIENCE * spent)
            results, stop = _gather(runner, [read for read, _ in pipes], deadline)
            if stop:
                _kill(kids)  # finished, or of no more use
                return _resume(runner, env, results, descs)
            if runner.float_partials([(done, None, None)] + results):
                return _resume(runner, env, [], descs)  # piece 0 ran here, as written
            runner.split(f"{len(descs)} pieces in forked processes, the first here")
            return runner.merge(env, results)
        finally:
            if was:
                gc.enable()
    except BaseException:
        _kill(kids)
        raise
    finally:
        for read, _ in pipes:
            os.close(read)
        _reap(kids)


def _fork_tree(count: int) -> tuple[list[int], int]:
    """Fork the processes of pieces ``1 .. count - 1`` as a tree: each process forks the
    upper half of the pieces it is given and keeps the lower half. Returns the pids this
    process forked and the piece it runs (0 in the caller). A fork that fails (or
    Ctrl-C meanwhile) stops the ones made and raises here; in a forked process, it ends
    that process (its pieces are then met as died)."""
    lo, hi, kids = 0, count, list[int]()
    parent, forked = os.getpid(), False
    try:
        while hi - lo > 1:
            mid = (lo + hi + 1) // 2
            with warnings.catch_warnings():  # Python 3.12 warns of any thread, even idle
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:
                forked = True
                _die_with(parent)
                lo, kids, parent = mid, [], os.getpid()
            else:
                kids.append(pid)
                hi = mid
    except BaseException:
        if forked:
            os._exit(1)
        _kill(kids)
        _reap(kids)
        raise
    return kids, lo


def _die_with(parent: int) -> None:
    """The forked process is killed when the process that forked it dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def _prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl() if sys.platform.startswith("linux") else None


def _child(runner: Any, env: dict, starts: dict, desc: tuple, pipes: list, piece: int,
           kids: list[int], check: bool) -> None:
    """A forked process: run ``piece`` on the inherited objects, send its effects, wait
    for the processes it forked, leave. Never returns."""
    code = 1
    try:
        gc.disable()  # a collection would touch (and copy) every object the caller has
        write = pipes[piece - 1][1]
        for read, other in pipes:
            os.close(read)
            if other != write:
                os.close(other)
        runtime.mark_worker_process()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # the caller's filters decide what shows
                effects = run_piece_on(runner.piece, dict(env), starts, desc, runner.spec)
            said = tuple(_said(w) for w in caught)
            blob = pickle.dumps((_OK, effects, said), pickle.HIGHEST_PROTOCOL)
            if check:
                diff = _travel_differs(effects, blob)
                if diff:
                    blob = pickle.dumps((_DIFFERS, diff), pickle.HIGHEST_PROTOCOL)
        except BaseException:  # the user's error (or Ctrl-C): the caller runs it as written
            blob = pickle.dumps((_RAISED,), pickle.HIGHEST_PROTOCOL)
        _write_all(write, _HEADER.pack(len(blob)) + blob)
        code = 0
    except BaseException:
        pass
    finally:
        try:
            _reap(kids)
        finally:
            os._exit(code)


def _travel_differs(effects: tuple, blob: bytes) -> str:
    """How the effects the caller will unpickle differ from the piece's own, or ``""``."""
    from ...core.verify import compare
    from .itercheck import _equal

    _, back, _ = pickle.loads(blob)
    if _equal(back, effects):
        return ""
    diff = compare(back, effects, "the first forked piece's effects")
    return diff.text if diff is not None else ""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int, deadline: float) -> bytes | None:
    """``size`` bytes from ``fd``; None at its end, or when the deadline passed."""
    parts, left = [], size
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            return None
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _gather(runner: Any, reads: list[int], deadline: float) -> tuple[list[tuple], bool]:
    """The forked pieces' effects, in order, up to the first that raised, differed,
    died or did not answer by ``deadline``; and whether one did (the loop then goes on
    here from that piece)."""
    results: list[tuple] = []
    for fd in reads:
        head = _read_exactly(fd, _HEADER.size, deadline)
        blob = _read_exactly(fd, _HEADER.unpack(head)[0], deadline) \
            if head is not None else None
        if blob is None:
            warn_once((runner.name, "fork", "died"), f"{runner.name}: a process forked for "
                      "a piece of its loop died or did not answer in time; the loop ran on "
                      "here from that piece.", FallbackWarning)
            runner.last = "a forked piece died or hung: the loop ran on here from that piece"
            return results, True
        answer = pickle.loads(blob)
        if answer[0] == _RAISED:
            runner.last = "a piece raised: the loop ran on here, serially, from that piece"
            return results, True
        if answer[0] == _DIFFERS:
            runner.untrusted = True
            warn_once((runner.name, "iterations", "mismatch"),
                      f"{runner.name}: level 3 split its loop, and the first forked piece's "
                      f"effects differed once pickled ({answer[1]}); this call and the later "
                      "ones run the loop as written.", ResultMismatchWarning)
            return results, True
        _, effects, said = answer
        reissue(said, runner.func)
        results.append(effects)
    return results, False


def _kill(kids: list[int]) -> None:
    """Stop the forked processes the caller gave up on (an error in piece 0, Ctrl-C);
    the processes they forked die with them."""
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _reap(kids: list[int]) -> None:
    """Wait for the processes this one forked."""
    for pid in kids:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break

