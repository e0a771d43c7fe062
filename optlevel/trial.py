"""Measured trials: keep a level only if it ran faster than level 0 on this call shape.

Used where the planner cannot tell whether compiling pays, e.g. loops whose body
calls NumPy on whole arrays (``x.mean()`` per element): Numba removes the Python
overhead but its reductions can be slower than NumPy's. The first call runs plain
Python, timed, then builds the candidate; the second call runs the candidate, timed;
the faster one (per array element, so a different size in the same size class
compares fairly) keeps the key. Each call is counted at the level it really ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends import Backend, Decline, Prepared
from .plan import Plan
from .planner import MODE_EXPLICIT

if TYPE_CHECKING:
    from .config import Settings
    from .dispatch import Dispatcher

__all__ = ["trial_plan"]

log = logging.getLogger("optlevel")


def _work(args: tuple, kwargs: dict) -> int:
    """Array elements in a call: what the per-element time is divided by."""
    values = list(args) + list(kwargs.values())
    return max(1, sum(int(a.size) for a in values if isinstance(a, np.ndarray)))


def trial_plan(d: Dispatcher, backend: Backend, key: tuple, plan0: Plan,
               settings: Settings) -> Plan:
    """Turn the level-0 ``plan0`` into the first step of a trial of ``backend``."""
    plan0.note = f"first call of a trial: level {backend.level} measured against level 0"

    def plain_then_build(*args: Any, **kwargs: Any) -> Any:
        start = perf_counter()
        result = d.func(*args, **kwargs)
        base = (perf_counter() - start) / _work(args, kwargs)
        plan0.fn = d.func  # whatever happens next, this plan is plain Python now
        try:
            prepared = backend.prepare(d.func, d.features, plan0.signature, settings,
                                       args, kwargs)
        except Decline as exc:
            d.failures[(backend.name, key[2])] = exc.reason
            plan0.fallbacks.append((backend.level, backend.name, exc.reason))
            plan0.note = ""
            if exc.warn and key[1] == MODE_EXPLICIT:
                d.warn_fallback(backend, key[0], 0, exc.reason)
            return result
        candidate = Plan(prepared.fn, backend, prepared, plan0.signature, key[0], key[1],
                         list(plan0.fallbacks))
        candidate.fn = _measured(d, key, candidate, prepared, base, plan0)
        d.replace_plan(key, plan0, candidate)
        return result

    plan0.fn = plain_then_build
    return plan0


def _measured(d: Dispatcher, key: tuple, candidate: Plan, prepared: Prepared, base: float,
              plan0: Plan) -> Callable[..., Any]:
    def run_and_judge(*args: Any, **kwargs: Any) -> Any:
        start = perf_counter()
        result = prepared.fn(*args, **kwargs)
        fast = (perf_counter() - start) / _work(args, kwargs)
        speedup = base / fast if fast > 0 else float("inf")
        if speedup > 1.0:
            candidate.note = f"measured {speedup:.2f}x faster than level 0"
            candidate.fn = prepared.fn
        else:
            reason = (f"measured slower than level 0 for this call shape "
                      f"({speedup:.2f}x), so level 0 keeps it")
            d.failures[(candidate.backend, key[2])] = reason
            slow = d.plain_plan(key, candidate.signature, list(plan0.fallbacks)
                                + [(candidate.level, candidate.backend, reason)])
            d.replace_plan(key, candidate, slow)
        log.debug("%s: trial of %s: %.2fx level 0", d.qualname, candidate.backend, speedup)
        return result

    return run_and_judge
