"""The call-time half of level 2's guards: frozen values, int arguments, replays.

Numba froze the globals and closure cells a function read when it compiled, and
those of every helper compiled into it (helpers of helpers too, each in its own
module's globals). The callable :func:`guarded` returns checks, before each call,
that each of them still holds the object it held then (an identity test per name,
a few tens of nanoseconds), and rebuilds when one changed (catalogue SEM012,
SEM013). The rebuilt code brings its own replay plan: code built for a divisor of
3 cannot replay, the code rebuilt for 0 can, so what is caught and copied follows
the new build. It checks Python int arguments against the 64-bit range where
Numba's own unboxing error (``OverflowError``) could not be told apart from the
user's code raising one (SEM017).

And it replays. Compiled code raises :class:`Replay` where its meaning may leave
Python's (an int past 64 bits, a zero divisor, a math error, a float with no
int, an index out of range when bounds are checked). The callable then undoes
the call's writes and raises :class:`Replayed`, which the backend lists in
``Prepared.unfit_errors``: the dispatcher runs the call in plain Python from the
original arguments and counts it at level 0 (``stats()``), so the user gets
exactly what plain Python gives: value, exception, warnings, argument contents.

Undoing writes: before each call of a function that writes into its array
arguments (and whose compiled code can replay), the written arrays are copied;
a replay copies them back. Views of one buffer stay views of one buffer, since
the memory itself is restored. The copy is paid only where a guard is left
after the proofs (:mod:`.proofs`): a kernel whose subscripts and integer
operations are all proven copies nothing.

A signature that replays often (more than :data:`DEMOTE_REPLAYS` of its last
:data:`DEMOTE_WINDOW` calls) stops trying compiled code: each later call goes
straight to plain Python, with one ``PerformanceWarning``.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ...errors import PerformanceWarning, warn_once

__all__ = ["AmbiguousResult", "ArgumentBeyondInt64", "RebuildDeclined", "Rebuilt", "Replay",
           "Replayed", "changed_since", "guarded", "DEMOTE_REPLAYS", "DEMOTE_WINDOW"]

_MISSING = object()
_LOW, _HIGH = -(2 ** 63), 2 ** 63
DEMOTE_WINDOW = 100  # calls looked back over
DEMOTE_REPLAYS = 10  # more replays than this in the window: plain Python from then on


class ArgumentBeyondInt64(OverflowError):
    """A Python int argument does not fit the compiled int64 parameter."""


class Replay(Exception):
    """Raised by compiled code where its meaning may leave Python's (an int past 64
    bits, a zero divisor, a math error, a float that has no int): the call runs again
    in plain Python from its original arguments."""


class Replayed(Exception):
    """The prepared callable's word to the dispatcher: this call's writes are undone,
    run it in plain Python (one of ``Prepared.unfit_errors``)."""

    #: an edge value met while the compiled code ran, handled as Python would: part of
    #: level 2's meaning, not a fallback an explicit level warns about
    quiet = True


class AmbiguousResult(Exception):
    """The compiled result equals a number the returned variable starts with: plain
    Python may return that Python number or a NumPy scalar of the same value (which
    one depends on the branches the call took), so the call replays
    (:func:`.returns.starting_values`)."""


class RebuildDeclined(RuntimeError):
    """A frozen global changed and the function cannot be compiled for its new value."""


class ReplayPlan:
    """What :func:`guarded` needs to replay: the errors that mean "replay", the
    written parameters to copy first, and names for the warning."""

    def __init__(self, catches: tuple[type[BaseException], ...], written: tuple[int, ...],
                 written_names: tuple[str, ...], qualname: str, signature: str,
                 shapes: tuple[tuple[int, int, int, int, str, str], ...] = (),
                 starts: tuple[Any, ...] = ()):
        self.catches = catches
        #: the Python numbers the returned variable starts with: a result equal to one
        #: of them replays (its type depends on the path taken; :class:`AmbiguousResult`)
        self.starts = starts
        #: (position, axis, other position, other axis, name, other name): the bounds
        #: proof holds when ``shape[axis] >= other.shape[other axis]``
        self.shapes = shapes
        self.written = written  # positions of written parameters
        self.written_names = written_names
        self.qualname = qualname
        self.signature = signature


class Rebuilt(NamedTuple):
    """What ``rebuild()`` hands :func:`guarded` after a frozen value changed: the new
    :class:`~.helpers.Built`, and the int check and replay plan for its code."""

    built: Any
    check_ints: bool
    replay: ReplayPlan | None


def guarded(disp: Any, guards: tuple[Any, ...], rebuild: Callable[[], Any],
            check_ints: bool, replay: ReplayPlan | None = None) -> Callable[..., Any]:
    """``disp``, or a function that checks ``guards`` (and int arguments) first and
    replays what ``replay.catches`` signals; ``rebuild()`` returns a :class:`Rebuilt`
    for the current values (the new code may replay where the old could not: a global
    divisor now 0), or raises :class:`RebuildDeclined`."""
    if not guards and not check_ints and replay is None:
        return disp
    fn = disp
    in_globals, in_cells = _split(guards)
    catches, copies, shapes, starts = _derived(replay)
    recent: collections.deque[int] = collections.deque(maxlen=DEMOTE_REPLAYS + 1)
    calls = 0
    replays = 0
    demoted = False

    def refresh() -> None:
        nonlocal fn, in_globals, in_cells, check_ints, replay, catches, copies, shapes, starts
        new = rebuild()
        # the new build's replay plan (a Replay raised outside it would reach the user);
        # int arguments stay checked (the dispatcher's "unfit" errors are the first's)
        replay = new.replay
        catches, copies, shapes, starts = _derived(replay)
        check_ints = check_ints or new.check_ints
        fn = new.built.disp
        in_globals, in_cells = _split(new.built.guards)

    def replayed(exc: BaseException) -> Replayed:
        nonlocal replays, demoted
        replays += 1
        recent.append(calls)
        if len(recent) > DEMOTE_REPLAYS and calls - recent[0] < DEMOTE_WINDOW:
            demoted = True
            assert replay is not None
            warn_once((replay.qualname, "numba", "replays", replay.signature),
                      _demoted(replay, len(recent), calls - recent[0] + 1, exc),
                      PerformanceWarning)
        return Replayed(f"replayed in plain Python: {_why(exc)}")

    # Plain loops, not any(...) over generators: this runs before every call.
    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if demoted:
            raise Replayed("replays often for these arguments: runs in plain Python")
        try:
            for owner, name, value in in_globals:
                if owner.get(name, _MISSING) is not value:
                    raise _Changed
            for cell, value in in_cells:
                if cell.cell_contents is not value:
                    raise _Changed
        except (_Changed, ValueError):  # ValueError: a cell was emptied
            refresh()
        if check_ints:
            _check_ints(args, kwargs)
        calls += 1
        if shapes and not _shapes_hold(args, kwargs, shapes):
            raise Replayed("an argument is shorter than the loop that indexes it: "
                           "the call runs in plain Python, which decides")
        saved = _snapshot(args, kwargs, replay) if copies else ()  # type: ignore[arg-type]
        try:
            result = fn(*args, **kwargs)
            if starts and _ambiguous(result, starts):
                raise AmbiguousResult
        except (*catches, AmbiguousResult) as exc:
            for target, copy in saved:
                np.copyto(target, copy)
            raise replayed(exc) from None
        return result

    call.__wrapped__ = disp  # type: ignore[attr-defined]
    call.py_func = getattr(disp, "py_func", None)  # type: ignore[attr-defined]
    call.replay_counts = lambda: {"calls": calls, "replays": replays,  # type: ignore
                                  "demoted": demoted}
    # what the code froze, for code built beside it (prange's, over level 2's helpers)
    call.frozen = lambda: (tuple(in_globals), tuple(in_cells))  # type: ignore
    return call


def _demoted(replay: ReplayPlan, replays: int, calls: int, exc: BaseException) -> str:
    return (f"{replay.qualname}: level 2 replayed {replays} of its last {calls} calls in "
            f"plain Python ({_why(exc)}); calls with ({replay.signature}) now run at level "
            "0. Python numbers that leave 64 bits, zero divisors or indices out of range are "
            "common for these arguments: fix them, or call with optlevel=0 to silence this.")


def _shapes_hold(args: tuple, kwargs: dict, shapes: tuple) -> bool:
    """Do the shape conditions of the bounds proof hold for these arguments?"""
    for pos, axis, other_pos, other_axis, name, other_name in shapes:
        a = args[pos] if pos < len(args) else kwargs.get(name)
        b = args[other_pos] if other_pos < len(args) else kwargs.get(other_name)
        try:
            if a.shape[axis] < b.shape[other_axis]:
                return False
        except (AttributeError, IndexError, TypeError):
            return False
    return True


def changed_since(frozen: tuple[tuple, tuple]) -> bool:
    """Has a value of ``frozen`` (a guarded callable's ``frozen()``, taken when code
    was built beside it) changed since? (The call's own check is written out inline:
    it runs before every call.)"""
    in_globals, in_cells = frozen
    for owner, name, value in in_globals:
        if owner.get(name, _MISSING) is not value:
            return True
    try:
        return any(cell.cell_contents is not value for cell, value in in_cells)
    except ValueError:  # a cell was emptied
        return True


def _derived(plan: ReplayPlan | None) -> tuple[tuple, bool, tuple, tuple]:
    """What a call reads of a replay plan: the errors it catches, whether it copies the
    written arrays first, the shape checks, the starting values."""
    if plan is None:
        return (), False, (), ()
    return plan.catches, bool(plan.written or plan.written_names), plan.shapes, plan.starts


def _ambiguous(result: Any, starts: tuple[Any, ...]) -> bool:
    """Is ``result`` (a Python number from compiled code) one of ``starts``? NaN
    equals nothing: a NaN start matches a NaN result."""
    if type(result) not in (float, int, bool, complex):
        return False
    for value in starts:
        if result == value or (result != result and value != value):
            return True
    return False


def _why(exc: BaseException) -> str:
    if isinstance(exc, AmbiguousResult):
        return "its result equals the number its returned variable starts with, whose " \
               "type (a Python number or a NumPy scalar) depends on the branches taken"
    if isinstance(exc, Replay):
        return "compiled code met an int past 64 bits, a zero divisor, a math error or " \
               "a float with no int value"
    if isinstance(exc, IndexError):
        return "an index out of range"
    return type(exc).__name__


def _snapshot(args: tuple, kwargs: dict, replay: ReplayPlan) -> list[tuple[Any, Any]]:
    """Copies of the written arrays (``ndarray`` arguments, or arrays in a tuple)."""
    saved: list[tuple[Any, Any]] = []
    values = [args[i] for i in replay.written if i < len(args)]
    values += [kwargs[n] for n in replay.written_names if n in kwargs]
    for value in values:
        if isinstance(value, np.ndarray):
            saved.append((value, value.copy(order="K")))
        elif isinstance(value, tuple):
            saved.extend((v, v.copy(order="K")) for v in value if isinstance(v, np.ndarray))
    return saved


class _Changed(Exception):
    """A frozen value changed (internal to :func:`guarded`)."""


def _split(guards: tuple[Any, ...]) -> tuple[tuple, tuple]:
    in_globals = tuple((g.owner, g.name, g.value) for g in guards if isinstance(g.owner, dict))
    in_cells = tuple((g.owner, g.value) for g in guards if not isinstance(g.owner, dict))
    return in_globals, in_cells


def _check_ints(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if type(value) is int and not _LOW <= value < _HIGH:
            raise ArgumentBeyondInt64(f"the int argument {value} does not fit in 64 bits")
