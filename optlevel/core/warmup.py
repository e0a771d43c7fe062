"""When to compile: decided by measurement, never in a thread beside the caller.

Under CPython's GIL a compile thread and the caller's Python calls take turns at
the interpreter: both slow down (an n-body loop ran 0.6-0.8x of plain for 16 calls
while a thread compiled beside it). So no compile runs in a thread here. In auto
mode a compiling backend either

- compiles now, in the calling thread, on the call that needs it (as
  ``numba.njit`` does), when the estimate of a plain call says the compile pays
  back within :data:`PAYBACK_CALLS` calls; or
- starts as plain Python, timed (a *warm-up*): each warm-up call runs the plain
  function and nothing else (so it costs what plain Python costs). After each
  timed one the measured time (the fast path's ``Plan.time``) decides: once the calls
  measured long enough for a compile to pay back within :data:`PAYBACK_CALLS`
  calls, or once the signature has spent
  as long in Python as a compile costs (ski rental: never more than twice the
  best choice in hindsight), the plan is dropped and the next call plans again,
  this time compiling at once (:meth:`Dispatcher.warmed`).

``OPTLEVEL_COMPILE=background`` asks for the warm-up at every ceiling that is not
strict (plain Python until the compile has paid for itself), not for a thread.
What a compile costs is learned from the compiles of this process.
"""

from __future__ import annotations

import itertools
import logging
from typing import Protocol

from ..contract import Backend
from .plan import Plan, PlanTable, State, covered
from .runtime import RUNTIME

__all__ = ["COMPILE_ESTIMATE_S", "PAYBACK_CALLS", "compile_estimate", "record_compile",
           "start_warmup", "Warmed"]

log = logging.getLogger("optlevel")

#: What a compile is assumed to cost until one has been measured in this process.
COMPILE_ESTIMATE_S = 0.3
#: In auto mode, a compile must be likely to pay back within this many calls.
PAYBACK_CALLS = 10
# the latest compile times measured in this process (bounded; reset() forgets them)
_COMPILES = RUNTIME.cache("core.compile_times", maxsize=256)
_count = itertools.count()


class Warmed(Protocol):
    """What the warm-up needs from the dispatcher."""

    table: PlanTable

    def warmed(self, plan: Plan) -> None: ...


def record_compile(seconds: float) -> None:
    _COMPILES[next(_count)] = seconds


def compile_estimate() -> float:
    """The median measured compile time in this process, or the default."""
    times = sorted(_COMPILES.values())
    return times[len(times) // 2] if times else COMPILE_ESTIMATE_S


def pays_now(call_seconds: float) -> bool:
    """Would a compile pay back within :data:`PAYBACK_CALLS` calls of this length?"""
    return call_seconds * PAYBACK_CALLS >= compile_estimate()


def start_warmup(d: Warmed, plan: Plan, backend: Backend) -> None:
    """``plan`` (level 0) runs plain Python, timed, until compiling ``backend`` pays;
    then :meth:`Warmed.warmed` hands the key back to the planner. Nothing compiles
    during a warm-up call.

    The plain function itself runs (no wrapper: a Python frame around it cost 0.4 µs
    of a 2 µs call); the fast path's clock (``Plan.time``, ``Plan.calls``: every one
    of the first 8 calls, then one in 8) feeds the check, which runs as the plan's
    ``watch`` after each timed call. The first call is one of them, so a long one
    compiles on the next."""
    compile_s = compile_estimate()

    def check() -> None:
        spent, calls = plan.time, plan.calls
        # Plan.measured, from one reading of both (another thread may count a call)
        if (spent >= compile_s or spent / covered(calls) * PAYBACK_CALLS >= compile_s) \
                and plan.state is State.WARMUP:
            log.debug("%s: warm-up done after %.3fs in Python (%d calls); level %d "
                      "compiles on the next call", getattr(d, "qualname", "?"), spent,
                      calls, backend.level)
            d.warmed(plan)

    d.table.enter(plan, State.WARMUP, plan.fn,
                  f"warming up: plain Python, timed, until a level-{backend.level} compile "
                  "would pay back (then it compiles on the caller's next call, never in a "
                  "thread beside it)", watch=check)
