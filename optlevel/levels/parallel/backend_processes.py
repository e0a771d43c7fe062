"""Level 3, processes: Python code that holds the GIL, run on pieces of rows by a
persistent process pool, arrays through shared memory (see :mod:`.local`); or, where
no row split holds, a loop's iterations in pieces (:mod:`.iterplan`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...contract import BackendBase, Code, Decline, Estimate, Pays, Prepared, Verdict
from ...core.registry import BACKENDS, requirement_missing
from ...errors import FallbackWarning, warn_once
from . import costs, runtime, ship
from .chunks import InexactSum, NotSplit, SplitOption, parse_hint, split_call
from .iterplan import (
    first_call_check,
    iteration_estimate,
    iteration_prepare,
    iteration_verdict,
)
from .verdicts import chunk_verdict, split_bytes, split_elements

#: A Python loop costs at least this per element it touches (a bound, not a measurement).
_PY_ELEMENT_S = 50e-9
#: ... and rarely more than this per element for the loops users write.
_PY_ELEMENT_MAX_S = 1e-6
#: No round trip to a worker process costs less than this.
_MIN_TASK_S = 1e-3
#: Pieces per worker: several even out uneven rows and cores that run at different
#: speeds. On a 16-core host, rowwise_python_matmul N=256 measured 10.0x with 1 piece per
#: worker, 9.3x (2), 10.8x (4), 11.7x (8); 16 processes each spinning alone reach 13.3x.
_PIECES_PER_WORKER = 8


class ProcessesBackend(SplitOption, BackendBase):
    name = "processes"
    level = 3
    uses_processes = True
    holds_resources = True

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        rows = chunk_verdict(features, signature)
        if rows or not rows.code == Code.DECLINED or features.split.iterations is None:
            return rows
        return iteration_verdict(features)

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        refused, workers = costs.local_pool_refusal(settings, "processes", features)
        if refused is not None:
            return refused
        asked = runtime.executor_kind(settings)[0] == "processes"
        if not chunk_verdict(features, signature):
            other = "" if asked else _better_elsewhere(features, signature, settings)
            if other:
                return Estimate(Pays.NO, other)
            return iteration_estimate(features, signature, profile, workers, asked)
        if not asked:
            other = _better_elsewhere(features, signature, settings)
            if other:
                return Estimate(Pays.NO, other)
        elements = split_elements(features, signature)
        if features.max_loop_depth >= 2:  # nested loops touch elements many times over
            elements = int(elements * math.sqrt(elements))
        most = elements * _PY_ELEMENT_MAX_S
        if most < workers * _MIN_TASK_S:  # clearly too small: no need to measure the pool
            return Estimate(Pays.NO, f"too small to pay: at most ~{most * 1e3:.2g} ms of work")
        start, task = costs.process_costs(profile, workers)
        from .pools import PROCESSES

        overhead = (0.0 if PROCESSES.running else start) + workers * _PIECES_PER_WORKER * task \
            + 2 * split_bytes(features, signature) * costs.copy_s(profile)
        if most < 2 * overhead:
            return Estimate(Pays.NO, f"too small to pay: at most ~{most * 1e3:.2g} ms of work "
                                     f"against ~{overhead * 1e3:.2g} ms to hand it to "
                                     f"{workers} processes", overhead + most / workers)
        least = elements * _PY_ELEMENT_S
        judged = costs.judge(least, least / workers + overhead, f"on {workers} processes")
        if asked and judged.pays is not Pays.YES:
            return Estimate(Pays.YES, f"OPTLEVEL_EXECUTOR=processes asks for it, though "
                                      f"{judged.reason}", judged.cost)
        return judged

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        why = runtime.excluded(settings, "processes")
        if why:
            raise Decline(why, warn=False, code=Code.CONFIGURED)
        workers = runtime.worker_count(settings)
        hint = parse_hint(features)
        if hint is None and features.split.iterations is not None and \
                not chunk_verdict(features, signature):
            return iteration_prepare(func, features, workers,
                                     verify=first_call_check(features, settings, args, kwargs))
        try:
            call = split_call(func, features, args, kwargs or {}, hint)
            ship.dumps_function(func)
            ship.check_globals(func, features.source.tree)
            ship.check_worker_reads(func, features.source.tree)
            ship.dumps_values(ship.current_globals(func), "a global it reads")
            for name, value in call.arguments.items():
                if name not in call.split:
                    ship.dumps_values(value, f"argument {name!r}")
        except (NotSplit, ship.ShipError) as exc:
            raise Decline(str(exc), code=Code.DECLINED) from None
        return Prepared(_pooled(func, features, hint, workers),
                        note=f"{workers} worker processes, arrays in shared memory",
                        internal_errors=(InexactSum,))

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        from ...config import settings

        workers = runtime.worker_count(settings())
        for key in ("processes.task_s", f"processes.start_s.{workers}", "processes.copy_s"):
            profile.forget(key)
        costs.process_costs(profile, workers)
        costs.copy_s(profile)

    def close(self) -> None:
        from .pools import PROCESSES

        PROCESSES.close()


def _better_elsewhere(features: FunctionFeatures, signature: ArgSignature,
                      settings: Any) -> str:
    """Why a process pool over Python would lose to another level, or ''."""
    if not features.hot_loops:
        return ("NumPy releases the GIL, so threads share its arrays without copying them "
                "(the threads backend)")
    numba = BACKENDS.get("numba")
    if numba is not None and requirement_missing(numba) is None and \
            numba.applies(features, signature, settings, None) and \
            numba.estimate(features, signature, settings, None).pays is Pays.YES:
        return "Numba compiles its loops (level 2, or prange at level 3), faster than Python " \
               "in several processes; OPTLEVEL_EXECUTOR=processes insists"
    return ""


def _pooled(func: Callable[..., Any], features: FunctionFeatures,
            hint: dict[str, int] | None, workers: int) -> Callable[..., Any]:
    from .local import run_processes

    pieces = workers * _PIECES_PER_WORKER
    name = getattr(func, "__qualname__", "function")

    def run(*args: Any, **kwargs: Any) -> Any:
        if runtime.inside_worker():
            return func(*args, **kwargs)
        try:
            call = split_call(func, features, args, kwargs, hint)
        except NotSplit:
            return func(*args, **kwargs)
        if call.n < 2:  # nothing to share out
            return call.run_whole()
        try:
            return run_processes(call, workers, pieces)
        except ship.ShipError as exc:  # e.g. an argument of a kind never seen at planning
            warn_once((name, "processes", str(exc)),
                      f"{name}: level 3 (processes) could not run this call because {exc}; "
                      "it ran at level 0 in this process instead.", FallbackWarning)
            return func(*args, **kwargs)

    return run
