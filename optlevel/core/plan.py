"""Plans and their states, and the one table that changes them.

A :class:`Plan` is what runs for one :class:`PlanKey`: its ``fn`` is what the
fast path calls. A plan that is not yet settled has a state other than
``READY``, and its ``fn`` is the dispatcher's step for that state (run plain
Python timed, verify, …). Every change of state, every swap of one plan for
another and every recorded failure goes through :class:`PlanTable`, under its one
lock, so no other module rewrites a plan behind its back.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from ..analysis import ArgSignature
from ..contract import Backend, Code, Prepared

__all__ = ["PlanKey", "State", "Plan", "PlanTable", "Failure", "Retyped", "TIMED_CALLS",
           "covered"]

#: The fast path times a plan's first TIMED_CALLS calls, then one call in
#: TIMED_CALLS (counted TIMED_CALLS times): ``Plan.time`` is exact for the first
#: calls and an unbiased estimate after them, of the calls :func:`covered` says. A
#: power of two.
TIMED_CALLS = 8


def covered(calls: int) -> int:
    """How many calls ``Plan.time`` stands for once ``calls`` calls have run: each
    timed call after the first TIMED_CALLS stands for itself and the TIMED_CALLS - 1
    after it, some of which may not have run yet. ``time / calls`` read right after
    such a call would count it eight times over nine calls: 1.8 times the mean (a
    stencil's 100 ms calls read as 164 ms in ``explain``)."""
    return calls if calls <= TIMED_CALLS else calls + (TIMED_CALLS - calls) % TIMED_CALLS

try:  # the compiled fast path's inline cache reads this count from C
    from .._fastcall import Tally  # type: ignore[import-not-found]
except ImportError:  # not built: the Python path reads no count
    class Tally:  # type: ignore[no-redef]
        """A count of the changes to a plans dict."""

        __slots__ = ("n",)

        def __init__(self) -> None:
            self.n = 0

        def bump(self) -> None:
            self.n += 1


class PlanKey(NamedTuple):
    """Indexes the plan cache. The fast path looks plans up with a plain tuple of the
    same three items (equal hash and equality), and only the slow path builds this."""

    ceiling: int
    mode: int
    sig: tuple


class Failure(NamedTuple):
    """Why a backend cannot serve a signature: the prose and its stable code."""

    reason: str
    code: Code | str


class State(enum.Enum):
    """Where a plan is in its life."""

    READY = "ready"  # runs its backend's callable
    WARMUP = "warmup"  # runs plain Python, timed, until compiling would pay back
    SCOUTING = "scouting"  # runs plain Python, timed, until planning would pay back
    TRIAL_BASELINE = "trial: timing level 0"  # next call: plain, timed, then build
    TRIAL_CANDIDATE = "trial: timing a candidate"  # next call: an entrant, timed
    VERIFYING = "verifying"  # next call: both, compared
    RETIRED = "retired"  # replaced; kept for stats


class Plan:
    """What runs for one key: the callable, its level and backend, and its counters."""

    __slots__ = ("fn", "level", "backend", "catch", "internal_errors", "unfit_errors",
                 "calls", "time", "compile_time", "fallbacks", "signature", "key", "note",
                 "state", "prepared", "converter", "predicted", "origin", "watch",
                 "deferring")

    def __init__(self, backend: Backend, prepared: Prepared, signature: ArgSignature,
                 key: PlanKey, fallbacks: list[tuple[int, str, str]]):
        self.prepared = prepared
        self.fn: Callable[..., Any] = prepared.fn
        self.level = backend.level
        self.backend = backend.name
        self.internal_errors = prepared.internal_errors
        self.unfit_errors: tuple[type[BaseException], ...] = getattr(
            prepared, "unfit_errors", ())
        #: what the fast path catches: the build failed, or these arguments do not fit
        self.catch = self.internal_errors + self.unfit_errors
        self.compile_time = prepared.compile_time
        self.calls = 0
        self.time = 0.0
        self.signature = signature
        self.key = key
        self.fallbacks = fallbacks  # (level, backend, reason) for each backend skipped
        self.note = prepared.note
        self.state = State.READY
        #: turns the backend's result into the plain function's type (see verify.py)
        self.converter: Callable[[Any], Any] | None = None
        #: the planner's predicted seconds for a call (corrected), None when unknown
        self.predicted: float | None = None
        #: how the plan was chosen: "planned" (the estimate), "trial" (measured),
        #: "store" (the plan store on disk: measured by an earlier process)
        self.origin = "planned"
        #: called by the fast path after each timed call (the first 8, then one in 8),
        #: for a state that follows the calls' time without wrapping every call (a
        #: scout); every change of state clears it
        self.watch: Callable[[], None] | None = None
        #: a trial's provisional winner whose rivals' compile waits until it pays back
        #: (:func:`.trials.watch_deferred`): the key is planned again later
        self.deferring = False

    @property
    def measured(self) -> float | None:
        """Measured seconds per call so far (None before the first)."""
        return self.time / covered(self.calls) if self.calls else None

    @property
    def ceiling(self) -> int:
        return self.key.ceiling

    @property
    def mode(self) -> int:
        return self.key.mode

    def count(self, seconds: float) -> None:
        """One call of ``seconds``, sampled as the fast path samples (see :func:`covered`)."""
        n = self.calls
        if not (n >= TIMED_CALLS and n % TIMED_CALLS):
            self.time += seconds * (TIMED_CALLS if n >= TIMED_CALLS else 1)
        self.calls += 1

    def run_settled(self, *args: Any, **kwargs: Any) -> Any:
        """The backend's callable, with the result converter when one was learned."""
        result = self.prepared.fn(*args, **kwargs)
        return result if self.converter is None else self.converter(result)

    def __repr__(self) -> str:
        return (f"<Plan {self.backend} level {self.level} {self.state.value} "
                f"calls={self.calls}>")


class PlanTable:
    """The plans and failures of one function, and every transition between them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: key → plan; one dict for the table's life (the fast path keeps a reference).
        #: Changed only here, each change counted in ``tally``: the compiled fast
        #: path's inline cache runs its cached plan only while the count is unchanged.
        self.plans: dict[tuple, Plan] = {}
        self.tally = Tally()
        self.retired: list[Plan] = []
        # (backend name, signature key) → why it cannot serve, and its code; never retried
        self.failures: dict[tuple[str, tuple], Failure] = {}
        self.generation = -1

    # --- reading -------------------------------------------------------------------

    def failure(self, backend: str, sig: tuple) -> str | None:
        """Why ``backend`` cannot serve ``sig``, or None."""
        found = self.failures.get((backend, sig))
        return None if found is None else found.reason

    def all_plans(self) -> list[Plan]:
        with self.lock:
            return self.retired + list(self.plans.values())

    # --- transitions ---------------------------------------------------------------

    def reset(self, generation: int) -> None:
        """Settings changed: drop the plans (compiled code stays cached in the backends)."""
        with self.lock:
            if self.generation != generation:
                for plan in self.plans.values():
                    self._retire(plan)
                self.plans.clear()  # in place: the fast path holds this dict
                self.tally.bump()
                self.generation = generation

    def install(self, key: PlanKey, plan: Plan) -> None:
        with self.lock:
            self.plans[key] = plan
            self.tally.bump()

    def enter(self, plan: Plan, state: State, step: Callable[..., Any], note: str = "",
              watch: Callable[[], None] | None = None) -> None:
        """Put ``plan`` in ``state``: its next calls run ``step``, and the fast path
        calls ``watch`` (if any) after each timed call."""
        with self.lock:
            plan.state, plan.fn, plan.watch = state, step, watch
            if note:
                plan.note = note

    def advance(self, plan: Plan, expected: State, state: State, step: Callable[..., Any],
                note: str = "") -> bool:
        """Move ``plan`` from ``expected`` to ``state``; False (and nothing changes) when
        another thread moved it first, so a transition happens once."""
        with self.lock:
            if plan.state is not expected:
                return False
            self.enter(plan, state, step, note)
            return True

    def settle(self, plan: Plan, note: str | None = None) -> None:
        """``plan`` is done with its trial or check: the fast path runs its backend."""
        with self.lock:
            plan.state, plan.watch = State.READY, None
            plan.fn = plan.prepared.fn if plan.converter is None \
                else _converting(plan.prepared.fn, plan.converter)
            if note is not None:
                plan.note = note

    def replace(self, key: PlanKey, old: Plan, new: Plan) -> bool:
        """Put ``new`` in ``old``'s place if ``old`` is still there; keep ``old`` for stats."""
        with self.lock:
            if self.plans.get(key) is not old:
                return False
            self.plans[key] = new
            self.tally.bump()
            self._retire(old)
            return True

    def demote(self, plan: Plan, plain: Prepared, reason: str) -> None:
        """``plan``'s backend was wrong for its key: from now on (this call included,
        for stats) it is a level-0 plan running ``plain``."""
        with self.lock:
            plan.fallbacks.append((plan.level, plan.backend, reason))
            plan.level, plan.backend, plan.prepared = 0, "python", plain
            plan.internal_errors = plan.unfit_errors = plan.catch = ()
            plan.converter = None
            plan.compile_time = 0.0
            plan.note = reason
            plan.state, plan.fn, plan.watch = State.READY, plain.fn, None

    def fail(self, backend: str, sig: tuple, reason: str,
             code: Code | str = Code.BUILD_FAILED) -> None:
        """``backend`` cannot serve ``sig``: record it (and its code) once, never retry."""
        with self.lock:
            self.failures.setdefault((backend, sig), Failure(reason, code))

    def drop(self, key: PlanKey, plan: Plan) -> None:
        """Forget ``plan`` (a late build failure); the next call plans ``key`` again."""
        with self.lock:
            if self.plans.get(key) is plan:
                del self.plans[key]
                self.tally.bump()
            self._retire(plan)

    def _retire(self, plan: Plan) -> None:
        if plan.state is not State.RETIRED:
            plan.state, plan.watch = State.RETIRED, None
            self.retired.append(plan)


class Retyped:
    """``fn`` with its result's type mapped by ``targets`` (a dict read at call time,
    so later repairs join): what a settled plan runs on every call where its compiled
    code returns another scalar type than plain Python. The compiled fast path
    (``_fastcall.c``) runs these two steps itself, without this frame."""

    __slots__ = ("fn", "targets")

    def __init__(self, fn: Callable[..., Any], targets: dict[type, Callable[[Any], Any]]):
        self.fn = fn
        self.targets = targets

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.fn(*args, **kwargs)
        target = self.targets.get(type(result))
        return result if target is None else target(result)


def _converting(fn: Callable[..., Any], convert: Callable[[Any], Any]) -> Callable[..., Any]:
    """``fn`` with its result converted, in one Python frame: a settled plan runs this
    on every call (through ``Plan.run_settled`` and a converter object it took three
    frames, 0.3 µs, about what Numba's own dispatch costs). A converter that maps
    result types (``targets``) becomes a :class:`Retyped`."""
    targets = getattr(convert, "targets", None)
    if isinstance(targets, dict):
        return Retyped(fn, targets)

    def run_converted(*args: Any, **kwargs: Any) -> Any:
        return convert(fn(*args, **kwargs))
    return run_converted
