"""Dispatch: building plans, and the fallback loop.

One :class:`Dispatcher` per decorated function. The fast path (in
:class:`~optlevel.api.Optimized`) looks a plan up by key and calls ``plan.fn``;
everything here runs only when a key is new or a build fails late. Plans change
state only through :class:`~optlevel.core.plan.PlanTable`; the steps of a plan
that is not settled yet live beside this module: :mod:`.warmup` (plain Python
until a compile pays), :mod:`.trials` (measured races), :mod:`.verification`
(the first call checked against plain Python); the winners persist in
:mod:`.store`.

How a new key is planned (:meth:`Dispatcher.plan_for`):

- the plan store has a winner for it (an earlier process measured it) → that
  backend is built now: no warm-up, no trial;
- else the planner ranks the backends; each is tried in order. A backend that
  declines is recorded (never retried for that signature) and the next one is
  tried. For the first that serves:
- in auto mode (or ``OPTLEVEL_COMPILE=background``), when it (or a backend it
  races) compiles and a compile would not pay back within a few calls by the
  estimate of a plain call → plain Python serves, timed, until the measured
  calls say a compile pays (:mod:`.warmup`); then the key is planned again;
- where the planner doubts its order (:meth:`Ranking.entrants`) → a trial races
  it against the runner-up, plain Python timing the first call;
- otherwise the backend is prepared now, in the calling thread, and its first
  call is checked against plain Python when :meth:`Verifier.wants` says so.

No compile ever runs in a thread beside the caller (see :mod:`.warmup`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures, analyze, describe_args
from ..config import STATE, Settings
from ..config import settings as _settings
from ..contract import Backend, Code, Decline, Prepared, RowKind
from ..errors import LevelUnavailable, first_line
from ..ladder import LEVEL_NAMES
from . import planner
from .calibrate import profile_for
from .corrections import learn
from .estimates import plain_seconds
from .notices import warn_fallback, warn_fallbacks
from .plan import Plan, PlanKey, PlanTable, State
from .registry import BACKENDS
from .scout import loop_free, record_planning, start_scout
from .store import entry_key, function_id, store_for
from .trials import start_trial, watch_deferred
from .verification import Verifier, type_key
from .warmup import pays_now, record_compile, start_warmup

__all__ = ["Plan", "PlanKey", "Dispatcher"]

log = logging.getLogger("optlevel")
#: the rows whose backend was asked and said no: an explicit level warns about them
_REFUSED = (RowKind.DECLINED, RowKind.MISSING, RowKind.UNAVAILABLE)


def _current() -> Settings:
    return STATE.current or _settings()


def _level(backend: Backend) -> int:
    return backend.level


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
        # (ceiling, mode, argument types) whose warm-up showed a compile pays
        self.paid: set[tuple] = set()
        # (ceiling, mode, argument types) → the backend a trial or the store chose, so
        # a new size class of the same types reuses the decision and its compiled code
        self.decided: dict[tuple, str] = {}
        # (ceiling, mode, argument types) whose deferred trial entrants have paid for
        # their compile (ski rental, :mod:`.trials`): the next trial builds them all
        self.due: set[tuple] = set()
        self._fid: str | None | bool = False  # the plan store's id, computed once
        self._loop_free: bool | None = None  # no Python-level loop: scouted (.scout)
        self.scout_done: set[PlanKey] = set()  # keys whose scout has paid for planning

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
                if self._scouts(pkey, settings):
                    plan = self.plain_plan(pkey, describe_args(args, kwargs,
                                                               self.features.params), [])
                    start_scout(self, plan)
                    log.debug("%s: %s → level 0 (python), scouting before planning",
                              self.qualname, plan.signature)
                else:
                    start = time.perf_counter()
                    plan = self._build(pkey, args, kwargs, settings)
                    if pkey in self.scout_done:  # what planning costs, for the next scouts
                        record_planning(time.perf_counter() - start)
                self.table.install(pkey, plan)
            return plan

    def _scouts(self, key: PlanKey, settings: Settings) -> bool:
        """Should plain Python serve ``key``, timed, before it is planned
        (:mod:`.scout`)?"""
        if key.mode != planner.MODE_AUTO or key.ceiling == 0 or key in self.scout_done \
                or settings.compile == "eager":
            return False
        if self._loop_free is None:
            self._loop_free = loop_free(self.features)
        return self._loop_free

    def scouted(self, plan: Plan) -> None:
        """``plan``'s scout has spent enough in Python: the next call plans its key."""
        with self.table.lock:
            if plan.state is not State.SCOUTING:
                return
            self.scout_done.add(plan.key)
            self.table.settle(plan, note="ran plain Python, timed, until planning paid")
            self.table.drop(plan.key, plan)

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
        # raises instead and auto falls back quietly (explain and stats say why). A
        # level one of whose backends could run the call but would not pay is a choice,
        # as quiet as auto's: its other backends' refusals are not why it was left.
        chose = {r.level for r in ranking.rows if r.backend and r.kind is RowKind.PAYS}
        declined = [(BACKENDS[r.backend], r.reason) for r in ranking.rows
                    if r.backend and r.kind in _REFUSED and r.level <= key.ceiling
                    and r.level not in chose]
        known = self._known(key, ranking, signature, skipped, args, kwargs, settings)
        if known is not None:
            return known
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
        failed = {name for name, sig in self.table.failures if sig == key.sig}
        entrants = ranking.entrants(backend, failed)
        deferred = self._deferred(entrants, key, settings)
        entrants = [b for b in entrants if b not in deferred]
        lone = entrants[0] if len(entrants) == 1 else None
        if lone is not None and ranking.row(lone.name).kind is RowKind.OK:
            entrants = []  # the doubt was about the deferred entrants alone
        first = lone if lone is not None and not entrants else backend
        compiles = [b for b in entrants or [first] if b.compiles]
        rows = {b.name: ranking.row(b.name) for b in entrants + deferred}
        predicted = {n: (r.cost, r.raw_cost) for n, r in rows.items()}
        if compiles and self._compile_later(compiles[-1], key, args, kwargs, settings):
            plan = self.plain_plan(key, signature, skipped)
            ready = [b for b in entrants if not b.compiles]
            if ready:  # race what needs no compile now; the compiles wait against it
                start_trial(self, plan, ready, settings, predicted,
                            deferred + [b for b in entrants if b.compiles], wait=True)
            else:
                start_warmup(self, plan, compiles[-1])
            return plan
        if entrants:
            plan = self.plain_plan(key, signature, skipped)
            start_trial(self, plan, entrants, settings, predicted, deferred)
            return plan
        plan = self._prepared_plan(first, key, signature, skipped, declined, args,
                                   kwargs, settings)
        if plan is None and first is not backend:  # declined: nothing to wait for now
            return self._start(backend, key, signature, ranking, skipped, declined, args,
                               kwargs, settings)
        if plan is not None:
            plan.predicted = ranking.row(first.name).cost
            if deferred:  # provisional: remembered once the deferred entrants raced
                watch_deferred(self, plan, deferred)
            elif first.compiles and key.mode != planner.MODE_STRICT:
                self.winner(plan, None)  # the compile was paid: a new process loads it
        return plan

    def _prepared_plan(self, backend: Backend, key: PlanKey, signature: ArgSignature,
                       skipped: list, declined: list | None, args: tuple, kwargs: dict,
                       settings: Settings) -> Plan | None:
        """``backend`` built now for ``key`` (its first call armed for a check), or
        None when it declined."""
        try:
            prepared = self.prepare(backend, signature, args, kwargs, settings)
        except Decline as exc:
            self.table.fail(backend.name, key.sig, exc.reason, exc.code)
            if exc.warn and declined is not None:
                declined.append((backend, exc.reason))
            return None
        plan = Plan(backend, prepared, signature, key, skipped)
        checked = (backend.name, type_key(key.sig))
        if checked in self.verifier.converters and self.verifier.verify is None \
                and settings.verify == "auto" and prepared.verify is None \
                and not backend.checks_first_call:
            # these argument types were checked in another size class: the evidence
            # (and the result-type repair it taught) carries over, the check does not
            # run again (a new size class costs planning only)
            plan.converter = self.verifier.converters[checked]
            self.table.settle(plan)
        else:
            self.verifier.arm(plan, backend, args, kwargs, settings)
        return plan

    def _compile_later(self, backend: Backend, key: PlanKey, args: tuple, kwargs: dict,
                       settings: Settings) -> bool:
        """Should plain Python serve, timed, until a compile of ``backend`` pays?"""
        if key.mode == planner.MODE_STRICT or settings.compile == "eager":
            return False
        if key.mode != planner.MODE_AUTO and settings.compile != "background":
            return False
        types_ = type_key(key.sig)
        if (backend.name, types_) in self.built or (key.ceiling, key.mode, types_) in self.paid \
                or (key.ceiling, key.mode, types_) in self.due:
            return False
        return not pays_now(plain_seconds(self.features, args, kwargs))

    def _deferred(self, entrants: list[Backend], key: PlanKey,
                  settings: Settings) -> list[Backend]:
        """The entrants of a trial whose compile waits until it can pay back.

        In auto mode one compile is paid up front (as for any compiling backend); a
        second one (prange's beside Numba's) can save at most the measured time of
        the code already compiled, so it waits for :mod:`.trials` to measure that.
        The compile paid up front is the lowest level's (the cheaper one); one built
        already (another size class, or a compile that waited its turn) costs
        nothing and takes that place."""
        if key.mode != planner.MODE_AUTO or settings.compile == "eager":
            return []
        types_ = type_key(key.sig)
        if (key.ceiling, key.mode, types_) in self.due:
            return []
        compiling = [b for b in entrants if b.compiles]
        built = [b for b in compiling if (b.name, types_) in self.built]
        first = built[0] if built else min(compiling, key=_level, default=None)
        return [b for b in compiling if b is not first and b not in built]

    def deferred_due(self, plan: Plan) -> None:
        """``plan`` (a trial's provisional winner) has run long enough that the
        entrants whose compile waited may pay back: the next call plans its key again,
        and that trial builds them."""
        with self.table.lock:
            if self.table.plans.get(plan.key) is not plan:
                return
            self.due.add((plan.key.ceiling, plan.key.mode, type_key(plan.key.sig)))
            self.table.drop(plan.key, plan)

    def warmed(self, plan: Plan) -> None:
        """``plan``'s warm-up showed a compile pays: the next call plans its key again
        and compiles at once (in the calling thread)."""
        with self.table.lock:
            if plan.state is not State.WARMUP:
                return
            self.paid.add((plan.key.ceiling, plan.key.mode, type_key(plan.key.sig)))
            self.table.settle(plan, note="ran plain Python, timed, until a compile paid")
            self.table.drop(plan.key, plan)

    # --- what was measured: corrections and the plan store --------------------------

    def backend(self, name: str) -> Backend:
        return BACKENDS[name]

    def measured(self, backend: str, predicted: float | None, seconds: float) -> None:
        """A trial measured ``backend``: learn how far its prediction was off."""
        learn(profile_for(_current()), backend, predicted, seconds)

    def winner(self, plan: Plan, seconds: float | None) -> None:
        """``plan`` won its key (a trial, or a compile paid for): remember it for the
        other size classes of these types, and on disk for the next process."""
        key = plan.key
        self.decided[(key.ceiling, key.mode, type_key(key.sig))] = plan.backend
        fid = self.function_id()
        if fid is None:
            return
        record = {"backend": plan.backend, "level": plan.level, "predicted": plan.predicted,
                  "measured": seconds, "how": plan.origin}
        store_for(_current()).save(fid, self.qualname,
                                           entry_key(key.ceiling, key.mode, key.sig), record)

    def function_id(self) -> str | None:
        if self._fid is False:
            self._fid = function_id(self.func)
        return self._fid  # type: ignore[return-value]

    def _known(self, key: PlanKey, ranking: planner.Ranking, signature: ArgSignature,
               skipped: list, args: tuple, kwargs: dict, settings: Settings) -> Plan | None:
        """The plan a decision already made serves: this process's for the same
        argument types (another size class), or the plan store's for this key."""
        name = self.decided.get((key.ceiling, key.mode, type_key(key.sig)))
        origin = "decided"
        if name is None:
            fid = self.function_id()
            found = None if fid is None else store_for(settings).lookup(
                fid, entry_key(key.ceiling, key.mode, key.sig))
            if not found:
                return None
            name, origin = found.get("backend"), "store"
        if name == "python":
            plan = self.plain_plan(key, signature, skipped)
        elif any(b.name == name for b in ranking.order) \
                and self.table.failure(name, key.sig) is None:
            plan = self._prepared_plan(BACKENDS[name], key, signature, skipped, None, args,
                                       kwargs, settings)
            if plan is None:
                return None
            plan.predicted = ranking.row(name).cost
        else:
            return None
        plan.origin = origin
        if origin == "store":
            plan.note = (f"from the plan store: an earlier process measured level "
                         f"{plan.level} ({plan.backend}) best for these arguments")
        return plan

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

    def declined_late(self, plan: Plan, backend: Backend, exc: Decline,
                      settle: bool = True) -> None:
        """A build that ran after the first call (a trial) declined."""
        self.table.fail(backend.name, plan.key.sig, exc.reason, exc.code)
        with self.table.lock:
            plan.fallbacks.append((backend.level, backend.name, exc.reason))
        if settle:
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
                if plan.mode == planner.MODE_EXPLICIT and plan.backend in BACKENDS \
                        and not getattr(exc, "quiet", False):
                    # the level asked for did not run this call: say so, once
                    warn_fallback(self.qualname, BACKENDS[plan.backend], plan.ceiling, 0,
                                  reason)
        log.debug("%s: %s", self.qualname, reason)
        start = time.perf_counter()
        result = self.func(*args, **kwargs)
        side.count(time.perf_counter() - start)
        return result
