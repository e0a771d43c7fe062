"""What the Dask and Ray backends share: when they apply, what they cost, how a
call runs on the cluster, and the fallback when the cluster fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...contract import YES, Code, Decline, Estimate, Pays, Prepared, Verdict
from ...errors import FallbackWarning, warn_once
from . import costs, runtime, ship, worker
from .chunks import InexactSum, NotSplit, combine, parse_hint, split_call
from .remote import PieceRaised
from .verdicts import chunk_verdict, split_elements

__all__ = ["cluster_applies", "cluster_estimate", "cluster_prepare", "unreachable"]

#: A Python loop costs at least this per element (the work a cluster must beat).
_PY_ELEMENT_S = 50e-9


def cluster_applies(kind: str, features: FunctionFeatures, signature: ArgSignature,
                    settings: Any) -> Verdict:
    verdict = chunk_verdict(features, signature)
    if not verdict:
        return verdict
    if features.mutated_params:
        return Verdict(False, f"writes {', '.join(sorted(features.mutated_params))} in place; "
                              f"{kind} workers would write copies", code=Code.DECLINED)
    return YES


def cluster_estimate(kind: str, features: FunctionFeatures, signature: ArgSignature,
                     settings: Any, profile: Any, task_s: Callable[[], float],
                     workers: Callable[[], int]) -> Estimate:
    """Pays when the work is worth several round trips to the cluster."""
    why = runtime.excluded(settings, kind)
    if why or runtime.inside_worker():
        return Estimate(Pays.NO, why or runtime.INSIDE_WORKER)
    workers_n = workers()
    elements = split_elements(features, signature)
    if features.hot_loops:
        serial = elements * _PY_ELEMENT_S
    else:
        ops = features.split.ops if features.split.ok else 4
        serial = elements * ops * costs.numpy_op_s(profile)
    overhead = 2 * workers_n * float(profile.measure(f"{kind}.task_s", task_s))
    if serial < 2 * overhead:
        return Estimate(Pays.NO, f"too small to pay: ~{serial * 1e3:.2g} ms of work against "
                                 f"~{overhead * 1e3:.2g} ms of round trips to {kind}",
                        overhead + serial / workers_n)
    return Estimate(Pays.YES, f"OPTLEVEL_EXECUTOR={kind}: {2 * workers_n} pieces on the cluster",
                    overhead + serial / workers_n)


def cluster_prepare(kind: str, func: Callable[..., Any], features: FunctionFeatures,
                    settings: Any, args: tuple, kwargs: dict,
                    run: Callable[[Any], list[Any]]) -> Prepared:
    """A callable that runs each call's pieces with ``run(call)`` and joins them."""
    why = runtime.excluded(settings, kind)
    if why:
        raise Decline(why, warn=False, code=Code.CONFIGURED)
    hint = parse_hint(features)
    try:
        split_call(func, features, args, kwargs, hint)
        ship.dumps_function(func)
        ship.check_globals(func, features.source.tree)
        ship.check_worker_reads(func, features.source.tree)
        ship.dumps_values(ship.current_globals(func), "a global it reads")
    except (NotSplit, ship.ShipError) as exc:
        raise Decline(str(exc), code=Code.DECLINED) from None
    name = getattr(func, "__qualname__", "function")

    def on_cluster(*a: Any, **kw: Any) -> Any:
        if runtime.inside_worker():
            return func(*a, **kw)
        try:
            call = split_call(func, features, a, kw, hint)
        except NotSplit:
            return func(*a, **kw)
        if call.n < 2:  # nothing to share out
            return call.run_whole()
        try:
            results = run(call)
        except PieceRaised:  # the plain call meets the same error here, as written
            return call.run_whole()
        except OSError as exc:  # the cluster went away since planning (CommClosedError, ...)
            warn_once((name, kind, "lost"), f"{name}: the {kind} cluster failed during the "
                      f"call ({type(exc).__name__}: {exc}); it ran at level 0 here instead.",
                      FallbackWarning)
            return func(*a, **kw)
        for _, said in results:
            worker.reissue(said, func)
        return combine(call, [result for result, _ in results])

    return Prepared(on_cluster, note=f"pieces on {kind}", internal_errors=(InexactSum,))


def unreachable(kind: str, target: Any, exc: BaseException) -> Verdict:
    """The cluster cannot be reached: warn once, and let local level 3 run instead."""
    where = f" at {target}" if isinstance(target, str) and target else ""
    reason = (f"the {kind} cluster{where} cannot be reached ({type(exc).__name__}: {exc}); "
              "level 3 runs on this machine instead")
    warn_once((kind, "unreachable", str(target)), f"optlevel: {reason}.", FallbackWarning)
    return Verdict(False, reason, code=Code.UNAVAILABLE)
