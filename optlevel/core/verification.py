"""The one verification path: a plan's first call checked against plain Python.

A plan is checked when its backend asks for it (``checks_first_call``, or
``Prepared.verify``), when the user does (``@optimize(verify=True)``,
``OPTLEVEL_VERIFY=always``), or, under ``OPTLEVEL_VERIFY=auto``, when plain
Python is cheap enough for this call (:data:`VERIFY_BUDGET_S`, ten times more
when the analysis flagged a difference to prove). The check runs the plan on the
caller's arguments and plain Python on copies taken before; a difference in the
result, in an in-place write or in the exception demotes the plan to level 0,
returns the plain result and restores the arguments to the plain run's.

What a check learns about the result's type (a Python float where plain Python
returns ``np.float64``) is kept as a converter, shared by the plans of the same
argument types, so later plans of other sizes return the plain function's type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..arrays import array_kind, host_copy
from ..contract import Backend, Code, Prepared
from ..errors import ResultMismatchWarning, first_line, warn_once
from .estimates import plain_seconds
from .plan import Plan, PlanTable, State
from .sampling import kept_on_device, sampled_first_call
from .verify import CannotCopy, compare, snapshot_args

__all__ = ["Verifier", "VERIFY_BUDGET_S", "type_key"]

#: ``OPTLEVEL_VERIFY=auto`` checks a first call when plain Python should take at most
#: this long; ten times more when the analysis flagged a difference to prove.
VERIFY_BUDGET_S = 0.05
_PYTHON_SCALARS = (float, int, bool, complex)


class Verifier:
    """First-call checks and result-type repairs for one decorated function."""

    def __init__(self, func: Callable[..., Any], features: Any, table: PlanTable,
                 verify: bool | None):
        self.func, self.features, self.table, self.verify = func, features, table, verify
        # (backend, argument types without size classes) → the result-type repair a
        # verified call learned; later plans of the same types (other sizes) reuse it
        self.converters: dict[tuple, Callable[[Any], Any] | None] = {}
        # argument types → {type a backend returned: the type plain Python returned}
        self.retypes: dict[tuple, dict[type, type]] = {}

    @property
    def qualname(self) -> str:
        return self.features.name

    # --- deciding ------------------------------------------------------------------

    def wants(self, backend: Backend, args: tuple, kwargs: dict, settings: Any,
              prepared: Prepared | None = None) -> bool:
        """Check this plan's first call against plain Python? See ``OPTLEVEL_VERIFY``."""
        if backend.level == 0:
            return False
        if prepared is not None and prepared.verify is not None:
            return prepared.verify
        if getattr(backend, "checks_first_call", False):
            return True
        if self.verify is not None:
            return self.verify
        if settings.verify != "auto":
            return settings.verify == "always"
        return plain_seconds(self.features, args, kwargs) <= self.budget()

    def arm(self, plan: Plan, backend: Backend, args: tuple, kwargs: dict,
            settings: Any) -> None:
        """A new plan: check its first call if wanted, else give it the result type
        a check of the same argument types (or its backend's proof) taught."""
        if plan.prepared.checkable and self.wants(backend, args, kwargs, settings,
                                                  plan.prepared):
            self.table.enter(plan, State.VERIFYING, self._step(plan))
        # --- issue 17's hook: a first call too large to check in full is checked on
        # part of it (core/sampling.py), or its plan is not trusted
        elif plan.prepared.checkable and self._too_large(backend, plan.prepared, settings):
            self.table.enter(plan, State.VERIFYING,
                             sampled_first_call(self, plan,
                                                getattr(backend, "trusted_unchecked", False)))
        # --- end of the hook
        self._reuse_converter(plan)

    def _too_large(self, backend: Backend, prepared: Prepared, settings: Any) -> bool:
        """``wants`` said no only because the call is over the budget."""
        return backend.level > 0 and prepared.verify is None and self.verify is None \
            and not getattr(backend, "checks_first_call", False) and settings.verify == "auto"

    def budget(self) -> float:
        return VERIFY_BUDGET_S * (10 if self.features.verify_reasons else 1)

    # --- checking ------------------------------------------------------------------

    def full_check(self, plan: Plan) -> Callable[..., Any]:
        """The whole-call check of ``plan``'s first call (what :meth:`arm` installs)."""
        return self._step(plan)

    def _step(self, plan: Plan) -> Callable[..., Any]:
        """The plan's first call runs on faithful copies of the arguments, plain Python
        on the caller's own: the caller gets exactly plain Python's result, exception
        and in-place writes (aliasing and read-only flags included), and the plan is
        kept only if its run on the copies agreed."""

        def first_call(*args: Any, **kwargs: Any) -> Any:
            try:
                copy_args, copy_kwargs = snapshot_args(args, kwargs)
            except CannotCopy as exc:  # this call cannot be checked: plain answers it
                plan.note = f"the first call could not be checked: {exc}; plain Python ran it"
                return self.func(*args, **kwargs)
            try:
                result, raised = plan.prepared.fn(*copy_args, **copy_kwargs), None
            except plan.catch:
                raise  # the dispatcher falls back; the caller's arguments are untouched
            except Exception as exc:
                result, raised = None, exc
            try:
                expected = self.func(*args, **kwargs)
            except Exception as plain_exc:
                self._both_raised(plan, raised, plain_exc, copy_args, copy_kwargs, args,
                                  kwargs)
                raise
            if raised is not None:
                self._raised_where_returned(plan, raised, expected)
            elif self._agrees(plan, result, expected, (copy_args, copy_kwargs),
                              args, kwargs):
                self.table.settle(plan)
                if kept_on_device(plan):  # inside on_device(): the caller asked for
                    return result  # device results; this one equals plain's
            return expected

        return first_call

    def raised_alone(self, plan: Plan, exc: Exception, args: tuple, kwargs: dict) -> Any:
        """The plan raised on a call that wrote no argument: plain Python, run on the
        same arguments, decides what the call does."""
        try:
            expected = self.func(*args, **kwargs)
        except Exception as plain_exc:
            self._both_raised(plan, exc, plain_exc, args, kwargs, args, kwargs)
            raise
        self._raised_where_returned(plan, exc, expected)
        return expected

    def _raised_where_returned(self, plan: Plan, exc: Exception, expected: Any) -> None:
        self.mismatch(plan, f"it raised {type(exc).__name__}: {first_line(exc)} where plain "
                            f"Python returned {expected!r:.80}")

    def _both_raised(self, plan: Plan, raised: Exception | None, plain_exc: Exception,
                     copy_args: tuple, copy_kwargs: dict, args: tuple,
                     kwargs: dict) -> None:
        """Plain Python raised: the plan is kept only if it raised the same type and
        left the arguments as plain Python did."""
        if raised is None:
            self.mismatch(plan, f"plain Python raised {type(plain_exc).__name__} where it "
                                "returned")
        elif type(raised) is not type(plain_exc):
            self.mismatch(plan, f"it raised {type(raised).__name__} where plain Python "
                                f"raised {type(plain_exc).__name__}")
        else:
            diff = _compare_args(copy_args, copy_kwargs, args, kwargs)
            if diff is not None:
                self.mismatch(plan, f"both raised {type(plain_exc).__name__}, but {diff}")
            else:
                self.table.settle(plan)

    def check_copies(self, candidate: Plan, copies: tuple[tuple, dict], expected: Any,
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
            self._raised_where_returned(candidate, exc, expected)
            return False
        return self._agrees(candidate, result, expected, copies, args, kwargs)

    def _agrees(self, plan: Plan, result: Any, expected: Any, copies: tuple[tuple, dict],
                args: tuple, kwargs: dict) -> bool:
        """Compare a run on ``copies`` with plain Python's on ``args``: False after
        recording a difference; True after learning any result-type repair."""
        diff = self._difference(plan, result, expected, *copies, args, kwargs)
        if diff is not None and not diff.repairable:
            self.mismatch(plan, diff.text)
            return False
        self._learned(plan, diff.converter if diff else None, result)
        return True

    def _difference(self, plan: Plan, result: Any, expected: Any, args: tuple,
                    kwargs: dict, plain_args: tuple, plain_kwargs: dict) -> Any:
        """The first difference between the two runs: result, then in-place writes."""
        if kept_on_device(plan):  # device results kept on the device on purpose
            result, expected = host_copy(result), host_copy(expected)
        diff = compare(result, expected)
        if diff is None or diff.repairable:
            diff = _compare_args(args, kwargs, plain_args, plain_kwargs) or diff
        return diff

    def mismatch(self, plan: Plan, what: str) -> None:
        """``plan``'s result differs from plain Python's: level 0 keeps the key."""
        reason = f"its result differs from the plain function's: {what}"
        self.table.fail(plan.backend, plan.key.sig, reason, Code.MISMATCH)
        warn_once((self.qualname, "verify", plan.backend, plan.key),
                  f"{self.qualname}: level {plan.level} ({plan.backend}) gave a different "
                  f"result than plain Python for ({plan.signature}): {what}. This signature "
                  "now runs at level 0 and the plain result is returned. Please report it "
                  "with optlevel.explain(f, *args).", ResultMismatchWarning)
        self.table.demote(plan, Prepared(self.func), reason)

    # --- result types --------------------------------------------------------------

    def _learned(self, plan: Plan, converter: Callable[[Any], Any] | None,
                 result: Any = None) -> None:
        types = type_key(plan.key.sig)
        if isinstance(converter, type):  # a scalar type repair: only from the type seen
            # the result's type belongs to the function and the argument types, not to
            # the backend: other backends of these types (a parallel plan chosen for a
            # larger call) take the same repair, for results of the same wrong type
            self.retypes.setdefault(types, {})[type(result)] = converter
            converter = _Retype(self.retypes[types])
        plan.converter = converter
        self.converters[(plan.backend, types)] = converter

    def _reuse_converter(self, plan: Plan) -> None:
        """A plan that is not verified takes the repair a verified one of the same
        argument types learned (the result's type does not depend on sizes, except
        for empty arrays, which have their own key), or the NumPy scalar type its
        backend proved every return gives."""
        if plan.state is not State.READY:
            return
        types = type_key(plan.key.sig)
        if (plan.backend, types) in self.converters:
            converter = self.converters[(plan.backend, types)]
        elif types in self.retypes:
            converter = _Retype(self.retypes[types])
        else:
            converter = _scalar_converter(plan.prepared.result_type)
        if converter is not None:
            plan.converter = converter
            self.table.settle(plan)


class _Retype:
    """Turns a result of a type a check saw into the type plain Python gave; any other
    type passes unchanged, so a repair never converts a type plain Python did not
    produce."""

    __slots__ = ("targets",)

    def __init__(self, targets: dict[type, type]):
        self.targets = targets  # shared: a later repair of these types joins it

    def __call__(self, value: Any) -> Any:
        target = self.targets.get(type(value))
        return value if target is None else target(value)


def _compare_args(args: tuple, kwargs: dict, plain_args: tuple, plain_kwargs: dict) -> Any:
    """The in-place writes of both runs: arrays, lists and dicts only (other objects,
    such as ``self``, compare by identity and never equal a copy)."""
    pairs = list(zip(args, plain_args)) + [(kwargs[k], plain_kwargs[k]) for k in kwargs]
    for i, (a, b) in enumerate(pairs):
        if array_kind(a) is None and type(a) not in (list, dict):
            continue
        diff = compare(a, b, f"argument {i} after the call")
        if diff is not None and not diff.repairable:
            return diff
    return None


def _scalar_converter(target: type | None) -> Callable[[Any], Any] | None:
    """Python scalars → ``target`` (a NumPy scalar type); anything else unchanged."""
    if target is None:
        return None

    def convert(value: Any) -> Any:
        return target(value) if type(value) in _PYTHON_SCALARS else value
    return convert


def type_key(sig: tuple) -> tuple:
    """A signature key without the arrays' size classes, but with whether each array
    is empty: a loop that never runs often returns another type (``0.0`` where a sum
    of elements is ``np.float64``)."""
    return tuple(item[:-1] + (item[-1] == 0,) if type(item) is tuple and len(item) == 4
                 and isinstance(item[0], np.dtype) else item for item in sig)
