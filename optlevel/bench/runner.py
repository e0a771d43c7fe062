"""Timing the workloads: plain Python against optlevel at each level, side by side.

For one workload and size the runner calls the plain, undecorated function (the
baseline) and a fresh ``optimize(func, level=...)`` per requested level once each:
the warm-up, which pays any compile. Then, after one untimed round, it times them
in interleaved rounds
(plain, level 0, level 2, ..., plain, level 0, ...), so that a slow spell of a
shared machine hits every variant alike, and reports each one's median. Realized
levels and compile times come from ``stats()``; results are compared with the
plain result by the rule ``verify=True`` uses (:func:`optlevel.core.verify.same_result`).

Timing is ``time.perf_counter`` with the garbage collector paused. A call that
takes at least ``single_above`` seconds (plain Python on big inputs) is timed
once: its warm-up is the measurement. Fast calls are looped so that one sample
lasts at least ``min_sample`` seconds; slow cases get fewer rounds, within
``budget``.
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
from collections.abc import Callable, Iterable, Sequence
from time import perf_counter
from typing import Any

from ..api import optimize
from ..core.verify import same_result
from ..errors import LevelUnavailable
from ..ladder import Level, LevelLike
from .workloads import Workload

__all__ = ["Options", "Row", "make_variant", "run_case", "failures", "PLAIN"]

#: The ``requested`` value of a baseline row.
PLAIN = "plain"


@dataclasses.dataclass(frozen=True)
class Options:
    """How to time.

    Attributes
    ----------
    repeat : int
        At most this many samples per measurement; their median is reported.
    budget : float
        Seconds the slowest variant of a case may spend in timed rounds; slow cases
        get fewer rounds.
    single_above : float
        A call this long (seconds) is measured once: plain Python on big inputs.
    min_sample : float
        Fast calls are looped so one sample lasts at least this long.
    strict : bool
        Run exactly the requested level (``strict=True``) instead of it as a ceiling.
    """

    repeat: int = 5
    budget: float = 2.0
    single_above: float = 1.0
    min_sample: float = 0.005
    strict: bool = False


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the results table: one workload, size and requested level."""

    workload: str
    size: int
    size_label: str
    requested: str  # "plain", or a level: "0", "2", "auto"
    realized: str = "-"  # levels the calls ran at, e.g. "2" (or "0+2" when mixed)
    time: float | None = None  # median seconds per call
    runs: int = 0  # samples behind the median; 1 means a single run
    compile_time: float = 0.0
    speedup: float | None = None  # plain time / this time
    same: bool | None = None  # same result as plain; None for the baseline or on error
    note: str = ""  # why it ran below the requested level
    error: str = ""  # the exception a variant raised, or why the level was unavailable

    @property
    def failed(self) -> bool:
        """A wrong result, or an exception other than an unavailable strict level."""
        return self.same is False or (bool(self.error) and not self.unavailable)

    @property
    def unavailable(self) -> bool:
        return self.error.startswith("LevelUnavailable")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "failed": self.failed}


@dataclasses.dataclass
class _Contender:
    """One variant of a case while it is being timed."""

    requested: str
    fn: Any  # the plain function, or an optlevel callable with .stats()
    first: Any = None  # the warm-up's result
    probe: float = 0.0  # seconds of one fair call (no compile in it)
    error: str = ""
    times: list[float] = dataclasses.field(default_factory=list)
    number: int = 1  # calls per timed sample
    last: Any = None  # the last timed call's result


def _timed(fn: Callable[..., Any], args: Sequence[Any], number: int = 1) -> tuple[float, Any]:
    """Mean seconds per call over ``number`` calls, with the GC paused, and the last result."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = perf_counter()
        for _ in range(number):
            result = fn(*args)
        elapsed = perf_counter() - start
    finally:
        if enabled:
            gc.enable()
    return elapsed / number, result


def make_variant(func: Callable[..., Any], level: LevelLike, strict: bool = False) -> Any:
    """A fresh optlevel callable for ``func`` (fresh, so its stats are its own)."""
    return optimize(func, level=level, strict=strict)


def _requested(level: LevelLike) -> str:
    parsed = Level.parse(level)
    return "auto" if parsed.is_auto else str(parsed.value)


def _warm_up(requested: str, fn: Callable[..., Any], args: Sequence[Any]) -> _Contender:
    """Call ``fn`` once; an exception becomes the contender's ``error``."""
    c = _Contender(requested, fn)
    try:
        c.probe, c.first = _timed(fn, args)
        stats = getattr(fn, "stats", None)
        if stats is not None and stats().compile_time > 0:
            c.probe, _ = _timed(fn, args)  # the warm-up paid a build: not a fair sample
    except LevelUnavailable as exc:
        c.error = f"LevelUnavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a harness reports any failure as a row
        c.error = f"{type(exc).__name__}: {exc}"
    return c


def _time_rounds(contenders: list[_Contender], args: Sequence[Any], options: Options) -> None:
    """Fill each contender's ``times``: interleaved rounds, or its warm-up when slow."""
    timed = []
    for c in contenders:
        if c.error:
            continue
        if c.probe >= options.single_above:
            c.times = [c.probe]
        else:
            c.number = max(1, min(10_000, int(options.min_sample / max(c.probe, 1e-9))))
            timed.append(c)
    if not timed:
        return
    slowest = max(c.probe * c.number for c in timed)
    rounds = max(1, min(options.repeat, int(options.budget / slowest)))
    for round_ in range(rounds + 1):
        for c in timed:
            c.last = None  # drop the previous result first: big outputs churn memory
            seconds, c.last = _timed(c.fn, args, c.number)
            if round_:  # round 0 is untimed: it settles the allocator for every variant
                c.times.append(seconds)


def _realized(stats: Any) -> str:
    return "+".join(str(level) for level, calls in sorted(stats.levels.items()) if calls)


def _below_note(stats: Any, realized: str) -> str:
    """Why the calls ran below a level that was skipped, from the recorded fallbacks."""
    top = max((int(x) for x in realized.split("+") if x), default=0)
    reasons = [f"level {lvl} ({backend}): {why}" for lvl, backend, why in stats.fallbacks
               if lvl > top]
    return "; ".join(dict.fromkeys(reasons))


def _row(base: Row, c: _Contender, plain: _Contender) -> Row:
    """The finished row of one contender, checked against the plain result."""
    if c.error:
        return dataclasses.replace(base, error=c.error)
    median = statistics.median(c.times)
    row = dataclasses.replace(base, time=median, runs=len(c.times),
                              speedup=statistics.median(plain.times) / median)
    if c is plain:
        return row
    same = same_result(c.first, plain.first) and (
        c.last is None or same_result(c.last, plain.first))
    stats = c.fn.stats()
    realized = _realized(stats)
    return dataclasses.replace(row, realized=realized, compile_time=stats.compile_time,
                               same=same, note=_below_note(stats, realized))


def run_case(workload: Workload, size: int, levels: Iterable[LevelLike],
             options: Options = Options(),
             variant: Callable[..., Any] | None = None) -> list[Row]:
    """Rows for one workload and size: the plain baseline, then one per level.

    Parameters
    ----------
    workload : Workload
        What to run.
    size : int
        The size handed to ``workload.build``.
    levels : iterable of int or "auto"
        The levels to request, in order.
    options : Options
        How to time.
    variant : callable, optional
        ``variant(func, level, strict) -> callable with .stats()``; by default
        :func:`make_variant`. Tests pass a wrong one to check that mismatches show.

    Returns
    -------
    list of Row
        The baseline first. A plain function that raises propagates: there is
        nothing to compare with.
    """
    variant = variant or make_variant
    args = workload.build(size)
    plain = _Contender(PLAIN, workload.func)
    plain.probe, plain.first = _timed(workload.func, args)
    if plain.probe < options.single_above:  # the first call ever pays cold memory
        plain.probe, _ = _timed(workload.func, args)
    contenders = [plain]
    for level in levels:
        fn = variant(workload.func, level, options.strict)
        contenders.append(_warm_up(_requested(level), fn, args))
    _time_rounds(contenders, args, options)
    label = workload.label(size)
    return [_row(Row(workload.name, size, label, c.requested), c, plain) for c in contenders]


def failures(rows: Iterable[Row]) -> list[Row]:
    """The rows whose result differs from plain Python, or that raised."""
    return [row for row in rows if row.failed]
