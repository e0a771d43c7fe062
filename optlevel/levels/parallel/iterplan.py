"""The processes backend's iteration splits (:mod:`.split_iter`, :mod:`.iterrun`):
when they apply, what they cost, and the callable that runs them."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...arrays import ArgKind
from ...contract import YES, Code, Decline, Estimate, Pays, Prepared, Verdict
from ...core.estimates import plain_seconds
from ...core.verification import VERIFY_BUDGET_S
from . import costs, runtime, ship
from .verdicts import level3_preconditions

__all__ = ["iteration_verdict", "iteration_estimate", "iteration_prepare",
           "iteration_cluster_estimate", "thread_iteration_verdict",
           "thread_iteration_estimate", "pieces_per_worker", "first_call_check"]

#: One step of the innermost Python loop, typically (rowwise_python_matmul's
#: ``s += A[i][k] * B[k][j]`` measured 60-90 ns on the 2-core machine).
_STEP_S = 80e-9
#: The trip count guessed for a loop whose bound the signature does not tell.
_UNKNOWN_TRIPS = 16
#: Pieces per worker: several even out iterations of uneven cost; each costs a round trip.
#: rowwise N=256 on the 2-core machine: 278 ms with 1 per worker, 283 ms with 2, 306 ms
#: with 4 (plain 430 ms).
PIECES_PER_WORKER = 2
#: ... and on many cores: one slow core (another process, a cold cache) holds every piece
#: of its share back, so smaller pieces pay for their round trips there (the row split
#: measured 10.0x with 1 piece per worker, 11.7x with 8 on 16 cores).
PIECES_PER_WORKER_MANY = 4
#: Python's own work per iteration of a loop whose body calls NumPy on a row (the calls,
#: the indexing, the store): it holds the GIL, so threads run it one at a time.
_THREAD_STEP_S = 4e-6
#: NumPy calls per iteration, typically, where the cost model cannot count them.
_ROW_OPS = 4


def pieces_per_worker(workers: int) -> int:
    """How many pieces each worker gets: 2 on a few cores, 4 on many."""
    return PIECES_PER_WORKER if workers <= 4 else PIECES_PER_WORKER_MANY


def iteration_verdict(features: FunctionFeatures) -> Verdict:
    shared = level3_preconditions(features)
    if not shared:
        return shared
    if features.split.iterations is None:
        return Verdict(False, f"no split proof: {features.split.reason}; no loop whose "
                              f"iterations are independent: {features.split.iteration_reason}",
                       code=Code.DECLINED)
    name = _float_started(features)
    if name:
        return Verdict(False, f"its loop adds or multiplies into {name!r}, which starts as a "
                              "float: folded piece by piece the sum would be reassociated "
                              "and its last bits could differ; "
                              "@optimize(sum_order='pairwise') allows that", code=Code.DECLINED)
    return YES


def _float_started(features: FunctionFeatures) -> str:
    """A + or * reduction of the proven loop assigned a float constant in the function
    (``s = 0.0``), unless ``sum_order="pairwise"``; ''. (One that meets floats otherwise
    is caught when its pieces return: :meth:`.iterrun.LoopRunner.unmergeable`.)"""
    proof = features.split.iterations
    names = {name for name, op in proof.reductions if op in ("+", "*")}
    tree = features.source.tree
    if not names or tree is None or features.options.get("sum_order") == "pairwise":
        return ""
    for node in ast.walk(tree):
        value = getattr(node, "value", None)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(value, ast.Constant) \
                and type(value.value) in (float, complex):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in names:
                    return target.id
    return ""


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
    from .iterhelp import helps

    _, task = costs.process_costs(profile, workers)
    shipped = sum(a.size for a in signature.args) * 8 * max(1, int(math.sqrt(steps)) // 64)
    if helps(workers):  # the caller runs a share itself: one piece per worker, the
        # caller's share of the data not shipped (:mod:`.iterhelp`)
        pieces, shipped = workers - 1, shipped * (workers - 1) / workers
        how = f"loop of ~{steps:.3g} steps on this process and " + \
            (f"{pieces} others" if pieces > 1 else "one other")
    else:
        pieces = workers * pieces_per_worker(workers)
        how = f"loop of ~{steps:.3g} steps in {pieces} pieces on {workers} processes"
    parallel = serial / workers + pieces * task + 2 * shipped * costs.copy_s(profile)
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
    pieces = workers * pieces_per_worker(workers)
    parallel = serial / workers + pieces * task_s
    return costs.judge(serial, parallel, f"in {pieces} pieces on {kind}")


def _row_loop_array(features: FunctionFeatures, signature: ArgSignature) -> Any:
    """The NumPy argument (2-D or more) whose rows the proven loop walks, one level
    deep (no Python loop inside), or None: where threads can help at all."""
    proof = features.split.iterations
    if proof is None or len(proof.trips) != 1 or proof.trips[0] is None:
        return None
    arg = next((a for a in signature.args if a.name == proof.trips[0]), None)
    if arg is None or arg.kind is not ArgKind.NUMPY or len(arg.shape or ()) < 2:
        return None
    return arg


def thread_iteration_verdict(features: FunctionFeatures, signature: ArgSignature) -> Verdict:
    """Threads serve a proven loop whose every iteration is NumPy work on a row."""
    shared = iteration_verdict(features)
    if not shared:
        return shared
    if _row_loop_array(features, signature) is None:
        return Verdict(False, "its Python loops hold the GIL, so threads would take turns "
                              "(threads serve a loop over the rows of a NumPy array with "
                              "only NumPy work inside; the processes backend runs this one)",
                       code=Code.DECLINED)
    return YES


def thread_iteration_estimate(features: FunctionFeatures, signature: ArgSignature,
                              profile: Any, workers: int) -> Estimate:
    """NumPy's share of each iteration runs on every thread at once, Python's in turn."""
    arg = _row_loop_array(features, signature)
    rows = max(1, arg.shape[0])
    python = rows * _THREAD_STEP_S
    numpy = arg.size * _ROW_OPS * costs.numpy_op_s(profile)
    pieces = workers * pieces_per_worker(workers)
    parallel = python + numpy / costs.thread_speedup(profile, workers) \
        + pieces * costs.thread_task_s(profile)
    judged = costs.judge(python + numpy, parallel,
                         f"a loop over {rows} rows in {pieces} pieces on {workers} threads")
    if judged.pays is Pays.YES:  # how much of a row's work releases the GIL is a guess
        return Estimate(Pays.TRIAL, f"{judged.reason}; the first calls measure it against "
                                    "level 0", judged.cost)
    return judged


def first_call_check(features: FunctionFeatures, settings: Any, args: tuple,
                     kwargs: dict | None) -> bool | None:
    """``Prepared.verify`` for an iteration split across processes or a cluster: left to
    the core (None) where it checks a first call of this size in full; False where the
    call is too large for that, because the runner checks the first piece of its first
    split call itself (:mod:`.itercheck`) — the core's sampled check cuts only arrays,
    and would have plain Python answer every call of lists or dicts this large."""
    if settings is None or getattr(settings, "verify", "auto") != "auto":
        return None
    if any(op in ("+", "*") for _, op in features.split.iterations.reductions):
        # a float sum folded piece by piece is reassociated (1e16 + 1 - 1e16 + 1 ...):
        # one piece cannot show it; the core checks such a call (a smaller one, for
        # arrays) or lets plain Python answer it
        return None
    budget = VERIFY_BUDGET_S * (10 if features.verify_reasons else 1)
    return None if plain_seconds(features, args, kwargs or {}) <= budget else False


def iteration_prepare(func: Callable[..., Any], features: FunctionFeatures,
                      workers: int, client: Callable[[], Any] | None = None,
                      threads: bool = False, ray: bool = False,
                      verify: bool | None = None) -> Prepared:
    """The function with its proven loop run in pieces: on the process pool, as tasks
    of the Dask cluster ``client()`` returns, as Ray tasks (``ray``: Ray is
    initialized), or (``threads``) on the thread pool."""
    from .iterrun import LoopRunner, build_driver

    proof = features.split.iterations
    tree = features.source.tree
    if not isinstance(tree, ast.FunctionDef):
        raise Decline("no function source to rebuild the loop from", code=Code.DECLINED)
    try:
        if not threads:
            ship.check_globals(func, tree)
            ship.check_worker_reads(func, tree)
            ship.dumps_function(func)
        runner = LoopRunner(func, tree, proof, workers, pieces_per_worker(workers), client,
                            threads, ray, features.options.get("sum_order") == "pairwise")
        driver = build_driver(func, tree, proof, runner)
    except ship.ShipError as exc:
        raise Decline(str(exc), code=Code.DECLINED) from None
    except (SyntaxError, ValueError, TypeError) as exc:  # a shape the rewrite did not foresee
        raise Decline(f"the loop could not be rebuilt: {type(exc).__name__}: {exc}",
                      code=Code.DECLINED) from None
    if client is None and not threads and not ray and not runtime.inside_worker():
        _warm(workers, ship.dumps_function(func))  # a measured trial must not time the
        # pool's start, nor each worker's first load of the function (its module's import)
    driver.__optlevel_loop__ = runner  # type: ignore[attr-defined]
    where = "Dask tasks" if client is not None else "Ray tasks" if ray else \
        f"{workers} threads" if threads else f"{workers} worker processes"
    return Prepared(driver, note=f"{proof}; pieces of its iterations on {where}",
                    verify=None if threads else verify)


def _warm(workers: int, func_blob: bytes) -> None:
    from concurrent.futures.process import BrokenProcessPool  # 7 ms: not at planning

    from .iterworker import preload
    from .pools import PROCESSES

    executor = PROCESSES.get(workers)
    try:
        for future in [executor.submit(preload, func_blob) for _ in range(2 * workers)]:
            future.result()
    except (BrokenProcessPool, OSError, RuntimeError):
        PROCESSES.rebuild()  # the calls retry, then run the loop here, with a warning
