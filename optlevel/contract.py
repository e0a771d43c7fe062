"""The contract every backend speaks: a leaf module (it imports nothing of optlevel).

A backend is a small object with a name, its level, capability flags with
defaults (:class:`BackendBase`), and five calls the core makes on it:

- ``available(settings) -> Verdict``: what ``find_spec`` cannot see (a driver, a
  device, a cluster); asked once per backend and :meth:`~Backend.availability_key`;
- ``applies(features, signature, settings, profile) -> Verdict``: can it serve this
  call at all;
- ``estimate(features, signature, settings, profile) -> Estimate``: does it pay
  for these arguments, and its predicted cost in seconds (``None``: unknown);
- ``prepare(func, features, signature, settings, args, kwargs) -> Prepared``: build
  the callable for this call's arguments, or raise :class:`Decline` with the reason;
- ``calibrate(profile, quick)`` and ``close()``.

Kinds are enums whose values are the strings they replace (``Pays.YES == "yes"``),
and every refusal carries a stable :class:`Code` next to its prose, so tests and
tools read the code, never the sentence. The backend registry that finds backends
by name is :mod:`optlevel.core.registry`; adding one is described in
``docs/architecture.md``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Backend", "BackendBase", "Verdict", "YES", "Estimate", "Prepared", "Decline",
           "Pays", "VerdictKind", "RowKind", "Code"]


class Code(str, enum.Enum):
    """Stable codes of the planner's and the dispatcher's own reasons.

    Level-specific findings keep their own families (``SEM0xx`` for the divergence
    catalogue, ``OL1xx``/``OL2xx`` for level 1's rules); these name why a backend
    was not used for a call. ``docs/explain-and-stats.md`` lists them.
    """

    OK = "PL000"  # used (or usable) for this call
    ABSENT = "PL001"  # no backend at this level in this version
    CEILING = "PL002"  # above the requested ceiling (or OPTLEVEL_MAX_LEVEL)
    STRICT = "PL003"  # strict=True allows only the requested level
    CONFIGURED = "PL004"  # left out by the configuration (executor, GPU backend)
    MISSING = "PL005"  # an optional library is not installed
    UNAVAILABLE = "PL006"  # installed, but no driver, device or cluster
    DECLINED = "PL007"  # cannot serve this function or these arguments
    PAYS = "PL008"  # would be slower than a lower level for these arguments
    TRIAL = "PL009"  # measured against plain Python on the first calls
    BUILD_FAILED = "PL010"  # declined or failed while building (compile, rewrite)
    CALL_FAILED = "PL011"  # its built code failed when called (not the user's error)
    MISMATCH = "PL012"  # its result differed from the plain function's
    SLOWER = "PL013"  # a trial measured it slower than plain Python
    NO_SOURCE = "PL014"  # needs the function's source, which is not available
    UNSUPPORTED = "PL015"  # generator, async, *args: a form it cannot compile
    KEPT_IN_PYTHON = "PL016"  # random numbers, I/O, global writes: meaning kept in Python

    def __str__(self) -> str:
        return self.value


class VerdictKind(str, enum.Enum):
    """What a refusing :class:`Verdict` means to the planner."""

    NONE = ""  # an ordinary verdict (yes, or "cannot serve")
    PAYS = "pays"  # "it would not pay": told cheaply before probing a device; no warning

    def __str__(self) -> str:
        return self.value


class Pays(str, enum.Enum):
    """An :class:`Estimate`'s answer: does the backend pay for this call?"""

    YES = "yes"
    NO = "no"  # it would be slower than a lower level: not tried
    TRIAL = "trial"  # measure it against level 0 on the first calls, keep the faster

    def __str__(self) -> str:
        return self.value


class RowKind(str, enum.Enum):
    """Why one backend's row in a ranking is (or is not) tried; see
    :class:`optlevel.core.planner.Row`."""

    OK = "ok"
    TRIAL = "trial"
    ABSENT = "absent"
    CEILING = "ceiling"
    STRICT = "strict"
    MISSING = "missing"
    UNAVAILABLE = "unavailable"
    CONFIGURED = "configured"
    DECLINED = "declined"
    PAYS = "pays"

    @property
    def code(self) -> Code:
        return Code[self.name]

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a backend can serve a call, and if not, why (prose and :class:`Code`).
    ``applies`` may answer ``Verdict(False, why, kind=VerdictKind.PAYS)`` for "it would
    not pay" when that is cheap to tell before probing a device (a small host array):
    no warning, nothing probed."""

    ok: bool
    reason: str = ""
    kind: VerdictKind = VerdictKind.NONE
    code: Code | str = ""

    def __bool__(self) -> bool:
        return self.ok


YES = Verdict(True)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Does a backend pay for a call (:class:`Pays`), and what it is predicted to cost.

    ``cost`` is the predicted seconds for one call, or ``None`` when unknown; the
    planner orders candidates by it, level breaking ties.
    """

    pays: Pays = Pays.YES
    reason: str = ""
    cost: float | None = None
    #: whether a ``TRIAL`` also holds when the user asked for the level explicitly;
    #: False where only the auto mode should measure before it commits
    explicit_trial: bool = True


@dataclasses.dataclass
class Prepared:
    """A built callable, with the errors that mean "the build failed" rather than
    "the user's code raised" (e.g. Numba's typing errors raised on a late compile).

    ``unfit_errors`` are the errors ``fn`` raises, before any of the user's code
    runs, when one call's arguments do not fit what was built (a Python int beyond
    64 bits for a compiled int64 parameter): that call runs at level 0 and the plan
    is kept. A backend lists a type here only where the user's code cannot raise it.
    Under an explicit level such a call warns once (a :class:`FallbackWarning`)
    unless the error's class sets ``quiet = True`` (Numba's replays of edge values).

    ``checkable`` is False when the results are not meant to equal the plain
    function's (device random numbers draw another stream): such a plan is never
    verified against plain Python.

    ``verify`` asks the core's one verification path to check this plan's first
    call against plain Python (True) or not (False) whatever the settings say;
    ``None`` leaves it to the backend's ``checks_first_call`` and the settings.
    ``compare_on_host``, called at the check, says whether to compare host copies of
    both results (a device backend asked to keep its results on the device).
    ``result_type`` is the NumPy scalar type every return is proven to give, applied
    to Python scalars when no verified call has taught the plan its result type.
    """

    fn: Callable[..., Any]
    compile_time: float = 0.0
    internal_errors: tuple[type[BaseException], ...] = ()
    note: str = ""
    unfit_errors: tuple[type[BaseException], ...] = ()
    checkable: bool = True
    verify: bool | None = None
    compare_on_host: Callable[[], bool] | None = None
    result_type: type | None = None


class Decline(Exception):
    """Raised by ``prepare``: this backend cannot serve the call; try the next one."""

    def __init__(self, reason: str, *, warn: bool = True, code: Code | str = Code.BUILD_FAILED):
        super().__init__(reason)
        self.reason = reason
        self.warn = warn
        self.code = code


class Backend(Protocol):
    name: str
    level: int
    requires: tuple[str, ...]
    install_hint: str
    compiles: bool
    uses_threads: bool
    uses_processes: bool
    uses_device: bool
    holds_resources: bool
    checks_first_call: bool
    options: dict[str, str]

    def available(self, settings: Any) -> Verdict: ...

    def selected(self, settings: Any) -> Verdict: ...

    def availability_key(self, settings: Any) -> Any: ...

    def applies(self, features: Any, signature: Any, settings: Any,
                profile: Any) -> Verdict: ...

    def estimate(self, features: Any, signature: Any, settings: Any,
                 profile: Any) -> Estimate: ...

    def prepare(self, func: Callable[..., Any], features: Any,
                signature: Any, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared: ...

    def calibrate(self, profile: Any, quick: bool = False) -> None: ...

    def close(self) -> None: ...


class BackendBase:
    """The defaults: a backend overrides only the attributes and methods that differ.

    Not a hierarchy to extend further: one level of defaults, as joblib's
    ``ParallelBackendBase`` keeps its capability flags.
    """

    name = ""
    level = 0
    #: optional modules it needs (checked with ``find_spec``, never imported)
    requires: tuple[str, ...] = ()
    install_hint = ""
    #: ``prepare`` builds code, so it may run in the background or after a warm-up
    compiles = False
    uses_threads = False
    uses_processes = False
    uses_device = False
    #: ``close()`` releases something: a pool, device memory. Such a backend also
    #: registers ``RUNTIME.closer(...)`` (:mod:`optlevel.core.runtime`) when it makes its
    #: first pool or client, so that :func:`optlevel.shutdown` releases it at exit
    holds_resources = False
    #: every plan's first call is checked against plain Python, whatever
    #: ``OPTLEVEL_VERIFY`` says (a rewrite that must prove itself on real data);
    #: one plan may say otherwise through :attr:`Prepared.verify`
    checks_first_call = False
    #: its plans may run a first call too large for any check (part of it included):
    #: the compiler keeps Python's meaning by construction (level 2's catalogue,
    #: guards and replays); other backends' plans wait for a call they can check
    trusted_unchecked = False
    #: keyword options of ``@optimize(...)`` this backend reads (name → one-line doc);
    #: they reach it as ``features.options``
    options: dict[str, str] = {}

    def check_option(self, name: str, value: Any) -> str | None:
        """None when ``value`` is valid for the option ``name`` (one of :attr:`options`),
        else what a valid value is; ``@optimize`` raises ``ConfigError`` with it."""
        return None

    def available(self, settings: Any) -> Verdict:
        return YES

    def selected(self, settings: Any) -> Verdict:
        """Does the configuration leave this backend in the running? A backend the
        user must opt into (a cluster executor) says no, with the setting to change;
        it is then neither probed nor warned about."""
        return YES

    def availability_key(self, settings: Any) -> Any:
        """What :meth:`available`'s answer depends on (cached per value)."""
        return None

    def applies(self, features: Any, signature: Any, settings: Any,
                profile: Any) -> Verdict:
        return YES

    def estimate(self, features: Any, signature: Any, settings: Any,
                 profile: Any) -> Estimate:
        return Estimate()

    def prepare(self, func: Callable[..., Any], features: Any,
                signature: Any, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        raise NotImplementedError

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        return None

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<optlevel backend {self.name!r} level {self.level}>"
