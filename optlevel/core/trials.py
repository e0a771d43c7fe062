"""Measured trials: a candidate the planner is unsure of is timed against plain
Python on real calls, and the faster keeps the key.

The first call runs plain Python, timed, and builds the candidate (checking it
on copies of that call where a check is wanted), so a decline shows at once.
Under level ``auto`` with ``OPTLEVEL_COMPILE=auto``, a call too small to pay a
compile back within :data:`~optlevel.core.warmup.PAYBACK_CALLS` calls waits for no
compile, as outside a trial: plain Python runs, timed, until the signature has
spent a tenth of a compile's time, and the call that gets there builds it (a
function without source, whose loops cannot be read, is such a trial);
short calls are timed :data:`TRIAL_SAMPLES` times a side (the first is often
cold). The candidate's median must beat plain Python's fastest: a conservative
test, since a wrong "faster" costs every later call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..contract import Backend, Code, Decline
from .builds import Builder
from .estimates import per_element
from .plan import Plan, State
from .planner import MODE_AUTO
from .verify import snapshot_args
from .warmup import PAYBACK_CALLS, compile_estimate

__all__ = ["TRIAL_SAMPLES", "TRIAL_QUICK_S", "start_trial"]

log = logging.getLogger("optlevel")

#: Each side is timed this many calls while the calls are shorter than TRIAL_QUICK_S
#: (a longer call is timed once).
TRIAL_SAMPLES = 3
TRIAL_QUICK_S = 0.05


def start_trial(d: Builder, plan0: Plan, backend: Backend, settings: Any) -> None:
    """``plan0`` (level 0) times plain Python, then hands the key to the candidate."""
    d.table.enter(plan0, State.TRIAL_BASELINE, _baseline_step(d, plan0, backend, settings),
                  f"first call of a trial: level {backend.level} measured against level 0")


def _baseline_step(d: Builder, plan0: Plan, backend: Backend,
                   settings: Any) -> Callable[..., Any]:
    samples: list[float] = []
    built: list[Plan] = []
    spent = [0.0]  # plain Python's time before the candidate was built
    warms_up = (backend.compiles and settings.compile == "auto"
                and plan0.mode == MODE_AUTO)

    def baseline(*args: Any, **kwargs: Any) -> Any:
        first = not samples
        verify = first and d.verifier.wants(backend, args, kwargs, settings)
        copies = snapshot_args(args, kwargs) if verify else None
        start = time.perf_counter()
        result = d.func(*args, **kwargs)
        elapsed = time.perf_counter() - start
        if first and warms_up and not _paid(spent, elapsed):
            return result  # too small to wait for a compile yet
        samples.append(per_element(elapsed, args, kwargs))
        if first:
            candidate = _candidate(d, plan0, backend, settings, copies, result, args, kwargs)
            if candidate is None:
                return result
            built.append(candidate)
        if len(samples) < TRIAL_SAMPLES and elapsed < TRIAL_QUICK_S:
            return result
        d.table.settle(plan0)  # whatever happens next, this plan is plain Python
        candidate = built[0]
        d.table.enter(candidate, State.TRIAL_CANDIDATE,
                      _candidate_step(d, candidate, min(samples), plan0))
        d.table.replace(plan0.key, plan0, candidate)
        return result

    return baseline


def _paid(spent: list[float], elapsed: float) -> bool:
    """Whether a compile pays now: this call alone would pay it back within
    PAYBACK_CALLS calls, or the calls so far have spent a tenth of it."""
    spent[0] += elapsed
    compile_s = compile_estimate()
    return elapsed * PAYBACK_CALLS >= compile_s or spent[0] >= compile_s / PAYBACK_CALLS


def _candidate(d: Builder, plan0: Plan, backend: Backend, settings: Any,
               copies: tuple[tuple, dict] | None, result: Any, args: tuple,
               kwargs: dict) -> Plan | None:
    """Build the trial's candidate, or None (and plain Python keeps the key) when it
    declines or its answer on the copies differs from plain Python's."""
    try:
        prepared = d.prepare(backend, plan0.signature, args, kwargs, settings)
    except Decline as exc:
        d.declined_late(plan0, backend, exc)
        return None
    candidate = Plan(backend, prepared, plan0.signature, plan0.key, list(plan0.fallbacks))
    try:
        differs = copies is not None and not d.verifier.check_copies(
            candidate, copies, result, args, kwargs)
    except candidate.unfit_errors:  # this call does not fit it (level 2: it replays in
        differs = False  # Python): nothing compiled to compare; the candidate stays
    if differs:
        with d.table.lock:
            plan0.fallbacks.append((backend.level, backend.name,
                                    d.table.failure(backend.name, plan0.key.sig)
                                    or "its result differs"))
        d.table.settle(plan0)
        return None
    return candidate


def _candidate_step(d: Builder, candidate: Plan, base: float,
                    plan0: Plan) -> Callable[..., Any]:
    samples: list[float] = []

    def measured(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = candidate.run_settled(*args, **kwargs)
        elapsed = time.perf_counter() - start
        samples.append(per_element(elapsed, args, kwargs))
        if len(samples) < TRIAL_SAMPLES and elapsed < TRIAL_QUICK_S:
            return result  # its first call may start a pool or warm caches
        fast = sorted(samples)[len(samples) // 2]
        speedup = base / fast if fast > 0 else float("inf")
        log.debug("%s: trial of %s: %.2fx level 0", d.qualname, candidate.backend, speedup)
        if speedup > 1.0:
            d.table.settle(candidate, f"measured {speedup:.2f}x faster than level 0")
            return result
        _lost(d, candidate, plan0, speedup)
        return result

    return measured


def _lost(d: Builder, candidate: Plan, plan0: Plan, speedup: float) -> None:
    """The candidate was slower: plain Python takes the key back, for good."""
    reason = (f"measured slower than level 0 for this call shape ({speedup:.2f}x), so "
              "level 0 keeps it")
    d.table.fail(candidate.backend, candidate.key.sig, reason, Code.SLOWER)
    slow = d.plain_plan(candidate.key, candidate.signature, list(plan0.fallbacks)
                        + [(candidate.level, candidate.backend, reason)])
    d.table.replace(candidate.key, candidate, slow)
