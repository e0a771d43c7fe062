"""Dispatch: building plans, and the fallback loop.

One :class:`Dispatcher` per decorated function. The fast path (in
:class:`~optlevel.api.Optimized`) looks a plan up by key and calls ``plan.fn``;
everything here runs only when a key is new or a build fails late. Plans change
state only through :class:`~optlevel.core.plan.PlanTable`; the steps of a plan
that is not settled yet live beside this module: :mod:`.warmup` (warm-up and
background compiles), :mod:`.trials` (measured trials), :mod:`.verification`
(the first call checked against plain Python).

How a new key is planned (:meth:`Dispatcher.plan_for`): the planner ranks the
backends; each is tried in order. A backend that declines is recorded (never
retried for that signature) and the next one is tried. Then:

- a backend the planner wants measured (``trial``) → level 0 now, the candidate
  next call, the faster keeps the key;
- in auto mode, a compiling backend whose compile would not pay back within a few
  calls (:func:`~optlevel.core.estimates.plain_seconds`) → plain Python serves, timed,
  and the compile starts in the background once the signature has spent a tenth
  of a compile's time in Python (a tiered JIT: a small signature never waits);
- ``OPTLEVEL_COMPILE=background`` → plain Python while a thread compiles;
- otherwise the backend is prepared now, and its first call is checked against
  plain Python when :meth:`Verifier.wants` says so.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures, analyze, describe_args
from ..config import Settings
from ..contract import Backend, Code, Decline, Prepared, RowKind
from ..errors import LevelUnavailable, first_line
from ..ladder import LEVEL_NAMES
from . import planner
from .calibrate import profile_for
from .estimates import plain_seconds
from .notices import warn_fallback, warn_fallbacks
from .plan import Plan, PlanKey, PlanTable, State
from .registry import BACKENDS
from .trials import start_trial
from .verification import Verifier, type_key
from .warmup import (
    PAYBACK_CALLS,
    compile_estimate,
    compile_in_background,
    record_compile,
    start_warmup,
)

__all__ = ["Plan", "PlanKey", "Dispatcher"]

log = logging.getLogger("optlevel")
#: the rows whose backend was asked and said no: an explicit level warns about them
_REFUSED = (RowKind.DECLINED, RowKind.MISSING, RowKind.UNAVAILABLE)


class Dispatcher:
    """Plans, failures and features for one decorated function."""

    def __init__(self, func: Callable[..., Any], verify: bool | None = None,
                 options: dict[str, Any] | None = None):
        self.func = func
        self.features: FunctionFeatures = analyze(func)
        if options:
            self.features = dataclasses.replace(self.features, options=dict(options))
        self.table = PlanTable()
        self.verifier = Verifier(func, self.features, self.table, verify)
        self.unfit: dict[PlanKey, Plan] = {}  # level-0 plans of calls a plan could not take
        # (backend, argument types without sizes) built once already: no compile to pay
        # for again, so no warm-up (a settings change drops plans, not compiled code)
        self.built: set[tuple] = set()

    # --- the table, by the names the fast path and stats use ----------------------

    @property
    def plans(self) -> dict[tuple, Plan]:
        return self.table.plans

    @property
    def qualname(self) -> str:
        return self.features.name

    def reset(self, generation: int) -> None:
        self.table.reset(generation)

    def all_plans(self) -> list[Plan]:
        with self.table.lock:
            return self.table.all_plans() + list(self.unfit.values())

    # --- building -------------------------------------------------------------------

    def plan_for(self, key: tuple, args: tuple, kwargs: dict, settings: Settings) -> Plan:
        """Build (once, under the lock) the plan for a new key."""
        with self.table.lock:
            plan = self.table.plans.get(key)
            if plan is None:
                pkey = PlanKey(*key)
                plan = self._build(pkey, args, kwargs, settings)
                self.table.install(pkey, plan)
            return plan

    def ranking(self, key: tuple, args: tuple, kwargs: dict,
                settings: Settings) -> tuple[ArgSignature, planner.Ranking]:
        ceiling, mode, _ = key
        signature = describe_args(args, kwargs, self.features.params)
        return signature, planner.rank(self.features, signature, ceiling, mode, settings,
                                       profile_for(settings))

    def _build(self, key: PlanKey, args: tuple, kwargs: dict, settings: Settings) -> Plan:
        signature, ranking = self.ranking(key, args, kwargs, settings)
        # Backends the configuration leaves out are not fallbacks: explain lists them.
        skipped = [(r.level, r.backend or "-", r.reason) for r in ranking.rows
                   if not r.tried and r.backend and r.level <= key.ceiling
                   and r.kind is not RowKind.CONFIGURED]
        # Explicit levels that fall back warn once the realized level is known; strict
        # raises instead and auto falls back quietly (explain and stats say why).
        declined = [(BACKENDS[r.backend], r.reason) for r in ranking.rows
                    if r.backend and r.kind in _REFUSED and r.level <= key.ceiling]
        for backend in ranking.order:
            failed = self.table.failure(backend.name, key.sig)
            if failed is None:
                plan = self._start(backend, key, signature, ranking, skipped, declined,
                                   args, kwargs, settings)
                if plan is not None:
                    if key.mode == planner.MODE_EXPLICIT:  # the level this plan aims at
                        warn_fallbacks(self.qualname, declined, key.ceiling, backend.level)
                    log.debug("%s: %s → level %d (%s)%s", self.qualname, signature,
                              plan.level, plan.backend,
                              "" if plan.state in (State.READY, State.VERIFYING) else
                              f", {plan.state.value} for {backend.name}")
                    return plan
                failed = self.table.failure(backend.name, key.sig) or "declined"
            skipped.append((backend.level, backend.name, failed))
        reasons = "; ".join(f"level {lvl} ({name}): {why}" for lvl, name, why in skipped
                            if lvl == key.ceiling) or "no backend at that level"
        raise LevelUnavailable(
            f"{self.qualname}: strict=True asked for level {key.ceiling} "
            f"({LEVEL_NAMES[key.ceiling]}) for ({signature}), which cannot run it: "
            f"{reasons}. Drop strict=True to let optlevel fall back, or pick another level.")

    def _start(self, backend: Backend, key: PlanKey, signature: ArgSignature,
               ranking: planner.Ranking, skipped: list, declined: list, args: tuple,
               kwargs: dict, settings: Settings) -> Plan | None:
        """The plan that starts ``backend`` for ``key``, or None when it declined."""
        if backend.level == 0:
            return self.plain_plan(key, signature, skipped)
        if ranking.is_trial(backend):
            plan = self.plain_plan(key, signature, skipped)
            start_trial(self, plan, backend, settings)
            return plan
        if backend.compiles and key.mode != planner.MODE_STRICT:
            later = self._compile_later(backend, key, args, kwargs, settings)
            if later is not None:
                plan = self.plain_plan(key, signature, skipped)
                if later is State.BACKGROUND:  # plain Python while it compiles
                    compile_in_background(self, plan, State.READY, backend, args, kwargs,
                                          settings)
                else:
                    start_warmup(self, plan, backend, settings)
                return plan
        try:
            prepared = self.prepare(backend, signature, args, kwargs, settings)
        except Decline as exc:
            self.table.fail(backend.name, key.sig, exc.reason, exc.code)
            if exc.warn:
                declined.append((backend, exc.reason))
            return None
        plan = Plan(backend, prepared, signature, key, skipped)
        self.verifier.arm(plan, backend, args, kwargs, settings)
        return plan

    def _compile_later(self, backend: Backend, key: PlanKey, args: tuple, kwargs: dict,
                       settings: Settings) -> State | None:
        """Should plain Python serve while ``backend`` compiles (BACKGROUND), or until
        the signature has run long enough to pay a compile back (WARMUP)?"""
        if settings.compile == "background":
            return State.BACKGROUND
        built = (backend.name, type_key(key.sig)) in self.built
        if settings.compile == "auto" and key.mode == planner.MODE_AUTO and not built \
                and plain_seconds(self.features, args, kwargs) * PAYBACK_CALLS \
                < compile_estimate():
            return State.WARMUP
        return None

    def prepare(self, backend: Backend, signature: ArgSignature, args: tuple,
                kwargs: dict, settings: Settings) -> Prepared:
        """``backend``'s callable for these arguments (its compile time recorded)."""
        prepared = backend.prepare(self.func, self.features, signature, settings, args,
                                   kwargs)
        if backend.compiles and prepared.compile_time > 0.01:
            record_compile(prepared.compile_time)
        self.built.add((backend.name, type_key(signature.key)))
        return prepared

    def plain_plan(self, key: PlanKey, signature: ArgSignature,
                   fallbacks: list[tuple[int, str, str]]) -> Plan:
        """A level-0 plan: the function as written, for ``key``."""
        return Plan(BACKENDS["python"], Prepared(self.func), signature, PlanKey(*key),
                    list(fallbacks))

    def declined_late(self, plan: Plan, backend: Backend, exc: Decline) -> None:
        """A build that ran after the first call (background, warm-up, trial) declined."""
        self.table.fail(backend.name, plan.key.sig, exc.reason, exc.code)
        with self.table.lock:
            plan.fallbacks.append((backend.level, backend.name, exc.reason))
        self.table.settle(plan, note="")
        if exc.warn and plan.mode == planner.MODE_EXPLICIT:
            warn_fallback(self.qualname, backend, plan.ceiling, 0, exc.reason)
        log.debug("%s: %s declined: %s", self.qualname, backend.name, exc.reason)

    # --- failures at call time ---------------------------------------------------------

    def recover(self, plan: Plan, key: tuple, exc: BaseException, args: tuple,
                kwargs: dict, settings: Settings) -> Any:
        """The plan raised one of the errors its backend declared: these arguments do
        not fit the compiled code (run them plain, keep the plan), or the build failed
        late (record it, re-plan below that level). The user's code has not run."""
        if isinstance(exc, plan.unfit_errors) and not isinstance(exc, plan.internal_errors):
            return self._run_unfit(plan, exc, args, kwargs)
        reason = f"failed when called: {type(exc).__name__}: {first_line(exc)}"
        self.table.fail(plan.backend, plan.key.sig, reason, Code.CALL_FAILED)
        self.table.drop(plan.key, plan)
        log.debug("%s: %s %s; falling back", self.qualname, plan.backend, reason)
        new = self.plan_for(key, args, kwargs, settings)
        if plan.mode == planner.MODE_EXPLICIT and plan.backend in BACKENDS:
            warn_fallback(self.qualname, BACKENDS[plan.backend], plan.ceiling, new.level,
                          reason)
        start = time.perf_counter()
        result = new.fn(*args, **kwargs)
        new.count(time.perf_counter() - start)
        return result

    def _run_unfit(self, plan: Plan, exc: BaseException, args: tuple, kwargs: dict) -> Any:
        reason = (f"these arguments do not fit level {plan.level}'s compiled code "
                  f"({type(exc).__name__}: {first_line(exc) if str(exc).strip() else ''}); "
                  "such calls run at level 0")
        with self.table.lock:
            side = self.unfit.get(plan.key)
            if side is None:
                side = self.unfit[plan.key] = self.plain_plan(
                    plan.key, plan.signature, [(plan.level, plan.backend, reason)])
                side.note = reason
        log.debug("%s: %s", self.qualname, reason)
        start = time.perf_counter()
        result = self.func(*args, **kwargs)
        side.count(time.perf_counter() - start)
        return result
