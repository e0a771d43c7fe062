"""Measured trials: where the planner is unsure of an order, real calls decide.

A trial races its *entrants* — the candidate and the runner-up above level 0,
when one applies — with plain Python as the reference. The first call runs plain
Python, timed, and builds every entrant (each checked on its own copies of that
call where a check is wanted), so a decline shows at once; short calls are timed
:data:`TRIAL_SAMPLES` times a side (the first is often cold), a longer call once (an
entrant's first long call that lost is timed once more: it can carry one-time work;
and an entrant whose calls come within :data:`CLOSE` of plain Python's is timed up
to :data:`CLOSE_MORE` times as many calls: a few calls' noise would decide).
Then each entrant in turn takes the key for its samples, and the fastest keeps
it: an entrant's median against plain Python's fastest (a conservative test, since
a wrong "faster" costs every later call) and against the other entrants' medians.
The losers are recorded (never retried for the signature) with the ratio, so a
level slower than a lower one is demoted, whatever the ceiling.

Thread-safe: whichever thread makes the first call builds; the others run plain
Python meanwhile; every hand-over happens once, through the plan table.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from ..contract import Backend, Code, Decline
from .builds import Builder
from .estimates import per_element
from .plan import Plan, State, covered
from .verify import CannotCopy, snapshot_args
from .warmup import PAYBACK_CALLS, compile_estimate

__all__ = ["TRIAL_SAMPLES", "TRIAL_QUICK_S", "start_trial", "watch_deferred"]

log = logging.getLogger("optlevel")

#: Each side is timed this many calls while the calls are shorter than TRIAL_QUICK_S
#: (a longer call is timed once).
TRIAL_SAMPLES = 3
TRIAL_QUICK_S = 0.05
#: An entrant whose median comes within CLOSE of plain Python's fastest call (either
#: way) is no verdict yet: it is timed up to CLOSE_MORE times as many calls. On 2 cores,
#: level 3's first split calls of a stencil (long calls: one a side) ran at 1.10-1.26x
#: of plain Python (the first checks a piece, the next ones still learn the caller's
#: share), its settled calls at 1.5x: one noisy call in five runs lost the trial for it.
#: On the H100 machine a 10M-element sum on the GPU took 2.1-4.3 ms a call (median 3.0)
#: against NumPy's 2.2-2.7: three lucky calls won it the trial.
CLOSE = 1.3
CLOSE_MORE = 3
_PLAIN = "python"


def start_trial(d: Builder, plan0: Plan, entrants: list[Backend], settings: Any,
                predicted: dict[str, tuple[float | None, float | None]] | None = None,
                deferred: list[Backend] | None = None, wait: bool = False) -> None:
    """``plan0`` (level 0) times plain Python and builds ``entrants``; then each takes
    the key for its samples, and the fastest keeps it. ``predicted``: each entrant's
    (corrected, raw) predicted seconds, recorded against what it measured.
    ``deferred``: entrants whose compile waits until it can pay back (see
    :func:`_provisional`); they are built at once only if no other entrant builds,
    unless ``wait``: their compile does not pay yet even against plain Python (a
    warm-up), so plain Python then serves the key while they wait."""
    later = list(deferred or ())
    now = [b for b in entrants if b not in later]
    trial = _Trial(d, plan0, now, settings, predicted or {}, later, wait)
    names = " and ".join(f"level {b.level} ({b.name})" for b in now)
    d.table.enter(plan0, State.TRIAL_BASELINE, trial.baseline,
                  f"first calls of a trial: {names} measured against each other and "
                  "level 0")


class _Trial:
    def __init__(self, d: Builder, plan0: Plan, entrants: list[Backend], settings: Any,
                 predicted: dict[str, tuple[float | None, float | None]],
                 deferred: list[Backend], wait: bool):
        self.d, self.plan0, self.entrants, self.settings = d, plan0, entrants, settings
        self.predicted = predicted
        self.deferred = deferred
        self.wait = wait  # see start_trial
        self.lock = threading.Lock()
        self.started = False  # the first call has begun (it builds)
        self.ready = False  # the entrants are built: later plain calls are samples
        self.built: list[Plan] = []
        self.samples: dict[str, list[float]] = {_PLAIN: []}
        self.seconds: dict[str, list[float]] = {_PLAIN: []}  # per call, for corrections
        self.turn = -1  # which built entrant holds the key (-1: plain Python)
        self.retried: set[str] = set()  # entrants whose first long call lost: timed again

    # --- plain Python: the first calls ---------------------------------------------

    def baseline(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            builder = not self.started
            self.started = True
        copies = None
        if builder:
            wanted = sum(self.d.verifier.wants(b, args, kwargs, self.settings)
                         for b in self.entrants + self.deferred)
            try:
                copies = [snapshot_args(args, kwargs)
                          for _ in range(wanted and len(self.entrants + self.deferred))]
            except CannotCopy:  # this call cannot check the entrants: a later one builds
                with self.lock:
                    self.started = False
                return self.d.func(*args, **kwargs)
        start = time.perf_counter()
        try:
            result = self.d.func(*args, **kwargs)
        except BaseException:
            if builder:  # the user's error: the next call builds instead
                with self.lock:
                    self.started = False
            raise
        elapsed = time.perf_counter() - start
        if builder:
            self._build(copies or None, result, args, kwargs)
        elif not self.ready:
            return result  # the entrants are being built: this call is not a sample
        self._sample(_PLAIN, elapsed, args, kwargs, -1)
        return result

    def _build(self, copies: list | None, result: Any, args: tuple, kwargs: dict) -> None:
        """Build each entrant; one that declines or differs leaves the trial."""
        d, plan0 = self.d, self.plan0
        first = len(self.entrants)
        self._build_each(self.entrants, copies and copies[:first], result, args, kwargs)
        if not self.built and self.deferred and not self.wait:  # nothing else to race:
            later, self.deferred = self.deferred, []               # no reason to wait
            self.entrants = self.entrants + later
            self._build_each(later, copies and copies[first:], result, args, kwargs)
        with self.lock:
            self.ready = True
        if not self.built:
            d.table.settle(plan0)  # nothing to race: plain Python keeps the key
            if self.deferred:  # while the compiles wait for their payback
                watch_deferred(d, plan0, self.deferred, plan0.time)

    def _build_each(self, entrants: list[Backend], copies: list | None, result: Any,
                    args: tuple, kwargs: dict) -> None:
        d, plan0 = self.d, self.plan0
        for i, backend in enumerate(entrants):
            try:
                prepared = d.prepare(backend, plan0.signature, args, kwargs, self.settings)
            except Decline as exc:
                d.declined_late(plan0, backend, exc, settle=False)
                continue
            plan = Plan(backend, prepared, plan0.signature, plan0.key, list(plan0.fallbacks))
            plan.predicted = self.predicted.get(backend.name, (None, None))[0]
            try:
                differs = copies is not None and not d.verifier.check_copies(
                    plan, copies[i], result, args, kwargs)
            except plan.unfit_errors:  # this call does not fit it (level 2: it replays
                differs = False  # in Python): nothing compiled to compare; it stays
            if differs:
                with d.table.lock:
                    plan0.fallbacks.append((backend.level, backend.name,
                                            d.table.failure(backend.name, plan0.key.sig)
                                            or "its result differs"))
                continue
            self.built.append(plan)
            self.samples[backend.name] = []
            self.seconds[backend.name] = []

    # --- the entrants, one after another --------------------------------------------

    def _step(self, index: int) -> Callable[..., Any]:
        plan = self.built[index]

        def measured(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = plan.run_settled(*args, **kwargs)
            self._sample(plan.backend, time.perf_counter() - start, args, kwargs, index)
            return result

        return measured

    def _sample(self, name: str, elapsed: float, args: tuple, kwargs: dict,
                turn: int) -> None:
        with self.lock:
            if self.turn != turn or name not in self.samples:
                return  # a late call of a side already done
            per = per_element(elapsed, args, kwargs)
            if self._cold(name, elapsed, per):
                return
            self.samples[name].append(per)
            self.seconds[name].append(elapsed)
            taken = len(self.samples[name])
            least = TRIAL_SAMPLES if elapsed < TRIAL_QUICK_S else 1
            if taken < least or (taken < CLOSE_MORE * least and self._close(name)):
                return
            if not self.built:
                return
            self.turn += 1
            nxt = self.turn
        old = self.plan0 if nxt == 0 else self.built[nxt - 1]
        if nxt == 0:
            self.d.table.settle(self.plan0)  # whatever happens next, it is plain Python
        if nxt < len(self.built):
            self.d.table.enter(self.built[nxt], State.TRIAL_CANDIDATE, self._step(nxt))
            self.d.table.replace(old.key, old, self.built[nxt])
        else:
            self._decide(old)

    def _cold(self, name: str, elapsed: float, per: float) -> bool:
        """Is this an entrant's first long call that lost to plain Python? It is timed
        once more instead (the lock held). A first call can carry one-time work: level
        3's first split call checks a piece against plain Python (about half a plain
        call on 2 cores), so a trial on that one time chose plain Python by chance."""
        if name == _PLAIN or elapsed < TRIAL_QUICK_S or name in self.retried \
                or self.samples[name] or not self.samples[_PLAIN]:
            return False
        self.retried.add(name)
        return per >= min(self.samples[_PLAIN])

    def _close(self, name: str) -> bool:
        """Is an entrant's median so far within :data:`CLOSE` of plain Python's fastest
        call (the lock held)?"""
        if name == _PLAIN or not self.samples[_PLAIN]:
            return False
        ratio = statistics.median(self.samples[name]) / min(self.samples[_PLAIN])
        return 1 / CLOSE < ratio < CLOSE

    # --- the verdict ----------------------------------------------------------------

    def _decide(self, holder: Plan) -> None:
        """The fastest keeps the key: plain Python by its fastest call, each entrant
        by its median (per array element, so sizes in one class compare fairly)."""
        d = self.d
        scores = {_PLAIN: min(self.samples[_PLAIN])}
        scores.update({p.backend: statistics.median(self.samples[p.backend])
                       for p in self.built})
        winner = min(scores, key=lambda n: (scores[n], n != _PLAIN))
        said = ", ".join(f"{n} {scores[_PLAIN] / s:.2f}x" if s > 0 else f"{n} inf"
                         for n, s in scores.items() if n != _PLAIN)
        log.debug("%s: trial against level 0: %s; %s keeps it", d.qualname, said, winner)
        for plan in self.built:
            measured = statistics.median(self.seconds[plan.backend])
            d.measured(plan.backend, self.predicted.get(plan.backend, (None, None))[1],
                       measured)
            if plan.backend != winner:
                ratio = scores[plan.backend] / scores[winner] if scores[winner] else 0.0
                d.table.fail(plan.backend, plan.key.sig,
                             f"measured slower than {_name(winner, self)} for this call "
                             f"shape ({ratio:.2f}x its time), which keeps it", Code.SLOWER)
        if winner == _PLAIN:
            lost = [(p.level, p.backend, d.table.failure(p.backend, p.key.sig) or "")
                    for p in self.built]
            new = d.plain_plan(holder.key, holder.signature, list(self.plan0.fallbacks) + lost)
            new.note = f"a trial measured level 0 fastest ({said} of level 0)"
        else:
            won = next(p for p in self.built if p.backend == winner)
            new = Plan(d.backend(winner), won.prepared, won.signature, won.key,
                       list(won.fallbacks))
            new.predicted, new.converter = won.predicted, won.converter
            d.table.settle(new, f"measured {scores[_PLAIN] / scores[winner]:.2f}x faster "
                                f"than level 0 in a trial, the fastest of {len(scores)} "
                                f"({said})" if scores[winner] else "measured fastest")
        new.origin = "trial"
        d.table.settle(holder)
        if d.table.replace(holder.key, holder, new):
            seconds = statistics.median(self.seconds.get(winner) or [0.0])
            if self.deferred:  # not decided yet: neither remembered nor stored
                _provisional(d, new, seconds, sum(self.seconds.get(winner) or ()),
                             self.deferred)
            else:
                d.winner(new, seconds)


def _provisional(d: Builder, plan: Plan, seconds: float, spent: float,
                 deferred: list[Backend]) -> None:
    """``plan`` won a trial whose ``deferred`` entrants were not built: a call of
    theirs can save at most ``seconds`` (the winner's measured call), so they race on
    the next call when :data:`PAYBACK_CALLS` such calls outweigh a compile, else
    :func:`watch_deferred` waits."""
    if seconds * PAYBACK_CALLS >= compile_estimate():
        d.deferred_due(plan)
        return
    watch_deferred(d, plan, deferred, spent)


def watch_deferred(d: Builder, plan: Plan, deferred: list[Backend],
                   spent: float = 0.0) -> None:
    """``plan`` serves its key while the compile of ``deferred`` waits, as
    :mod:`.warmup` waits for a first compile: a call of theirs can save at most a call
    of ``plan``, so once :data:`PAYBACK_CALLS` of its calls would outweigh a compile,
    or the key has spent a compile's worth in it (``spent``: before this plan; ski
    rental, never more than twice the best choice in hindsight), the key is planned
    again and that trial builds them (:meth:`Builder.deferred_due`). The check wraps
    the plan's callable, so a first-call check that settles the plan keeps it."""
    compile_s = compile_estimate()
    inner = plan.prepared.fn

    first: list[float] = []  # the first call's time: it may hold a check's plain run

    def watched(*args: Any, **kwargs: Any) -> Any:
        result = inner(*args, **kwargs)
        calls, time_ = plan.calls, plan.time  # up to the previous call (fast path)
        if calls == 1 and not first:
            first.append(time_)
        rate = (time_ - first[0]) / (covered(calls) - 1) if calls > 1 and first else 0.0
        if time_ + spent >= compile_s or rate * PAYBACK_CALLS >= compile_s:
            d.deferred_due(plan)
        return result

    names = " and ".join(f"level {b.level} ({b.name})" for b in deferred)
    note = (f"{plan.note + '; ' if plan.note else ''}{names} is measured against it once "
            f"this key has run {compile_s:.2g} s (a compile's worth), or sooner when ten "
            "calls would, since its compile could not pay back before")
    with d.table.lock:
        plan.deferring = True
        plan.prepared = dataclasses.replace(plan.prepared, fn=watched)
        if plan.state is State.READY:
            d.table.settle(plan, note)
        else:
            plan.note = note


def _name(backend: str, trial: _Trial) -> str:
    if backend == _PLAIN:
        return "level 0 (python)"
    level = next(p.level for p in trial.built if p.backend == backend)
    return f"level {level} ({backend})"
