"""The caller's share of an iteration split on the process pool (:mod:`.iterrun`).

On a few cores the calling process is one core in two, three or four. Rather than wait
while the pool's workers run every piece, it runs the loop's first piece itself, as the
thread pool's calling thread helps (:mod:`.local`), while ``workers - 1`` of the pool's
``workers`` processes run one piece each (the pool keeps the size every level-3
backend asks for). Only the workers' share of the data is pickled and shipped.

The first piece runs here exactly as the plain loop runs its first iterations: on the
caller's own objects, writing its slots and appending to its lists in place, its
reductions starting from their start values, marked as a level-3 worker
(:func:`.runtime.as_worker`) so that a function it calls does not start level 3 again.
It costs nothing beyond the loop itself: nothing is copied, shipped or merged. The
workers' pieces were pickled before it started, so they see the objects as the loop
found them, and their effects are merged after it, in order.

Semantics stay the plain loop's. If the first piece raises, that is the plain loop's
exception with the plain loop's partial writes: it propagates (the workers' pieces are
dropped). If a worker's piece ``p`` raises, the pieces before it are merged and the
loop runs on here from piece ``p``'s first iteration, serially: the same exception at
the same iteration, with the same partial writes (a loop that does not raise again
simply finishes). The same resumption serves a first split call whose checked piece
differed from plain Python (:mod:`.itercheck`: the check runs the first *worker*
piece again here), and a pool whose workers died twice.

Three things decide whether it pays:

* The caller starts its piece only once every worker has started its own (each marks
  a shared-memory :class:`Board`). It was needed with ``ProcessPoolExecutor``, whose
  manager and feeder threads in the caller's process needed its GIL to send each
  piece: rowwise N=128 without the wait had its worker start 10-22 ms late (0.94x of
  plain Python on 2 cores). The pool of :mod:`.pipes` writes each piece from the
  calling thread before this starts; the wait stays as a guard and costs 0.3 ms.
* The caller's share is learned (:class:`Share`): a worker also unpickles its inputs
  and pickles its effects, the caller does neither, so after each call the share is
  set to the one that would end the caller's piece and the slowest worker's together,
  at their seconds per iteration over the latest calls (medians).
* What the caller's process does around its piece stays small: it pickles the
  workers' inputs itself (rows of floats as their bytes, :mod:`.floatrows`), large
  inputs and effects go through shared memory (its process reads no pipe while it
  computes), and the cyclic collector pauses while the workers' effects are unpickled
  and merged (:func:`optlevel.core.collector.paused`). On the stencil of
  ``benchmarks/loop_splits.py`` these took the call from about 100 ms to 83 (plain Python: 130 ms).

Above :data:`HELPS_UP_TO` workers the caller's core is a small part of the machine,
while many small pieces handed out one at a time (which the waiting caller keeps
flowing) even out slow cores: there the caller waits, as on Dask and Ray.
"""

from __future__ import annotations

import collections
import itertools
import pickle
import statistics
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from ...core import collector
from . import pools, runtime, ship
from .floatrows import packed_sends
from .iterworker import SHM_BYTES, items_of, run_shipped_piece
from .shm import Segments, attach

__all__ = ["HELPS_UP_TO", "helps", "Share", "Board", "run_helped"]

#: The caller runs a share of the loop itself on machines of at most this many
#: workers (its core is a quarter of the machine or more).
HELPS_UP_TO = 4
#: How long the caller waits for the workers to start their pieces before it starts
#: its own anyway (a pool busy with another call's pieces).
WAIT_S = 0.05
_POLL_S = 50e-6
#: The caller's share never goes below or above these fractions of the iterations.
_LEAST, _MOST = 0.02, 0.9
#: Pieces shorter than this teach the share nothing (timer noise, start-up).
_MIN_S = 2e-3
#: How many of the latest calls' rates the share is set from (their medians).
_KEPT = 5


def helps(workers: int) -> bool:
    """Does the caller run a share of the loop with ``workers`` workers?"""
    return 2 <= workers <= HELPS_UP_TO


class Share:
    """The fraction of a loop's iterations its caller runs, learned call by call: from
    the seconds per iteration of the caller's piece and of the slowest worker's, each
    the median of the latest calls (one call's timings vary by 5-10% on a shared
    machine, and a worker's first large piece runs slower: a share set from one call
    swung the stencil's next calls by as much)."""

    def __init__(self, workers: int):
        self.helpers = workers - 1
        self.fraction = 1.0 / workers
        self.rates: collections.deque[tuple[float, float]] = collections.deque(maxlen=_KEPT)

    def iterations(self, n: int) -> int:
        """The caller's iterations (the first ones) of a loop of ``n``: at least one,
        and at least one left to the workers."""
        return min(n - 1, max(1, round(self.fraction * n)))

    def learn(self, here: tuple[int, float], sizes: list[int], seconds: list[float]) -> None:
        """After a call whose caller ran ``here`` = (iterations, seconds) of its own, and
        whose workers ran ``sizes`` iterations in ``seconds`` each (from the arrival of
        their inputs to their effects pickled; what follows the slowest piece, whoever
        ran it, does not move the balance)."""
        count, spent = here
        if spent < _MIN_S or len(sizes) != self.helpers or min(seconds) <= 0:
            return
        self.rates.append((spent / count, max(s / k for s, k in zip(seconds, sizes))))
        here_rate = statistics.median(r[0] for r in self.rates)
        slowest = statistics.median(r[1] for r in self.rates)
        ideal = slowest / (self.helpers * here_rate + slowest)
        self.fraction = min(_MOST, max(_LEAST, ideal))


class Board:
    """Two shared-memory slots per worker piece: 1 once the piece started, then its
    seconds (:func:`.iterworker.run_shipped_piece` writes them). Blind where shared
    memory cannot be had: the caller then starts at once and learns nothing."""

    def __init__(self, segments: Segments, pieces: int):
        self.view: Any = None
        try:
            self.spec: Any = segments.put(np.zeros(2 * pieces))
            self._attached = attach()
            self.view = self._attached.array(self.spec, True)
        except OSError:  # /dev/shm full or missing
            self.spec = None

    def slot(self, piece: int) -> tuple | None:
        return None if self.view is None else (self.spec, piece)

    def wait(self, futures: list[Future], limit: float = WAIT_S) -> None:
        """Until every worker piece started (or one ended, or ``limit`` passed),
        sleeping: the pool's threads here send the pieces meanwhile."""
        deadline = time.perf_counter() + limit
        while self.view is not None and not self.view[0::2].all():
            if time.perf_counter() > deadline or any(f.done() for f in futures):
                return
            time.sleep(_POLL_S)

    def seconds(self) -> list[float]:
        return [] if self.view is None else [float(s) for s in self.view[1::2]]

    def clear(self) -> None:
        if self.view is not None:
            self.view[...] = 0.0

    def close(self) -> None:
        if self.view is not None:
            self.view = None
            self._attached.close()


def run_helped(runner: Any, env: dict, cut: Any, sent: tuple) -> tuple:
    """Run ``cut``'s piece 0 here and the others on the process pool; their effects
    merged in order into ``env``'s objects; the loop's reductions."""
    descs, segments = cut.descs, cut.segments
    sends = [{**runner.starts(env, k), **cut.own[k]} for k in range(1, len(descs))]
    with collector.paused():  # the packed rows' stand-ins set off young collections
        blobs = [ship.dumps_values((packed_sends(s, d), d), "an item of the loop")
                 for s, d in zip(sends, descs[1:])]
    board = Board(segments, len(blobs))
    try:
        return _helped(runner, env, cut, sent, (blobs, [_put(segments, b) for b in blobs],
                                                [segments.reserve() for _ in blobs], board))
    finally:
        board.close()


def _helped(runner: Any, env: dict, cut: Any, sent: tuple, shipped: tuple) -> tuple:
    func_blob, token, env_sent = sent
    blobs, inputs, outs, board = shipped
    descs, names = cut.descs, [name for name, _ in runner.proof.reductions]
    done: tuple | None = None  # piece 0's reductions, once it ran here
    for attempt in (1, 2):
        executor = pools.PROCESSES.get(runner.workers)
        board.clear()
        futures = [executor.submit(run_shipped_piece, func_blob, runner.code_blob, token,
                                   env_sent, inputs[k], runner.spec, board.slot(k), outs[k])
                   for k in range(len(blobs))]
        try:
            if done is None:
                done, spent = _first_piece(runner, env, descs[0], futures, board)
            returned, failed = pools.gather(futures)
        except KeyboardInterrupt:
            pools.PROCESSES.kill()
            raise
        if isinstance(failed, BrokenProcessPool):
            pools.rebuild_after_death(runner.name, failed, attempt == 1, "its pieces run")
            continue
        env.update(zip(names, done))  # the others fold onto what piece 0 reduced
        if failed is not None:  # the user's error: the loop goes on here from that piece
            runner.last = runner.raised(failed, "the loop ran on here, serially, from that "
                                                "piece")
            return _resume(runner, env, [_effects(cut.segments, r) for r in returned], descs)
        if not runner.checked:  # the first split call checks its first worker piece here
            if runner.differs(env_sent, *pickle.loads(blobs[0]),
                              _effects(cut.segments, returned[0])):
                return _resume(runner, env, [], descs)  # piece 0 ran here, as written
        elif cut.learn and attempt == 1:
            runner.share.learn((cut.sizes[0], spent), cut.sizes[1:], board.seconds())
        # each collection of the young objects would walk every new list of floats (on
        # the 2-core machine, two of them took 7 ms of a 95 ms stencil call); pausing
        # only the unpickling would move the collection to the next allocation
        with collector.paused():
            results = [_effects(cut.segments, r) for r in returned]
            if runner.unmergeable(env, results):  # env: piece 0's reductions
                return _resume(runner, env, [], descs)  # piece 0 ran here, as written
            runner.last = f"{len(descs)} pieces on {runner.workers} processes, the first here"
            folded = runner.merge(env, results)
            results.clear()  # freed before the collector runs again
        return folded
    runner.last = "worker processes died twice: the loop ran on here"
    env.update(zip(names, done or ()))
    return _resume(runner, env, [], descs)


def _first_piece(runner: Any, env: dict, desc: tuple, futures: list[Future],
                 board: Board) -> tuple[tuple, float]:
    """Piece 0, here, on the caller's objects, once the workers started theirs; its
    reductions and seconds. Its exception is the plain loop's: the workers' pieces are
    dropped and it propagates."""
    board.wait(futures)
    begin = time.perf_counter()
    try:
        with runtime.as_worker():
            reduced = runner.piece(env, items_of(desc))
    except Exception:
        pools.settle(futures)
        runner.last = "the first piece, run here, raised: the plain loop's error"
        raise
    return reduced, time.perf_counter() - begin


def _put(segments: Segments, blob: bytes) -> Any:
    """A piece's pickled inputs: in shared memory when large, else the bytes."""
    if len(blob) < SHM_BYTES:
        return blob
    try:
        return segments.put(np.frombuffer(blob, np.uint8))
    except OSError:  # /dev/shm too small: through the pipe
        return blob


def _effects(segments: Segments, returned: Any) -> tuple:
    """A worker piece's effects from what it returned: pickled bytes, or a segment."""
    if isinstance(returned, bytes):
        return pickle.loads(returned)
    name, shape, _ = returned
    buffer = np.empty(shape, np.uint8)
    segments.read_into(name, buffer)
    return pickle.loads(buffer)


def _resume(runner: Any, env: dict, results: list[tuple], descs: list[tuple]) -> tuple:
    """The loop after piece 0 (already run here): the workers' ``results`` (the pieces
    right after it) merged in order, then the rest of the loop here, serially, as
    written; the loop's reductions. Results whose reductions do not fold are dropped:
    the loop runs on here from piece 1."""
    if results and runner.unmergeable(env, results):
        results = []
    folded = runner.merge(env, results)
    env.update(zip([name for name, _ in runner.proof.reductions], folded))
    rest = descs[1 + len(results):]
    return runner.piece(env, itertools.chain.from_iterable(items_of(d) for d in rest))
