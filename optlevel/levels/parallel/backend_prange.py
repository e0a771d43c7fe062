"""Level 3, prange: loops whose iterations are proven independent compile with Numba
``parallel=True`` and run on all cores (see :mod:`optlevel.levels.parallel.prange`).

It obeys level 2's semantics by asking level 2: :class:`NumbaBackend`'s ``applies``
and ``prepare`` decide first, and whatever level 2 declines, prange declines with
the same reason. Level 2's compiled function also serves the calls prange must not
run in parallel (arguments that share memory with an array it writes, a call from a
level-3 worker), and reruns a call whose parallel loop raised (Numba loses such
exceptions) so that the user sees Python's exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from ...config import usable_cache_dir
from ...contract import BackendBase, Code, Decline, Estimate, Pays, Prepared, Verdict
from ...core.timing import median_seconds
from ...errors import ConfigError
from ..numba import NumbaBackend, argument_types, replay_findings, result_type
from ..numba.guard import changed_since
from . import costs, runtime
from .prange import REORDER_REASON, SUM_ORDERS, order_sensitive, read_and_written

#: A compiled loop iteration costs at least this (a bound for the cost model).
_ITERATION_S = 1e-9

_level2 = NumbaBackend()


class PrangeBackend(BackendBase):
    name = "prange"
    level = 3
    requires: tuple[str, ...] = ("numba",)
    install_hint = "pip install numba"
    compiles = True
    uses_threads = True
    options = {"sum_order": "levels 1 and 3: how reductions add their terms. Level 1: "
                            "'auto' (default) and 'loop' (the loop's order, bit for bit) or "
                            "'pairwise' (like np.sum). Level 3 (prange): a float sum or "
                            "product keeps the loop's order (it stays at level 2) unless "
                            "'pairwise', which lets threads add in another order (first "
                            "call checked against the plain function)"}

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        if not features.split.loops:
            reasons = features.split.loop_reasons
            return Verdict(False, f"no loop is proven independent: {reasons[0]}" if reasons
                           else "no top-level `for` loop to run in parallel", code=Code.DECLINED)
        # Level 2 replays these in Python from its checked compiled code; the parallel
        # build has no such checks, so it declines them as before (optlevel issue 14).
        replayed = replay_findings(features, signature)
        if replayed:
            return Verdict(False, str(replayed[0]), code=replayed[0].detail)
        inexact = order_sensitive(features)
        if inexact and _sum_order(features) != "pairwise":
            return Verdict(False, REORDER_REASON.format(names=", ".join(inexact)),
                           code=Code.DECLINED)
        return _level2.applies(features, signature, settings, profile)

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        why = runtime.excluded(settings, "threads")
        if why or runtime.inside_worker():
            return Estimate(Pays.NO, why or runtime.INSIDE_WORKER)
        workers = runtime.worker_count(settings)
        if workers <= 1:
            return Estimate(Pays.NO, "one worker: nothing to share the work with")
        serial_rule = _level2.estimate(features, signature, settings, profile)
        if serial_rule.pays is Pays.NO:
            return serial_rule
        n = max((a.size for a in signature.args if a.kind == "numpy"), default=0)
        work = n * _ITERATION_S * (math.sqrt(n) if features.max_loop_depth >= 2 else 1.0)
        launch = float(profile.get("prange.launch_s", costs.PRANGE_LAUNCH_S)) \
            if profile is not None else costs.PRANGE_LAUNCH_S
        judged = costs.judge(work, work / workers + 4 * launch,
                             f"on {workers} Numba threads")
        if judged.pays is Pays.YES and serial_rule.pays is Pays.TRIAL:
            return Estimate(Pays.TRIAL, serial_rule.reason, judged.cost)
        return judged

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        from numba.core.errors import NumbaError

        from .prange import build_parallel, check_reductions, compile_checked

        why = runtime.excluded(settings, "threads")
        if why:
            raise Decline(why, warn=False, code=Code.CONFIGURED)
        serial = _level2.prepare(func, features, signature, settings, args, kwargs)
        if any(lp.written_params and any(op in ("min", "max") for _, op in lp.reductions)
               for lp in features.split.loops):
            raise Decline("a min/max reduction in a loop that writes its arguments: with "
                          "NaNs its result depends on the order, and it cannot be re-run",
                          code=Code.DECLINED)
        reductions = tuple(sorted({name for lp in features.split.loops
                                   for name, _ in lp.reductions}))
        summed = tuple(sorted({name for lp in features.split.loops
                               for name, op in lp.reductions if op in ("+", "*")}))
        inexact = check_reductions(serial.fn, args, kwargs or {}, reductions, summed)
        reorder = _sum_order(features) == "pairwise"
        if inexact and not reorder:
            raise Decline(REORDER_REASON.format(names=", ".join(inexact)), warn=False,
                          code=Code.DECLINED)
        try:
            disp, frozen = build_parallel(func, features, serial.fn,
                                          usable_cache_dir(settings.cache_dir))
        except (SyntaxError, ValueError, TypeError, KeyError) as exc:
            raise Decline(f"could not rebuild the loop for prange: {type(exc).__name__}: "
                          f"{exc}") from None
        argtypes = argument_types(disp.py_func, args, kwargs or {})
        compile_checked(disp, argtypes)
        proven = result_type(func, features, signature)
        fn = _guarded(disp, serial.fn, func, features, frozen,
                      runtime.worker_count(settings), settings.workers)
        return Prepared(fn, serial.compile_time, (NumbaError,) + serial.internal_errors,
                        unfit_errors=serial.unfit_errors,  # level 2's replays
                        note="Numba parallel=True over the independent loops",
                        verify=True if inexact or _scalar_unproven(disp, argtypes, proven)
                        else None,
                        result_type=proven)

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        profile.forget("prange.launch_s")
        profile.measure("prange.launch_s", _measure_launch)


def _scalar_unproven(disp: Any, argtypes: tuple, proven: type | None) -> bool:
    """Does the loop return a number whose type in plain Python is not proven? Numba
    gives a Python ``int``/``float`` where the plain function may give ``np.int64`` or
    ``np.float64`` (``s = 0; s += x[i]``): the first call of each signature is then
    checked, and the repair it learns (the plain function's scalar type) is kept for
    that plan and for this backend's later plans of the same argument types."""
    from numba.core import types

    if proven is not None:
        return False
    overload = disp.overloads.get(tuple(argtypes))
    returned = getattr(getattr(overload, "signature", None), "return_type", None)
    value = getattr(returned, "types", (returned,))[0] \
        if isinstance(returned, types.BaseTuple) else returned
    return isinstance(value, (types.Number, types.Boolean))


def _sum_order(features: FunctionFeatures) -> str:
    order = features.options.get("sum_order", "auto")
    if order not in SUM_ORDERS:
        raise ConfigError(f"{features.name}: sum_order={order!r} is not valid: use one of "
                          f"{', '.join(repr(o) for o in SUM_ORDERS)}")
    return str(order)


def _guarded(disp: Any, serial: Callable[..., Any], func: Callable[..., Any],
             features: FunctionFeatures, frozen: dict[str, Any], workers: int,
             asked: int) -> Callable[..., Any]:
    """The parallel dispatcher, except where it must not run in parallel: an array it
    writes shares memory with another argument, a call from a level-3 worker, a
    Python int argument beyond 64 bits, or a global it froze has changed since
    (level 2's callable then checks, rebuilds, or hands the call to level 0).

    A parallel run that did not finish every iteration (an exception Numba lost on a
    pool thread, or surfaced as ``SystemError``: see :func:`.prange.rewrite`) is run
    again by level 2's serial code, which raises what Python raises. Arrays the loops
    read as well as write are copied first and put back before that rerun (it would
    apply their updates twice); arrays they only write are rewritten with the same
    values up to the failing iteration, and keep the parallel run's values past it,
    where Python would have left the old ones (copying them on every call would cost
    as much as the loop itself).
    """
    import numba

    written = sorted({p for lp in features.split.loops for p in lp.written_params})
    positions = [features.params.index(p) for p in written if p in features.params]
    reread = list(read_and_written(features))
    saved_at = [features.params.index(p) for p in reread if p in features.params]
    threads = min(workers, int(getattr(numba.config, "NUMBA_NUM_THREADS", workers))) \
        if asked else 0
    minmax = any(op in ("min", "max") for lp in features.split.loops
                 for _, op in lp.reductions)

    globals_ = func.__globals__
    missing = object()
    # What level 2's code froze when this was built, its helpers' globals included
    # (a helper's ``K`` is compiled into the parallel code through level 2's helpers):
    # once one changes, level 2's callable serves (it rebuilds for the new value).
    level2_froze = getattr(serial, "frozen", lambda: ((), ()))()

    def run(*args: Any, **kwargs: Any) -> Any:
        if runtime.inside_worker() or (positions and _aliased(args, kwargs, positions,
                                                              written)) or \
                any(globals_.get(k, missing) is not v for k, v in frozen.items()) or \
                changed_since(level2_froze) or _big_int(args, kwargs):
            return serial(*args, **kwargs)
        if threads:
            numba.set_num_threads(threads)
        saved = _save(args, kwargs, saved_at, reread) if saved_at else []
        try:
            result, finished = disp(*args, **kwargs)
        except SystemError:  # an exception raised on the calling thread, lost by Numba
            finished = False
        if not finished:
            _restore(saved)
            return serial(*args, **kwargs)
        if minmax and _is_nan(result):
            # min/max with NaNs depend on the order values are met: the serial loop decides.
            return serial(*args, **kwargs)
        return result

    return run


_INT64 = (-(2 ** 63), 2 ** 63)


def _big_int(args: tuple, kwargs: dict) -> bool:
    """A Python int argument that does not fit int64 (Numba's dispatcher would raise
    its own OverflowError; level 2's callable knows what that call means)."""
    for value in (*args, *kwargs.values()):
        if type(value) is int and not _INT64[0] <= value < _INT64[1]:
            return True
    return False


def _save(args: tuple, kwargs: dict, positions: list[int],
          written: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Copies of the array arguments the loops write (to put back if the run fails)."""
    targets = [args[i] for i in positions if i < len(args)] + \
        [kwargs[w] for w in written if w in kwargs]
    return [(t, t.copy()) for t in targets if isinstance(t, np.ndarray)]


def _restore(saved: list[tuple[np.ndarray, np.ndarray]]) -> None:
    for target, copy in saved:
        target[...] = copy


def _aliased(args: tuple, kwargs: dict, positions: list[int], written: list[str]) -> bool:
    """Does an array the loop writes share memory with another array argument?"""
    arrays = [(k, a) for k, a in enumerate(list(args) + list(kwargs.values()))
              if isinstance(a, np.ndarray)]
    names = list(kwargs)
    targets = [i for i in positions if i < len(args)] + \
        [len(args) + names.index(w) for w in written if w in kwargs]
    values = list(args) + list(kwargs.values())
    for t in targets:
        target = values[t]
        if not isinstance(target, np.ndarray):
            continue
        # by position, not identity: f(a, a) passes one array as two arguments
        for k, other in arrays:
            if k != t and np.may_share_memory(target, other):
                return True
    return False


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and value != value


def _measure_launch() -> float:
    import numba

    @numba.njit(parallel=True)
    def touch(x: Any) -> None:
        for i in numba.prange(x.shape[0]):
            x[i] += 1.0

    x = np.zeros(numba.get_num_threads() * 2)
    return median_seconds(lambda: touch(x), 20)
