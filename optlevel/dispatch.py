"""Dispatch: the plan cache, the fallback loop, background compiles and verify
(measured trials are in :mod:`optlevel.trial`).

One :class:`Dispatcher` per decorated function. The fast path (in
:class:`~optlevel.api.Optimized`) looks a plan up by key; everything here runs
only when a key is new, a build fails late, or a plan is being verified.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from . import planner
from .analysis import ArgSignature, FunctionFeatures, analyze, describe_args
from .backends import BACKENDS, Backend, Decline, Prepared
from .calibrate import profile_for
from .config import Settings
from .errors import FallbackWarning, LevelUnavailable, ResultMismatchWarning, warn_once
from .levels import LEVEL_NAMES
from .plan import Plan
from .trial import trial_plan
from .verify import restore_args, same_result, snapshot_args

__all__ = ["Plan", "Dispatcher"]  # Plan is re-exported from .plan

log = logging.getLogger("optlevel")


class Dispatcher:
    """Plans, failures and features for one decorated function."""

    def __init__(self, func: Callable[..., Any], verify: bool | None = None,
                 options: dict[str, Any] | None = None):
        self.func = func
        self.features: FunctionFeatures = analyze(func)
        if options:
            self.features = dataclasses.replace(self.features, options=dict(options))
        self.verify = verify
        self.plans: dict[tuple, Plan] = {}
        self.failures: dict[tuple[str, tuple], str] = {}  # (backend, signature key) → why
        self.generation = -1
        self.lock = threading.RLock()
        self.retired: list[Plan] = []  # plans dropped by a settings change, kept for stats

    @property
    def qualname(self) -> str:
        return self.features.name

    def reset(self, generation: int) -> None:
        """Settings changed: drop the plans (compiled code stays cached in the backends)."""
        with self.lock:
            if self.generation != generation:
                self.retired.extend(self.plans.values())
                self.plans = {}
                self.generation = generation

    def plan_for(self, key: tuple, args: tuple, kwargs: dict, settings: Settings) -> Plan:
        """Build (once, under the lock) the plan for a new key."""
        with self.lock:
            plan = self.plans.get(key)
            if plan is None:
                plan = self._build(key, args, kwargs, settings)
                self.plans[key] = plan
            return plan

    def ranking(self, key: tuple, args: tuple, kwargs: dict,
                settings: Settings) -> tuple[ArgSignature, planner.Ranking]:
        ceiling, mode, sig_key = key
        signature = describe_args(args, kwargs, self.features.params)
        return signature, planner.rank(self.features, signature, ceiling, mode, settings,
                                       profile_for(settings))

    def _build(self, key: tuple, args: tuple, kwargs: dict, settings: Settings) -> Plan:
        ceiling, mode, sig_key = key
        signature, ranking = self.ranking(key, args, kwargs, settings)
        skipped = [(r.level, r.backend or "-", r.reason) for r in ranking.rows
                   if not r.tried and r.backend and r.level <= ceiling]
        # Explicit levels that fall back warn once the realized level is known; strict
        # raises instead and auto falls back quietly (explain and stats say why).
        declined = [(BACKENDS[r.backend], r.reason) for r in ranking.rows
                    if r.backend and r.kind in ("declined", "missing", "unavailable")
                    and r.level <= ceiling]
        for backend in ranking.order:
            failed = self.failures.get((backend.name, sig_key))
            if failed is None and ranking.is_trial(backend):
                plan0 = self.plain_plan(key, signature, skipped)
                return trial_plan(self, backend, key, plan0, settings)
            if failed is None and backend.compiles and settings.compile == "background" \
                    and mode != planner.MODE_STRICT:
                return self._background(backend, key, signature, args, kwargs, settings,
                                        skipped)
            if failed is None:
                try:
                    prepared = backend.prepare(self.func, self.features, signature,
                                               settings, args, kwargs)
                except Decline as exc:
                    failed = self.failures[(backend.name, sig_key)] = exc.reason
                    if exc.warn:
                        declined.append((backend, exc.reason))
                else:
                    plan = Plan(prepared.fn, backend, prepared, signature, ceiling, mode,
                                skipped)
                    log.debug("%s: %s → level %d (%s)", self.qualname, signature,
                              plan.level, plan.backend)
                    plan.fn = self._checked(plan, key, settings, plan.fn)
                    if mode == planner.MODE_EXPLICIT:
                        self._warn_fallbacks(declined, ceiling, plan.level)
                    return plan
            skipped.append((backend.level, backend.name, failed))
        reasons = "; ".join(f"level {lvl} ({name}): {why}" for lvl, name, why in skipped
                            if lvl == ceiling) or "no backend at that level"
        raise LevelUnavailable(
            f"{self.qualname}: strict=True asked for level {ceiling} "
            f"({LEVEL_NAMES[ceiling]}) for ({signature}), which cannot run it: {reasons}. "
            "Drop strict=True to let optlevel fall back, or pick another level.")

    def _warn_fallbacks(self, declined: list[tuple[Backend, str]], ceiling: int,
                        realized: int) -> None:
        for backend, reason in declined:
            if backend.level > realized:
                self.warn_fallback(backend, ceiling, realized, reason)

    def warn_fallback(self, backend: Backend, ceiling: int, realized: int,
                      reason: str) -> None:
        """Warn (once) that an explicitly requested ``backend`` could not run the call."""
        warn_once(
            (self.qualname, backend.name, reason),
            f"{self.qualname}: level {ceiling} ({LEVEL_NAMES[ceiling]}) was requested; it ran "
            f"at level {realized} ({LEVEL_NAMES[realized]}) because {backend.name} (level "
            f"{backend.level}) cannot run it: {reason}. Fix that, or decorate with "
            f"level={realized} to silence this; warnings.filterwarnings('ignore', "
            f"category=optlevel.FallbackWarning) silences every fallback warning.",
            FallbackWarning)

    def _background(self, backend: Backend, key: tuple, signature: ArgSignature,
                    args: tuple, kwargs: dict, settings: Settings,
                    skipped: list) -> Plan:
        """A level-0 plan that runs now, while a thread compiles ``backend`` and then
        puts a compiled plan in its place (the level-0 one is kept for stats)."""
        plan = self.plain_plan(key, signature, skipped)
        plan.note = f"compiling for level {backend.level} in the background"

        def compile_then_swap() -> None:
            try:
                prepared = backend.prepare(self.func, self.features, signature, settings,
                                           args, kwargs)
            except Decline as exc:
                self.failures[(backend.name, key[2])] = exc.reason
                plan.fallbacks.append((backend.level, backend.name, exc.reason))
                plan.note = ""
                if exc.warn and key[1] == planner.MODE_EXPLICIT:
                    self.warn_fallback(backend, key[0], 0, exc.reason)
                log.debug("%s: background compile declined: %s", self.qualname, exc.reason)
                return
            compiled = Plan(prepared.fn, backend, prepared, signature, key[0], key[1],
                            list(skipped))
            compiled.fn = self._checked(compiled, key, settings, prepared.fn)
            # A new plan, so the calls that ran plain Python stay counted at level 0.
            plan.note = f"ran while level {backend.level} compiled in the background"
            self.replace_plan(key, plan, compiled)
            log.debug("%s: background compile done in %.3fs", self.qualname,
                      prepared.compile_time)

        threading.Thread(target=compile_then_swap, daemon=True,
                         name=f"optlevel-compile-{self.qualname}").start()
        return plan

    def plain_plan(self, key: tuple, signature: ArgSignature,
                   fallbacks: list[tuple[int, str, str]]) -> Plan:
        """A level-0 plan: the function as written, for ``key``."""
        python = BACKENDS["python"]
        return Plan(self.func, python, Prepared(self.func), signature, key[0], key[1],
                    fallbacks)

    def replace_plan(self, key: tuple, old: Plan, new: Plan) -> None:
        """Put ``new`` in ``old``'s place (if it is still there); keep ``old`` for stats."""
        with self.lock:
            if self.plans.get(key) is old:
                self.plans[key] = new
                self.retired.append(old)

    def _checked(self, plan: Plan, key: tuple, settings: Settings,
                 fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, wrapped to verify its first call when verification is on."""
        verify = settings.verify if self.verify is None else self.verify
        return self._verifying(plan, key, fn) if verify and plan.level > 0 else fn

    def _verifying(self, plan: Plan, key: tuple, fast: Callable[..., Any]) -> Callable:
        """The plan's first call also runs the plain function and compares."""

        def first_call(*args: Any, **kwargs: Any) -> Any:
            plain_args, plain_kwargs = snapshot_args(args, kwargs)
            result = fast(*args, **kwargs)
            expected = self.func(*plain_args, **plain_kwargs)
            plan.fn = fast
            same = same_result(result, expected) and all(
                same_result(a, b) for a, b in zip(args, plain_args))
            if same:
                return result
            reason = f"its result differs from the plain function's for ({plan.signature})"
            self.failures[(plan.backend, key[2])] = reason
            warn_once((self.qualname, "verify", plan.backend, key),
                      f"{self.qualname}: level {plan.level} ({plan.backend}) returned a "
                      f"different result than plain Python for ({plan.signature}); this "
                      "signature now runs at level 0 and the plain result is returned. "
                      "Please report it with optlevel.explain(f, *args).",
                      ResultMismatchWarning)
            restore_args(args, kwargs, plain_args, plain_kwargs)
            python = BACKENDS["python"]
            plan.fn, plan.level, plan.backend = self.func, 0, python.name
            plan.internal_errors = ()
            return expected

        return first_call

    def recover(self, plan: Plan, key: tuple, exc: BaseException, args: tuple,
                kwargs: dict, settings: Settings) -> Any:
        """A build error surfaced at call time (e.g. a late compile): never the user's
        code, which has not run. Record it, re-plan below that level, and run."""
        reason = f"failed when called: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        with self.lock:
            self.failures[(plan.backend, key[2])] = reason
            self.plans.pop(key, None)
            self.retired.append(plan)
        log.debug("%s: %s %s; falling back", self.qualname, plan.backend, reason)
        new = self.plan_for(key, args, kwargs, settings)
        if plan.mode == planner.MODE_EXPLICIT and plan.backend in BACKENDS:
            self.warn_fallback(BACKENDS[plan.backend], plan.ceiling, new.level, reason)
        start = time.perf_counter()
        result = new.fn(*args, **kwargs)
        new.time += time.perf_counter() - start
        new.calls += 1
        return result

    def all_plans(self) -> list[Plan]:
        with self.lock:
            return self.retired + list(self.plans.values())
