"""Dispatch: building plans, the fallback loop, and the steps of unsettled plans.

One :class:`Dispatcher` per decorated function. The fast path (in
:class:`~optlevel.api.Optimized`) looks a plan up by key and calls ``plan.fn``;
everything here runs only when a key is new, a plan is not settled yet (warming
up, compiling in the background, in a measured trial, being verified), or a
build fails late. Plans change state only through :class:`~optlevel.core.plan.PlanTable`.

How a new key is planned (:meth:`Dispatcher._build`): the planner ranks the
backends; each is tried in order. A backend that declines is recorded (never
retried for that signature) and the next one is tried. Then:

- a backend the planner wants measured (``trial``) → level 0 now, the candidate
  next call, the faster keeps the key;
- in auto mode, a compiling backend whose compile would not pay back within a few
  calls (:func:`~optlevel.core.trial.plain_seconds`) → plain Python serves, timed, and
  the compile starts in the background once the signature has spent a tenth of a
  compile's time in Python (a tiered JIT: a small signature never waits);
- ``OPTLEVEL_COMPILE=background`` → plain Python while a thread compiles;
- otherwise the backend is prepared now. Its first call is checked against plain
  Python when verification is on for it (:meth:`Dispatcher._wants_verify`).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import planner
from ..analysis import ArgSignature, FunctionFeatures, analyze, describe_args
from ..levels.numba.returns import returned_numpy_scalar
from .registry import BACKENDS
from ..contract import Backend, Decline, Prepared
from .calibrate import profile_for
from ..config import Settings
from ..errors import FallbackWarning, LevelUnavailable, ResultMismatchWarning, warn_once
from ..ladder import LEVEL_NAMES
from .plan import Plan, PlanKey, PlanTable, State
from .trial import per_element, plain_seconds
from .verify import array_kind, compare, host_copy, restore_args, snapshot_args

__all__ = ["Plan", "PlanKey", "Dispatcher", "COMPILE_ESTIMATE_S", "VERIFY_BUDGET_S"]

log = logging.getLogger("optlevel")

#: What a compile is assumed to cost until one has been measured in this process.
COMPILE_ESTIMATE_S = 0.3
#: In auto mode, a compile must be likely to pay back within this many calls.
PAYBACK_CALLS = 10
#: A measured trial times each side this many calls while the calls are shorter than
#: TRIAL_QUICK_S (a longer call is timed once). The candidate's median must beat plain
#: Python's fastest: a conservative test, since a wrong "faster" costs every later call.
TRIAL_SAMPLES = 3
TRIAL_QUICK_S = 0.05
#: ``OPTLEVEL_VERIFY=auto`` checks a first call when plain Python should take at most
#: this long; ten times more when the analysis flagged a difference to prove.
VERIFY_BUDGET_S = 0.05

_compile_times: list[float] = []  # measured in this process, for COMPILE_ESTIMATE_S


def compile_estimate() -> float:
    """The median measured compile time in this process, or the default."""
    if not _compile_times:
        return COMPILE_ESTIMATE_S
    ordered = sorted(_compile_times)
    return ordered[len(ordered) // 2]


class Dispatcher:
    """Plans, failures and features for one decorated function."""

    def __init__(self, func: Callable[..., Any], verify: bool | None = None,
                 options: dict[str, Any] | None = None):
        self.func = func
        self.features: FunctionFeatures = analyze(func)
        if options:
            self.features = dataclasses.replace(self.features, options=dict(options))
        self.verify = verify
        self.table = PlanTable()
        self.unfit: dict[PlanKey, Plan] = {}  # level-0 plans of calls a plan could not take
        # (backend, argument types without size classes) → the result-type repair a
        # verified call learned; later plans of the same types (other sizes) reuse it
        self.converters: dict[tuple, Callable[[Any], Any] | None] = {}
        # (backend, argument types without sizes) built once already: no compile to pay
        # for again, so no warm-up (a settings change drops plans, not compiled code)
        self.built: set[tuple] = set()

    # --- the table, by the names the fast path and stats use ----------------------

    @property
    def plans(self) -> dict[tuple, Plan]:
        return self.table.plans

    @property
    def failures(self) -> dict[tuple[str, tuple], str]:
        return self.table.failures

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
                   and r.kind != "configured"]
        # Explicit levels that fall back warn once the realized level is known; strict
        # raises instead and auto falls back quietly (explain and stats say why).
        declined = [(BACKENDS[r.backend], r.reason) for r in ranking.rows
                    if r.backend and r.kind in ("declined", "missing", "unavailable")
                    and r.level <= key.ceiling]
        for backend in ranking.order:
            failed = self.table.failure(backend.name, key.sig)
            if failed is None:
                plan = self._start(backend, key, signature, ranking, skipped, declined,
                                   args, kwargs, settings)
                if plan is not None:
                    if key.mode == planner.MODE_EXPLICIT:  # the level this plan aims at
                        self._warn_fallbacks(declined, key.ceiling, backend.level)
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
            self.table.enter(plan, State.TRIAL_BASELINE,
                             self._trial_baseline_step(plan, backend, settings),
                             f"first call of a trial: level {backend.level} measured "
                             "against level 0")
            return plan
        if backend.compiles and key.mode != planner.MODE_STRICT:
            if settings.compile == "background":  # plain Python while it compiles
                plan = self.plain_plan(key, signature, skipped)
                self._compile_in_background(plan, State.READY, backend, args, kwargs,
                                            settings)
                return plan
            built = (backend.name, _type_key(key.sig)) in self.built
            if settings.compile == "auto" and key.mode == planner.MODE_AUTO and \
                    not built and plain_seconds(self.features, args, kwargs) \
                    * PAYBACK_CALLS < compile_estimate():
                plan = self.plain_plan(key, signature, skipped)
                self.table.enter(plan, State.WARMUP,
                                 self._warmup_step(plan, backend, args, kwargs, settings),
                                 f"warming up: level {backend.level} compiles once this "
                                 "signature has run long enough in Python to pay it back")
                return plan
        try:
            prepared = self._prepare(backend, signature, args, kwargs, settings)
        except Decline as exc:
            self.table.fail(backend.name, key.sig, exc.reason)
            if exc.warn:
                declined.append((backend, exc.reason))
            return None
        plan = Plan(backend, prepared, signature, key, skipped)
        self._arm_verify(plan, args, kwargs, settings)
        self._reuse_converter(plan)
        return plan

    def _prepare(self, backend: Backend, signature: ArgSignature, args: tuple,
                 kwargs: dict, settings: Settings) -> Prepared:
        prepared = backend.prepare(self.func, self.features, signature, settings, args,
                                   kwargs)
        if backend.compiles and prepared.compile_time > 0.01:
            _compile_times.append(prepared.compile_time)
        self.built.add((backend.name, _type_key(signature.key)))
        return prepared

    def plain_plan(self, key: PlanKey, signature: ArgSignature,
                   fallbacks: list[tuple[int, str, str]]) -> Plan:
        """A level-0 plan: the function as written, for ``key``."""
        return Plan(BACKENDS["python"], Prepared(self.func), signature, PlanKey(*key),
                    list(fallbacks))

    # --- warnings -------------------------------------------------------------------

    def _warn_fallbacks(self, declined: list[tuple[Backend, str]], ceiling: int,
                        realized: int) -> None:
        """One warning per level above the one that ran, naming each of its backends."""
        by_level: dict[int, list[tuple[Backend, str]]] = {}
        for backend, reason in declined:
            if backend.level > realized:
                by_level.setdefault(backend.level, []).append((backend, reason))
        for level in sorted(by_level, reverse=True):
            self._warn(by_level[level], ceiling, realized)

    def warn_fallback(self, backend: Backend, ceiling: int, realized: int,
                      reason: str) -> None:
        """Warn (once) that an explicitly requested ``backend`` could not run the call."""
        self._warn([(backend, reason)], ceiling, realized)

    def _warn(self, why: list[tuple[Backend, str]], ceiling: int, realized: int) -> None:
        because = "; ".join(f"{b.name} (level {b.level}) cannot run it: {reason}"
                            for b, reason in why)
        warn_once(
            (self.qualname, tuple((b.name, reason) for b, reason in why)),
            f"{self.qualname}: level {ceiling} ({LEVEL_NAMES[ceiling]}) was requested; it ran "
            f"at level {realized} ({LEVEL_NAMES[realized]}) because {because}. Fix that, or "
            f"decorate with level={realized} to silence this; warnings.filterwarnings("
            f"'ignore', category=optlevel.FallbackWarning) silences every fallback warning.",
            FallbackWarning)

    def _declined_late(self, plan: Plan, backend: Backend, exc: Decline) -> None:
        """A build that ran after the first call (background, warm-up, trial) declined."""
        self.table.fail(backend.name, plan.key.sig, exc.reason)
        with self.table.lock:
            plan.fallbacks.append((backend.level, backend.name, exc.reason))
        self.table.settle(plan, note="")
        if exc.warn and plan.mode == planner.MODE_EXPLICIT:
            self.warn_fallback(backend, plan.ceiling, 0, exc.reason)
        log.debug("%s: %s declined: %s", self.qualname, backend.name, exc.reason)

    # --- background compiles and warm-up ---------------------------------------------

    def _compile_in_background(self, plan: Plan, expected: State, backend: Backend,
                               args: tuple, kwargs: dict, settings: Settings) -> None:
        """``plan`` (level 0) serves while a thread builds ``backend``, then the built
        plan takes its place (the level-0 one is kept for stats). Only the thread that
        moves ``plan`` out of ``expected`` starts the build."""
        if not self.table.advance(plan, expected, State.BACKGROUND, self.func,
                                  f"compiling for level {backend.level} in the background"):
            return

        def build() -> None:
            try:
                prepared = self._prepare(backend, plan.signature, args, kwargs, settings)
            except Decline as exc:
                self._declined_late(plan, backend, exc)
                return
            built = Plan(backend, prepared, plan.signature, plan.key, list(plan.fallbacks))
            self._arm_verify(built, args, kwargs, settings)
            self._reuse_converter(built)
            self.table.settle(plan, note=f"ran while level {backend.level} compiled in "
                                         "the background")
            self.table.replace(plan.key, plan, built)
            log.debug("%s: background compile done in %.3fs", self.qualname,
                      prepared.compile_time)

        threading.Thread(target=build, daemon=True,
                         name=f"optlevel-compile-{self.qualname}").start()

    def _warmup_step(self, plan: Plan, backend: Backend, args0: tuple, kwargs0: dict,
                     settings: Settings) -> Callable[..., Any]:
        threshold = compile_estimate() / PAYBACK_CALLS
        spent = [0.0]

        def warmup(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = self.func(*args, **kwargs)
            spent[0] += time.perf_counter() - start
            if spent[0] >= threshold and plan.state is State.WARMUP:
                self._compile_in_background(plan, State.WARMUP, backend, args, kwargs,
                                            settings)
            return result

        return warmup

    # --- measured trials -------------------------------------------------------------

    def _trial_baseline_step(self, plan0: Plan, backend: Backend,
                             settings: Settings) -> Callable[..., Any]:
        """Plain Python, timed. The first call also builds (and, where cheap, checks)
        the candidate, so a decline shows at once; short calls are timed again before
        the candidate's turn (the first is often cold)."""
        samples: list[float] = []
        built: list[Plan] = []

        def baseline(*args: Any, **kwargs: Any) -> Any:
            first = not samples
            verify = first and self._wants_verify(backend.level, args, kwargs, settings)
            copies = snapshot_args(args, kwargs) if verify else None
            start = time.perf_counter()
            result = self.func(*args, **kwargs)
            elapsed = time.perf_counter() - start
            samples.append(per_element(elapsed, args, kwargs))
            if first:
                candidate = self._trial_candidate(plan0, backend, settings, copies, result,
                                                  args, kwargs)
                if candidate is None:
                    return result
                built.append(candidate)
            if len(samples) < TRIAL_SAMPLES and elapsed < TRIAL_QUICK_S:
                return result
            self.table.settle(plan0)  # whatever happens next, this plan is plain Python
            candidate = built[0]
            self.table.enter(candidate, State.TRIAL_CANDIDATE,
                             self._trial_candidate_step(candidate, min(samples), plan0))
            self.table.replace(plan0.key, plan0, candidate)
            return result

        return baseline

    def _trial_candidate(self, plan0: Plan, backend: Backend, settings: Settings,
                         copies: tuple[tuple, dict] | None, result: Any, args: tuple,
                         kwargs: dict) -> Plan | None:
        """Build the trial's candidate, or None (and plain Python keeps the key) when it
        declines or its answer on the copies differs from plain Python's."""
        try:
            prepared = self._prepare(backend, plan0.signature, args, kwargs, settings)
        except Decline as exc:
            self._declined_late(plan0, backend, exc)
            return None
        candidate = Plan(backend, prepared, plan0.signature, plan0.key, list(plan0.fallbacks))
        if copies is not None and not self._check_copies(candidate, copies, result,
                                                         args, kwargs):
            with self.table.lock:
                plan0.fallbacks.append((backend.level, backend.name,
                                        self.table.failure(backend.name, plan0.key.sig)
                                        or "its result differs"))
            self.table.settle(plan0)
            return None
        return candidate

    def _check_copies(self, candidate: Plan, copies: tuple[tuple, dict], expected: Any,
                      args: tuple, kwargs: dict) -> bool:
        """Run ``candidate`` on copies of a call plain Python already answered (the
        copies were taken before that call); False, after recording it, if they differ."""
        copy_args, copy_kwargs = copies
        if not candidate.prepared.checkable:
            return True
        try:
            result = candidate.prepared.fn(*copy_args, **copy_kwargs)
        except candidate.catch:
            raise
        except Exception as exc:  # the plain run returned: raising here is a difference
            self._mismatch(candidate, f"it raised {type(exc).__name__}: {exc} where plain "
                                      "Python returned")
            return False
        diff = compare(result, expected)
        if diff is None or diff.repairable:
            diff = self._compare_args(copy_args, copy_kwargs, args, kwargs) or diff
        if diff is not None and not diff.repairable:
            self._mismatch(candidate, diff.text)
            return False
        self._learned(candidate, diff.converter if diff else None)
        return True

    def _trial_candidate_step(self, candidate: Plan, base: float,
                              plan0: Plan) -> Callable[..., Any]:
        samples: list[float] = []

        def measured(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = candidate.run_settled(*args, **kwargs)
            elapsed = time.perf_counter() - start
            samples.append(per_element(elapsed, args, kwargs))
            if len(samples) < TRIAL_SAMPLES and elapsed < TRIAL_QUICK_S:
                return result  # its first call may start a pool or warm caches
            fast = sorted(samples)[len(samples) // 2]
            speedup = base / fast if fast > 0 else float("inf")
            log.debug("%s: trial of %s: %.2fx level 0", self.qualname, candidate.backend,
                      speedup)
            if speedup > 1.0:
                self.table.settle(candidate, f"measured {speedup:.2f}x faster than level 0")
                return result
            reason = (f"measured slower than level 0 for this call shape "
                      f"({speedup:.2f}x), so level 0 keeps it")
            self.table.fail(candidate.backend, candidate.key.sig, reason)
            slow = self.plain_plan(candidate.key, candidate.signature, list(plan0.fallbacks)
                                   + [(candidate.level, candidate.backend, reason)])
            self.table.replace(candidate.key, candidate, slow)
            return result

        return measured

    # --- verification ------------------------------------------------------------------

    def _wants_verify(self, level: int, args: tuple, kwargs: dict,
                      settings: Settings) -> bool:
        """Check this plan's first call against plain Python? See ``OPTLEVEL_VERIFY``."""
        if level == 0:
            return False
        if self.verify is not None:
            return self.verify
        if settings.verify != "auto":
            return settings.verify == "always"
        budget = VERIFY_BUDGET_S * (10 if self._verify_reasons() else 1)
        return plain_seconds(self.features, args, kwargs) <= budget

    def _learned(self, plan: Plan, converter: Callable[[Any], Any] | None) -> None:
        plan.converter = converter
        self.converters[(plan.backend, _type_key(plan.key.sig))] = converter

    def _reuse_converter(self, plan: Plan) -> None:
        """A plan that is not verified takes the repair a verified one of the same
        argument types learned (the result's type does not depend on sizes), or, for
        compiled code, the NumPy scalar type the AST proves every return gives."""
        if plan.state is not State.READY:
            return
        type_key = (plan.backend, _type_key(plan.key.sig))
        converter = self.converters.get(type_key)
        if converter is None and type_key not in self.converters and \
                getattr(BACKENDS.get(plan.backend), "compiles", False):
            converter = _scalar_converter(
                returned_numpy_scalar(self.func, self.features, plan.signature))
        if converter is not None:
            plan.converter = converter
            self.table.settle(plan)

    def _verify_reasons(self) -> tuple:
        return tuple(getattr(self.features, "verify_reasons", ()))

    def _arm_verify(self, plan: Plan, args: tuple, kwargs: dict, settings: Settings) -> None:
        if plan.prepared.checkable and self._wants_verify(plan.level, args, kwargs, settings):
            self.table.enter(plan, State.VERIFYING, self._verify_step(plan))

    def _verify_step(self, plan: Plan) -> Callable[..., Any]:
        """The plan's first call also runs the plain function on copies and compares."""

        def first_call(*args: Any, **kwargs: Any) -> Any:
            plain_args, plain_kwargs = snapshot_args(args, kwargs)
            try:
                result = plan.prepared.fn(*args, **kwargs)
            except plan.catch:
                raise
            except Exception as exc:
                return self._verify_raised(plan, exc, args, kwargs, plain_args, plain_kwargs)
            try:
                expected = self.func(*plain_args, **plain_kwargs)
            except Exception as plain_exc:
                self._mismatch(plan, f"plain Python raised {type(plain_exc).__name__} "
                                     "where it returned")
                restore_args(args, kwargs, plain_args, plain_kwargs)
                raise
            diff = compare(*self._as_returned(plan, result, expected))
            if diff is None or diff.repairable:
                diff = self._compare_args(args, kwargs, plain_args, plain_kwargs) or diff
            if diff is not None and not diff.repairable:
                self._mismatch(plan, diff.text)
                restore_args(args, kwargs, plain_args, plain_kwargs)
                return expected
            self._learned(plan, diff.converter if diff else None)
            self.table.settle(plan)
            return expected if plan.converter else result

        return first_call

    def _verify_raised(self, plan: Plan, exc: Exception, args: tuple, kwargs: dict,
                       plain_args: tuple, plain_kwargs: dict) -> Any:
        """The fast version raised: plain Python decides what the call does."""
        try:
            expected = self.func(*plain_args, **plain_kwargs)
        except Exception as plain_exc:
            if type(plain_exc) is type(exc):
                self.table.settle(plan)
            else:
                self._mismatch(plan, f"it raised {type(exc).__name__} where plain Python "
                                     f"raised {type(plain_exc).__name__}")
            restore_args(args, kwargs, plain_args, plain_kwargs)
            raise plain_exc from None
        self._mismatch(plan, f"it raised {type(exc).__name__}: {exc} where plain Python "
                             f"returned {expected!r:.80}")
        restore_args(args, kwargs, plain_args, plain_kwargs)
        return expected

    @staticmethod
    def _as_returned(plan: Plan, result: Any, expected: Any) -> tuple[Any, Any]:
        """What to compare: inside ``optlevel.on_device()`` a device backend returns
        device arrays on purpose, so both sides are compared as host copies."""
        backend = BACKENDS.get(plan.backend)
        gpu_call = sys.modules.get("optlevel.levels.gpu.call")
        if backend is not None and backend.uses_device and gpu_call is not None \
                and gpu_call.KEEP_ON_DEVICE.get():
            return host_copy(result), host_copy(expected)
        return result, expected

    @staticmethod
    def _compare_args(args: tuple, kwargs: dict, plain_args: tuple,
                      plain_kwargs: dict) -> Any:
        """The in-place writes of both runs: arrays, lists and dicts only (other
        objects, such as ``self``, compare by identity and never equal a copy)."""
        pairs = list(zip(args, plain_args)) + [(kwargs[k], plain_kwargs[k]) for k in kwargs]
        for i, (a, b) in enumerate(pairs):
            if array_kind(a) is None and type(a) not in (list, dict):
                continue
            diff = compare(a, b, f"argument {i} after the call")
            if diff is not None and not diff.repairable:
                return diff
        return None

    def _mismatch(self, plan: Plan, what: str) -> None:
        """``plan``'s result differs from plain Python's: level 0 keeps the key."""
        reason = f"its result differs from the plain function's: {what}"
        self.table.fail(plan.backend, plan.key.sig, reason)
        warn_once((self.qualname, "verify", plan.backend, plan.key),
                  f"{self.qualname}: level {plan.level} ({plan.backend}) gave a different "
                  f"result than plain Python for ({plan.signature}): {what}. This signature "
                  "now runs at level 0 and the plain result is returned. Please report it "
                  "with optlevel.explain(f, *args).", ResultMismatchWarning)
        self.table.demote(plan, Prepared(self.func), reason)

    # --- failures at call time ---------------------------------------------------------

    def recover(self, plan: Plan, key: tuple, exc: BaseException, args: tuple,
                kwargs: dict, settings: Settings) -> Any:
        """The plan raised one of the errors its backend declared: these arguments do
        not fit the compiled code (run them plain, keep the plan), or the build failed
        late (record it, re-plan below that level). The user's code has not run."""
        if isinstance(exc, plan.unfit_errors) and not isinstance(exc, plan.internal_errors):
            return self._run_unfit(plan, exc, args, kwargs)
        reason = f"failed when called: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        self.table.fail(plan.backend, plan.key.sig, reason)
        self.table.drop(plan.key, plan)
        log.debug("%s: %s %s; falling back", self.qualname, plan.backend, reason)
        new = self.plan_for(key, args, kwargs, settings)
        if plan.mode == planner.MODE_EXPLICIT and plan.backend in BACKENDS:
            self.warn_fallback(BACKENDS[plan.backend], plan.ceiling, new.level, reason)
        start = time.perf_counter()
        result = new.fn(*args, **kwargs)
        new.count(time.perf_counter() - start)
        return result

    def _run_unfit(self, plan: Plan, exc: BaseException, args: tuple, kwargs: dict) -> Any:
        reason = (f"these arguments do not fit level {plan.level}'s compiled code "
                  f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
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


_PYTHON_SCALARS = (float, int, bool, complex)


def _scalar_converter(target: type | None) -> Callable[[Any], Any] | None:
    """Python scalars → ``target`` (a NumPy scalar type); anything else unchanged."""
    if target is None:
        return None

    def convert(value: Any) -> Any:
        return target(value) if type(value) in _PYTHON_SCALARS else value
    return convert


def _type_key(sig: tuple) -> tuple:
    """A signature key without the arrays' size classes."""
    return tuple(item[:-1] if type(item) is tuple and len(item) == 4
                 and isinstance(item[0], np.dtype) else item for item in sig)
