"""The processes backend's iteration splits (:mod:`.split_iter`, :mod:`.iterrun`):
when they apply, what they cost, and the callable that runs them."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...contract import YES, Code, Decline, Estimate, Pays, Prepared, Verdict
from . import costs, runtime, ship
from .verdicts import level3_preconditions

__all__ = ["iteration_verdict", "iteration_estimate", "iteration_prepare",
           "iteration_cluster_estimate"]

#: One step of the innermost Python loop, typically (rowwise_python_matmul's
#: ``s += A[i][k] * B[k][j]`` measured 60-90 ns on the 2-core machine).
_STEP_S = 80e-9
#: The trip count guessed for a loop whose bound the signature does not tell.
_UNKNOWN_TRIPS = 16
#: Pieces per worker: several even out iterations of uneven cost; each costs a round trip.
#: rowwise N=256 on the 2-core machine: 278 ms with 1 per worker, 283 ms with 2, 306 ms
#: with 4 (plain 430 ms).
PIECES_PER_WORKER = 2


def iteration_verdict(features: FunctionFeatures) -> Verdict:
    shared = level3_preconditions(features)
    if not shared:
        return shared
    if features.split.iterations is None:
        return Verdict(False, f"no split proof: {features.split.reason}; no loop whose "
                              f"iterations are independent: {features.split.iteration_reason}",
                       code=Code.DECLINED)
    return YES


def _steps(features: FunctionFeatures, signature: ArgSignature) -> int:
    sizes = {a.name: a.size for a in signature.args}
    steps = 1
    for bound in features.split.iterations.trips:
        steps *= max(1, sizes.get(bound, _UNKNOWN_TRIPS) if bound else _UNKNOWN_TRIPS)
    return steps


def iteration_estimate(features: FunctionFeatures, signature: ArgSignature, profile: Any,
                       workers: int, asked: bool) -> Estimate:
    steps = _steps(features, signature)
    serial = steps * _STEP_S
    _, task = costs.process_costs(profile, workers)
    pieces = workers * PIECES_PER_WORKER
    shipped = sum(a.size for a in signature.args) * 8 * max(1, int(math.sqrt(steps)) // 64)
    parallel = serial / workers + pieces * task + 2 * shipped * costs.copy_s(profile)
    how = f"loop of ~{steps:.3g} steps in {pieces} pieces on {workers} processes"
    judged = costs.judge(serial, parallel, how)
    if judged.pays is Pays.YES and None in features.split.iterations.trips:
        # a loop whose trip count is a guess (and whose items' shipping is unknown):
        # measured against level 0 on the first calls instead
        judged = Estimate(Pays.TRIAL, f"{judged.reason}, some loop bounds guessed: the "
                                      "first calls measure it against level 0", judged.cost)
    if asked and judged.pays is not Pays.YES:
        return Estimate(Pays.YES, f"OPTLEVEL_EXECUTOR=processes asks for it, though "
                                  f"{judged.reason}", judged.cost)
    return judged


def iteration_cluster_estimate(kind: str, features: FunctionFeatures,
                               signature: ArgSignature, task_s: float,
                               workers: int) -> Estimate:
    """A loop's pieces on a cluster pay when the loop is worth their round trips."""
    serial = _steps(features, signature) * _STEP_S
    parallel = serial / workers + 2 * workers * task_s
    return costs.judge(serial, parallel, f"in {2 * workers} pieces on {kind}")


def iteration_prepare(func: Callable[..., Any], features: FunctionFeatures,
                      workers: int, client: Callable[[], Any] | None = None) -> Prepared:
    """The function with its proven loop run in pieces: on the process pool, or as
    tasks of the Dask cluster ``client()`` returns."""
    from .iterrun import LoopRunner, build_driver
    from .pools import PROCESSES

    proof = features.split.iterations
    tree = features.source.tree
    if not isinstance(tree, ast.FunctionDef):
        raise Decline("no function source to rebuild the loop from", code=Code.DECLINED)
    try:
        ship.check_globals(func, tree)
        ship.check_worker_reads(func, tree)
        ship.dumps_function(func)
        runner = LoopRunner(func, tree, proof, workers, PIECES_PER_WORKER, client)
        driver = build_driver(func, tree, proof, runner)
    except ship.ShipError as exc:
        raise Decline(str(exc), code=Code.DECLINED) from None
    except (SyntaxError, ValueError, TypeError) as exc:  # a shape the rewrite did not foresee
        raise Decline(f"the loop could not be rebuilt: {type(exc).__name__}: {exc}",
                      code=Code.DECLINED) from None
    if client is None and not PROCESSES.running and not runtime.inside_worker():
        _warm(workers)  # a measured trial must not time the pool's start
    driver.__optlevel_loop__ = runner  # type: ignore[attr-defined]
    where = "Dask tasks" if client is not None else f"{workers} worker processes"
    return Prepared(driver, note=f"{proof}; pieces of its iterations on {where}")


def _warm(workers: int) -> None:
    import pickle

    from . import worker
    from .pools import PROCESSES

    executor = PROCESSES.get(workers)
    blob = pickle.dumps(len)
    try:
        for future in [executor.submit(worker.run_items, blob, [((),)])
                       for _ in range(workers)]:
            future.result()
    except (BrokenProcessPool, OSError, RuntimeError):
        PROCESSES.rebuild()  # the calls retry, then run the loop here, with a warning
