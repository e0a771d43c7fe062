"""Compiling without making the caller wait: warm-up and background compiles.

In auto mode, a compiling backend whose compile would not pay back within
:data:`PAYBACK_CALLS` calls starts as plain Python, timed (a *warm-up*); once
the signature has spent a tenth of a compile's time in Python, a thread builds
the backend and the built plan takes the key (a tiered JIT: a small signature
never waits). ``OPTLEVEL_COMPILE=background`` compiles in a thread at once.
What a compile costs is learned from the compiles of this process.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

from ..contract import Backend, Decline
from .builds import Builder
from .plan import Plan, State
from .runtime import RUNTIME

__all__ = ["COMPILE_ESTIMATE_S", "PAYBACK_CALLS", "compile_estimate", "record_compile",
           "start_warmup", "compile_in_background"]

log = logging.getLogger("optlevel")

#: What a compile is assumed to cost until one has been measured in this process.
COMPILE_ESTIMATE_S = 0.3
#: In auto mode, a compile must be likely to pay back within this many calls.
PAYBACK_CALLS = 10
# the latest compile times measured in this process (bounded; reset() forgets them)
_COMPILES = RUNTIME.cache("core.compile_times", maxsize=256)
_count = itertools.count()


def record_compile(seconds: float) -> None:
    _COMPILES[next(_count)] = seconds


def compile_estimate() -> float:
    """The median measured compile time in this process, or the default."""
    times = sorted(_COMPILES.values())
    return times[len(times) // 2] if times else COMPILE_ESTIMATE_S


def start_warmup(d: Builder, plan: Plan, backend: Backend, settings: Any) -> None:
    """``plan`` (level 0) runs plain Python, timed, until compiling would pay back."""
    threshold = compile_estimate() / PAYBACK_CALLS
    spent = [0.0]

    def warmup(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = d.func(*args, **kwargs)
        spent[0] += time.perf_counter() - start
        if spent[0] >= threshold and plan.state is State.WARMUP:
            compile_in_background(d, plan, State.WARMUP, backend, args, kwargs, settings)
        return result

    d.table.enter(plan, State.WARMUP, warmup,
                  f"warming up: level {backend.level} compiles once this signature has "
                  "run long enough in Python to pay it back")


def compile_in_background(d: Builder, plan: Plan, expected: State, backend: Backend,
                          args: tuple, kwargs: dict, settings: Any) -> None:
    """``plan`` (level 0) serves while a thread builds ``backend``, then the built
    plan takes its place (the level-0 one is kept for stats). Only the thread that
    moves ``plan`` out of ``expected`` starts the build."""
    if not d.table.advance(plan, expected, State.BACKGROUND, d.func,
                           f"compiling for level {backend.level} in the background"):
        return

    def build() -> None:
        try:
            prepared = d.prepare(backend, plan.signature, args, kwargs, settings)
        except Decline as exc:
            d.declined_late(plan, backend, exc)
            return
        built = Plan(backend, prepared, plan.signature, plan.key, list(plan.fallbacks))
        d.verifier.arm(built, backend, args, kwargs, settings)
        d.table.settle(plan, note=f"ran while level {backend.level} compiled in the "
                                  "background")
        d.table.replace(plan.key, plan, built)
        log.debug("%s: background compile done in %.3fs", d.qualname, prepared.compile_time)

    threading.Thread(target=build, daemon=True,
                     name=f"optlevel-compile-{d.qualname}").start()
