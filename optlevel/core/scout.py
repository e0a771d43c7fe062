"""Scouting: the first calls of a loop-free function run plain before any planning.

A function with no Python-level loop (no ``for``, ``while`` or comprehension) is
vectorized NumPy or straight-line code. Whatever a level may gain on it, planning a
key costs 0.3-1 ms in Python (the ranking), which is 10-100 times a call of a few
microseconds: 20 calls of a 6 µs kernel took 6-7 times plain in total when the first
call planned. Where a level may pay, planning also starts a trial, whose first call
runs plain Python and each entrant on copies of the arguments (about
:data:`TRIAL_CALLS` calls' time). So in auto mode a new key of such a function starts
as plain Python, timed, and nothing else (a *scout*). Once the key has spent
:data:`SCOUT_FACTOR` times what planning and a trial would cost (ski rental, as
:mod:`.warmup` does for compiles: they then add at most a tenth of the time already
spent, so at least 31 calls run plain), the scout settles, the plan is dropped and
the next call plans the key as usual. The scout wraps no call: the plain function
runs as the plan's callable, and the fast path calls the scout's check
(``Plan.watch``) after each call it times (the first 8, then one in 8), reading the
time it counts (``Plan.time``).

Functions with loops are not scouted: their first call may compile at once (as
``numba.njit`` does), and :mod:`.warmup` already runs them plain until a compile pays.
"""

from __future__ import annotations

import dis
import itertools
import logging
import types
from typing import Any, Protocol

from ..analysis import FunctionFeatures
from .plan import Plan, PlanTable, State, covered
from .runtime import RUNTIME

__all__ = ["LONG_CALL_PLANNINGS", "PLANNING_ESTIMATE_S", "SCOUT_FACTOR", "TRIAL_CALLS",
           "loop_free", "planning_estimate", "record_planning", "start_scout"]

log = logging.getLogger("optlevel")

#: What planning a key is assumed to cost until one has been measured in this process.
PLANNING_ESTIMATE_S = 1e-3
#: A scouted key is planned once it has spent this many times what planning it (and
#: a trial) would cost, in Python.
SCOUT_FACTOR = 10
#: A call that takes this many times what planning costs is planned at once (from
#: the second call): planning adds at most 5% to one such call, and what a level
#: gains on it is worth measuring now (a 1.6 s pricer would otherwise run 31 times in
#: plain NumPy before its first GPU plan; its trial, if the planner wants one, is the
#: planner's to decide).
LONG_CALL_PLANNINGS = 20
#: What a trial is assumed to cost, in calls of the plain function (measured on the
#: vectorized kernels of ``benchmarks/planner_figures.py vector``: 2-8).
TRIAL_CALLS = 3
# the latest planning times measured in this process (bounded; reset() forgets them)
_PLANNINGS = RUNTIME.cache("core.planning_times", maxsize=256)
_count = itertools.count()
# opcodes of a loop: an iteration step, or a jump back (by version)
_LOOP_OPS = frozenset(dis.opmap[name] for name in (
    "FOR_ITER", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP_ABSOLUTE",
    "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE") if name in dis.opmap)


class Scouted(Protocol):
    """What a scout needs from the dispatcher."""

    func: Any
    table: PlanTable

    def scouted(self, plan: Plan) -> None: ...


def loop_free(features: FunctionFeatures) -> bool:
    """Does the function's own code hold no Python-level loop (comprehensions and
    nested functions included)? Read from the bytecode: no instruction that iterates
    or jumps back. False without source: what the function is stays unknown."""
    if features.source.tree is None or features.loops or features.is_generator \
            or features.is_async:
        return False
    code = getattr(features.function, "__code__", None)
    return code is not None and not _loops_in(code)


def _loops_in(code: types.CodeType) -> bool:
    if not _LOOP_OPS.isdisjoint(code.co_code[::2]):
        return True
    return any(_loops_in(c) for c in code.co_consts if isinstance(c, types.CodeType))


def record_planning(seconds: float) -> None:
    _PLANNINGS[next(_count)] = seconds


def planning_estimate() -> float:
    """What planning a key costs: the lower median of the planning times measured in
    this process, at most :data:`PLANNING_ESTIMATE_S`. The first plannings of a
    process also load backends and probe devices (importing CuPy to find no GPU took
    60 ms here, measuring the machine profile 0.4 s): once-per-process costs that must
    not make every later scout wait a hundred times longer."""
    times = sorted(_PLANNINGS.values())
    return min(PLANNING_ESTIMATE_S, times[(len(times) - 1) // 2]) if times \
        else PLANNING_ESTIMATE_S


def start_scout(d: Scouted, plan: Plan) -> None:
    """``plan`` (level 0) runs plain Python until planning its key (and a trial)
    would cost at most a tenth of the time the fast path counted; then
    :meth:`Scouted.scouted` hands the key back to the planner."""
    planning = planning_estimate()

    def watch() -> None:
        # after a timed call (the fast path's clock: Plan.time and Plan.calls)
        calls, spent = plan.calls, plan.time
        if not calls:
            return
        per = spent / covered(calls)  # Plan.measured, from the one reading of both above
        long_call = per >= LONG_CALL_PLANNINGS * planning
        if (long_call or spent >= SCOUT_FACTOR * (planning + TRIAL_CALLS * per)) \
                and plan.state is State.SCOUTING:
            log.debug("%s: scouted %.3fs in Python over %d calls; the next call plans",
                      getattr(d, "qualname", "?"), spent, calls)
            d.scouted(plan)

    d.table.enter(plan, State.SCOUTING, d.func,
                  "scouting: no Python-level loop, so plain Python runs, timed, until "
                  "planning and a trial would cost under a tenth of the time spent",
                  watch=watch)
