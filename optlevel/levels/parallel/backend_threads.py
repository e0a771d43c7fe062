"""Level 3, threads: NumPy code that releases the GIL, run on blocks of rows by a
persistent thread pool (see :mod:`optlevel.levels.parallel.local`); or a proven loop
over the rows of an array whose iterations are NumPy work, its iterations in pieces
on the same pool (:mod:`.iterthreads`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...analysis.shapes import call_work
from ...contract import YES, BackendBase, Code, Decline, Estimate, Pays, Prepared, Verdict
from . import costs, runtime
from .chunks import InexactSum, NotSplit, SplitOption, block_rows, parse_hint, split_call
from .iterplan import iteration_prepare, thread_iteration_estimate, thread_iteration_verdict
from .verdicts import chunk_verdict, split_elements

#: Python overhead of running the function once on a block, per NumPy operation.
_PER_OP_CALL_S = 1.5e-6


class ThreadsBackend(SplitOption, BackendBase):
    name = "threads"
    level = 3
    uses_threads = True
    holds_resources = True

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        verdict = chunk_verdict(features, signature)
        if verdict and not features.hot_loops:
            return YES
        if features.split.iterations is not None and (verdict or verdict.code == Code.DECLINED):
            return thread_iteration_verdict(features, signature)
        if not verdict:
            return verdict
        return Verdict(False, "its Python loops hold the GIL, so threads would take turns "
                              "(the processes backend runs such code)", code=Code.DECLINED)

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        refused, workers = costs.local_pool_refusal(settings, "threads", features)
        if refused is not None:
            return refused
        if _loop_pieces(features, signature):
            return thread_iteration_estimate(features, signature, profile, workers)
        ops = features.split.ops if features.split.ok else 4
        elements = split_elements(features, signature)
        work = call_work(features, signature)
        if work.known and work.flops:
            return Estimate(Pays.NO, "its matrix products run in BLAS, which already uses "
                                     "every core")
        # the elements the body's operations make and reduce (its work), where the
        # shapes can be followed through it; else the split arrays' size per operation
        element_ops = max(work.elements + work.reduced, elements) if work.known \
            else elements * ops
        floor = costs.below_threads_floor(max(element_ops, elements))
        if floor is not None:
            return floor
        serial = element_ops * costs.numpy_op_s(profile)
        blocks = max(workers * costs.MIN_BLOCKS_PER_WORKER, elements * 8 // costs.BLOCK_BYTES)
        parallel = (serial / costs.thread_speedup(profile, workers)
                    + blocks * ops * _PER_OP_CALL_S / workers
                    + workers * costs.thread_task_s(profile))
        return costs.judge(serial, parallel, f"on {workers} threads",
                           measure_below=costs.MEASURE_BELOW_S)

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        why = runtime.excluded(settings, "threads")
        if why:
            raise Decline(why, warn=False, code=Code.CONFIGURED)
        hint = parse_hint(features)
        if hint is None and _loop_pieces(features, signature):
            return iteration_prepare(func, features, runtime.worker_count(settings),
                                     threads=True)
        try:
            split_call(func, features, args, kwargs or {}, hint)
        except NotSplit as exc:
            raise Decline(str(exc), code=Code.DECLINED) from None
        workers = runtime.worker_count(settings)
        return Prepared(_threaded(func, features, hint, workers),
                        note=f"{workers} threads over blocks of rows",
                        internal_errors=(InexactSum,))

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        from ...config import settings

        workers = runtime.worker_count(settings())
        for key in ("parallel.numpy_op_s", "threads.task_s", f"threads.speedup.{workers}"):
            profile.forget(key)
        costs.numpy_op_s(profile)
        costs.thread_task_s(profile)
        costs.thread_speedup(profile, workers)

    def close(self) -> None:
        from .pools import THREADS

        THREADS.close()


def _loop_pieces(features: FunctionFeatures, signature: ArgSignature) -> bool:
    """Threads run the proven loop's iterations in pieces (not the function on blocks)."""
    return (features.hot_loops or not chunk_verdict(features, signature)) \
        and bool(thread_iteration_verdict(features, signature))


def _threaded(func: Callable[..., Any], features: FunctionFeatures,
              hint: dict[str, int] | None, workers: int) -> Callable[..., Any]:
    from .local import run_threads

    def run(*args: Any, **kwargs: Any) -> Any:
        if runtime.inside_worker():  # already on a level-3 worker: this core only
            return func(*args, **kwargs)
        try:
            call = split_call(func, features, args, kwargs, hint)
        except NotSplit:  # e.g. lengths that differ in this call: run it whole
            return func(*args, **kwargs)
        rows = block_rows(call, costs.BLOCK_BYTES, workers * costs.MIN_BLOCKS_PER_WORKER)
        return run_threads(call, workers, rows)

    return run
