"""The backend registry: one small module per strategy, all the same shape.

A backend states only what differs from :class:`BackendBase`'s defaults:

- ``name`` and ``level`` (0-4); several backends may share a level (level 3 has
  prange, threads, processes, dask and ray; level 4 has cupy and torch);
- ``requires``: the optional modules it needs (checked with ``find_spec``, never imported);
- capability flags: ``compiles`` (``prepare`` builds code, so it may run in the
  background), ``uses_threads``, ``uses_processes``, ``uses_device``,
  ``holds_resources`` (``close()`` releases something: a pool, device memory);
- ``available(settings) -> Verdict``: what ``find_spec`` cannot see (a driver, a
  device, a cluster). Called once per backend and :meth:`availability_key`, cached
  here (:func:`is_available`);
- ``applies(features, signature, settings, profile) -> Verdict``: can it serve this
  call at all;
- ``estimate(features, signature, settings, profile) -> Estimate``: does it pay
  for these arguments, and its predicted cost in seconds (``None``: unknown);
- ``prepare(func, features, signature, settings, args, kwargs) -> Prepared``: build
  the callable for this call's arguments, or raise :class:`Decline` with the reason;
- ``calibrate(profile, quick)``: measure what ``estimate`` needs into the machine
  profile (``optlevel calibrate``), and ``close()``.

Adding a backend is one new module plus one line in :func:`_register_builtin`.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..analysis import ArgSignature, FunctionFeatures

__all__ = ["Backend", "BackendBase", "Verdict", "YES", "Estimate", "Prepared", "Decline",
           "BACKENDS", "register_backend", "requirement_missing", "is_available",
           "forget_availability", "close_all", "ensure_closed_at_exit", "known_options"]

log = logging.getLogger("optlevel")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a backend can serve a call, and if not, why. ``applies`` may answer
    ``Verdict(False, why, kind="pays")`` for "it would not pay" when that is cheap to
    tell before probing a device (a small host array): no warning, nothing probed."""

    ok: bool
    reason: str = ""
    kind: str = ""

    def __bool__(self) -> bool:
        return self.ok


YES = Verdict(True)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Does a backend pay for a call, and what it is predicted to cost.

    ``pays`` is ``"yes"``, ``"no"`` (it would be slower than a lower level: not
    tried) or ``"trial"`` (measure it against level 0 on the first calls, keep the
    faster). ``cost`` is the predicted seconds for one call, or ``None`` when
    unknown; the planner orders candidates by it, level breaking ties.
    """

    pays: str = "yes"
    reason: str = ""
    cost: float | None = None
    #: whether a ``"trial"`` also holds when the user asked for the level explicitly;
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

    ``checkable`` is False when the results are not meant to equal the plain
    function's (device random numbers draw another stream): such a plan is never
    verified against plain Python.
    """

    fn: Callable[..., Any]
    compile_time: float = 0.0
    internal_errors: tuple[type[BaseException], ...] = ()
    note: str = ""
    unfit_errors: tuple[type[BaseException], ...] = ()
    checkable: bool = True


class Decline(Exception):
    """Raised by ``prepare``: this backend cannot serve the call; try the next one."""

    def __init__(self, reason: str, *, warn: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.warn = warn


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
    options: dict[str, str]

    def available(self, settings: Any) -> Verdict: ...

    def selected(self, settings: Any) -> Verdict: ...

    def availability_key(self, settings: Any) -> Any: ...

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict: ...

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate: ...

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
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
    requires: tuple[str, ...] = ()
    install_hint = ""
    compiles = False
    uses_threads = False
    uses_processes = False
    uses_device = False
    holds_resources = False
    #: keyword options of ``@optimize(...)`` this backend reads (name → one-line doc);
    #: they reach it as ``features.options``
    options: dict[str, str] = {}

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

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        return YES

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        return Estimate()

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        raise NotImplementedError

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        return None

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<optlevel backend {self.name!r} level {self.level}>"


_spec_cache: dict[str, bool] = {}


def requirement_missing(backend: Backend) -> str | None:
    """The first optional module ``backend`` needs that is not installed, if any."""
    for module in backend.requires:
        if module in sys.modules:  # imported, or blocked with sys.modules[name] = None
            if sys.modules[module] is None:
                return module
            continue
        if module not in _spec_cache:
            _spec_cache[module] = importlib.util.find_spec(module) is not None
        if not _spec_cache[module]:
            return module
    return None


_available: dict[tuple[str, Any], Verdict] = {}
_available_lock = threading.Lock()


def is_available(backend: Backend, settings: Any) -> Verdict:
    """``backend.available(settings)``, asked once per backend and availability key.

    A backend whose probe raises is unavailable, with the error as the reason: a
    probe must never break a user's call.
    """
    key = (backend.name, backend.availability_key(settings))
    found = _available.get(key)
    if found is not None:
        return found
    with _available_lock:
        found = _available.get(key)
        if found is None:
            try:
                found = backend.available(settings)
            except Exception as exc:  # a broken driver or cluster: not ours to crash on
                found = Verdict(False, f"its availability check failed: "
                                       f"{type(exc).__name__}: {exc}")
            _available[key] = found
            log.debug("backend %s available: %s", backend.name, found)
    return found


def forget_availability() -> None:
    """Ask every backend again next time (after a driver or cluster change)."""
    with _available_lock:
        _available.clear()


#: name → backend. The one place backends are listed is :func:`_register_builtin`.
BACKENDS: dict[str, Backend] = {}
_closing_registered = False


def register_backend(backend: Backend) -> Backend:
    """Add (or replace) a backend in the registry."""
    BACKENDS[backend.name] = backend
    return backend


def known_options() -> dict[str, str]:
    """Every ``@optimize`` keyword option some registered backend reads."""
    out: dict[str, str] = {}
    for backend in BACKENDS.values():
        out.update(getattr(backend, "options", {}))
    return out


def close_all() -> None:
    """Release what every backend holds (pools, device memory); runs at exit."""
    for backend in list(BACKENDS.values()):
        if backend.holds_resources:
            try:
                backend.close()
            except Exception as exc:  # at exit, one backend must not stop the others
                log.debug("closing %s failed: %s", backend.name, exc)


def ensure_closed_at_exit() -> None:
    """Register :func:`close_all` with ``atexit`` (once; called when a plan is built,
    not at import)."""
    global _closing_registered
    if not _closing_registered:
        _closing_registered = True
        atexit.register(close_all)


def _register_builtin() -> None:
    from .gpu_cupy import CupyBackend
    from .gpu_torch import TorchBackend
    from .numba_jit import NumbaBackend
    from .parallel_dask import DaskBackend
    from .parallel_prange import PrangeBackend
    from .parallel_processes import ProcessesBackend
    from .parallel_ray import RayBackend
    from .parallel_threads import ThreadsBackend
    from .python import PythonBackend
    from .vectorize import VectorizeBackend

    builtin: tuple[Backend, ...] = (PythonBackend(), NumbaBackend(), CupyBackend(),
                                    TorchBackend())
    builtin += (VectorizeBackend(),)
    builtin += (PrangeBackend(), ThreadsBackend(), ProcessesBackend(), DaskBackend(),
                RayBackend())
    for backend in builtin:
        register_backend(backend)


_register_builtin()
