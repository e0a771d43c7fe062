"""Timing the workloads: plain Python against optlevel at each level, side by side.

For one workload and size the runner calls the plain, undecorated function (the
baseline) and a fresh ``optimize(func, level=...)`` per requested level once each:
the warm-up, which pays any compile, then again until its plans have settled (a trial
decided, a compile paid back: ``stats().settled``, within the case's budget), then up
to three times more, timed (the fastest is the probe, which sets how many calls a
sample loops). Then it
times them in interleaved rounds (plain, level 0, level 2, ..., then level 0,
level 2, ..., plain: each round starts one variant later), so that a slow spell
of a shared machine hits every variant alike. Rounds go on until every variant's median is
known within ``target`` (a 95 % interval, :mod:`.spread`) after ``min_rounds``,
or the case's ``budget`` is spent, or ``repeat`` rounds ran. Every sample is
kept in the row. A variant's speed-up against plain is the median of its
per-round ratios, with its interval: where that holds 1.0 the difference is
inside the noise. Realized levels and compile times come from ``stats()``;
results are compared with the plain result by the rule ``verify=True`` uses
(:func:`optlevel.core.verify.same_result`).

Timing is ``time.perf_counter`` with the garbage collector paused. A call that
takes at least ``single_above`` seconds (plain Python on big inputs) is timed
once, after its warm-up. Fast calls are looped so that one sample lasts at least
``min_sample`` seconds; every sample follows one untimed call of the same
variant, so none pays for the memory the variant before it left behind, and
glibc's allocator is pinned (:mod:`.allocator`) so that no variant gains or
loses page faults by where its arrays happen to sit in the heap.

With ``first_calls`` set, each variant's first calls are also timed in a fresh
process with an empty cache (:mod:`.first_calls`): what a user's new process pays,
compile included.
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
from collections.abc import Callable, Iterable, Sequence
from time import perf_counter
from typing import Any

from ..api import optimize
from ..core.verify import identical, same_result
from ..errors import LevelUnavailable
from ..ladder import Level, LevelLike
from . import allocator, first_calls, spread
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
        At most this many timed rounds per case; each round times every variant once.
    min_rounds : int
        At least this many rounds (within ``budget``) before the spread may stop them.
    target : float
        Stop once every variant's median is known within ± this fraction (95 %).
    budget : float
        Seconds of timed rounds per case: past it the rounds stop (after three).
    single_above : float
        A call this long (seconds) is measured once: plain Python on big inputs.
    min_sample : float
        Fast calls are looped so one sample lasts at least this long.
    strict : bool
        Run exactly the requested level (``strict=True``) instead of it as a ceiling.
    first_calls : int
        Time the first this-many calls of each variant in a fresh process with an
        empty cache (compile included); 0 skips it.
    first_budget : float
        Seconds one variant's fresh process may spend in its first calls; a slower
        variant reports fewer calls.
    """

    repeat: int = 30
    min_rounds: int = 5
    target: float = 0.03
    budget: float = 5.0
    single_above: float = 1.0
    min_sample: float = 0.005
    strict: bool = False
    first_calls: int = 10
    first_budget: float = 10.0


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the results table: one workload, size and requested level.

    ``samples`` are seconds per call, one per timed round (each the mean of
    ``loops`` calls), in the order of the rounds: the plain row's samples and a
    variant's come from the same rounds, so they can be compared round by round.
    ``first_calls`` are the seconds of each of the first calls in a fresh process
    with an empty cache, compile included.
    """

    workload: str
    size: int
    size_label: str
    requested: str  # "plain", or a level: "0", "2", "auto"
    realized: str = "-"  # levels the calls ran at, e.g. "2" (or "0+2" when mixed)
    time: float | None = None  # median seconds per call
    runs: int = 0  # samples behind the median; 1 means a single run
    compile_time: float = 0.0
    speedup: float | None = None  # plain time / this time (median of per-round ratios)
    speedup_low: float | None = None  # its 95 % interval
    speedup_high: float | None = None
    same: bool | None = None  # same result as plain; None for the baseline or on error
    #: the plain result bit for bit (``same`` allows floats a relative 1e-9)
    identical: bool | None = None
    note: str = ""  # why it ran below the requested level
    error: str = ""  # the exception a variant raised, or why the level was unavailable
    #: its plans had settled (``stats().settled``) when its timing began; False: the
    #: budget ended first, so its time holds a trial or a warm-up; None: plain
    settled: bool | None = None
    samples: tuple[float, ...] = ()
    loops: int = 1  # calls per sample
    first_calls: tuple[float, ...] = ()
    first_error: str = ""  # why the fresh-process calls failed, if they did

    @property
    def failed(self) -> bool:
        """A wrong result, or an exception other than an unavailable strict level."""
        return self.same is False or (bool(self.error) and not self.unavailable)

    @property
    def inexact(self) -> bool:
        """Equal to the plain result only within ``same``'s tolerance, not bit for bit."""
        return bool(self.same) and self.identical is False

    @property
    def unavailable(self) -> bool:
        return self.error.startswith("LevelUnavailable")

    @property
    def noise(self) -> bool | None:
        """True when its difference from plain is inside the noise (:mod:`.spread`)."""
        if self.speedup is None or self.speedup_low is None or self.speedup_high is None \
                or self.runs < 2:
            return None
        return spread.inside_noise(self.speedup, self.speedup_low, self.speedup_high)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "failed": self.failed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        """The row :meth:`to_dict` wrote (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in data.items() if k in names}
        for key in ("samples", "first_calls"):
            kept[key] = tuple(kept.get(key) or ())
        return cls(**kept)


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
    settled: bool | None = None  # its plans settled before the budget ended


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


#: Timed calls after the warm-up, the fastest of which sets how many calls a sample loops.
PROBES = 3


def _warm_up(requested: str, fn: Callable[..., Any], args: Sequence[Any],
             options: Options) -> _Contender:
    """Call ``fn`` once, then until its plans settle (at most ``options.budget``),
    then time it (the probe); an exception becomes the contender's ``error``."""
    c = _Contender(requested, fn)
    try:
        _, c.first = _timed(fn, args)
        # the steady state is timed, not a plan on its way there: a trial, a warm-up
        # running plain Python until a compile pays, a provisional winner whose rivals'
        # compile waits (rowwise_python_matmul 128: auto ran level 2 for 237 calls,
        # 2.4 s, before prange raced it and won at 0.87 ms against 1.68). What that
        # costs a new process is the first-calls column
        stats = getattr(fn, "stats", None)
        until = perf_counter() + options.budget
        while stats is not None and not stats().settled and perf_counter() < until:
            _timed(fn, args)
        if stats is not None:
            c.settled = stats().settled
        # the probe comes after the first call, which may pay for a build, a plan's
        # trial or a device's first use (a GPU probe took 2.8 s once, and with a 1 s
        # budget that one call stood as level 4's only sample at 1M elements). It is
        # the fastest of up to PROBES calls: auto's second call can still be a trial's
        # (normalize_loop 10K: 86 ms, against 25 us settled), and a probe that slow
        # made each of auto's samples one call, against 450 calls for level 1's
        probes = [_timed(fn, args)[0]]
        while len(probes) < PROBES and probes[-1] < options.single_above:
            probes.append(_timed(fn, args)[0])
        c.probe = min(probes)
    except LevelUnavailable as exc:
        c.error = f"LevelUnavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a harness reports any failure as a row
        c.error = f"{type(exc).__name__}: {exc}"
    return c


def _sample(c: _Contender, args: Sequence[Any]) -> None:
    """One sample of ``c``, after one untimed call of its own: the call right after
    another variant's pays for memory that variant freed or left in the caches,
    and a variant looped fewer times per sample would carry more of that cost."""
    c.last = None  # drop the previous result first: big outputs churn memory
    c.last = c.fn(*args)
    c.last = None
    seconds, c.last = _timed(c.fn, args, c.number)
    c.times.append(seconds)


def _settled(timed: list[_Contender], rounds: int, started: float, options: Options) -> bool:
    """Enough rounds: every median known within the target, or the budget spent."""
    if rounds >= options.repeat:
        return True
    if perf_counter() - started >= options.budget and rounds >= min(3, options.repeat):
        return True
    return rounds >= options.min_rounds and all(
        spread.relative_width(c.times) <= options.target for c in timed)


def _time_rounds(contenders: list[_Contender], args: Sequence[Any], options: Options) -> None:
    """Fill each contender's ``times``: interleaved rounds until the spread is small or
    the budget is spent; a contender slower than ``single_above`` keeps its probe."""
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
    started = perf_counter()
    rounds = 0
    while not _settled(timed, rounds, started, options):
        shift = rounds % len(timed)  # each round starts with another variant
        for c in timed[shift:] + timed[:shift]:
            _sample(c, args)
        rounds += 1


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
    ratio = spread.ratio(plain.times, c.times)
    row = dataclasses.replace(base, time=statistics.median(c.times), runs=len(c.times),
                              speedup=ratio.value, speedup_low=ratio.low,
                              speedup_high=ratio.high, samples=tuple(c.times),
                              loops=c.number)
    if c is plain:
        return row
    same = same_result(c.first, plain.first) and (
        c.last is None or same_result(c.last, plain.first))
    exact = same and identical(c.first, plain.first) and (
        c.last is None or identical(c.last, plain.first))
    stats = c.fn.stats()
    realized = _realized(stats)
    return dataclasses.replace(row, realized=realized, compile_time=stats.compile_time,
                               same=same, identical=exact, note=_below_note(stats, realized),
                               settled=c.settled)


def _with_first_calls(rows: list[Row], workload: Workload, size: int,
                      options: Options) -> list[Row]:
    """Each row with its first calls timed in a fresh process (plain included)."""
    out = []
    for row in rows:
        if row.error:
            out.append(row)
            continue
        times, error = first_calls.measure(workload.name, size, row.requested,
                                           options.first_calls, options.first_budget,
                                           options.strict)
        out.append(dataclasses.replace(row, first_calls=times, first_error=error))
    return out


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
    allocator.steady()
    args = workload.build(size)
    plain = _Contender(PLAIN, workload.func)
    plain.probe, plain.first = _timed(workload.func, args)
    if plain.probe < options.single_above:  # the first call ever pays cold memory
        plain.probe, _ = _timed(workload.func, args)
    contenders = [plain]
    for level in levels:
        fn = variant(workload.func, level, options.strict)
        contenders.append(_warm_up(_requested(level), fn, args, options))
    _time_rounds(contenders, args, options)
    label = workload.label(size)
    rows = [_row(Row(workload.name, size, label, c.requested), c, plain)
            for c in contenders]
    if options.first_calls > 0:
        rows = _with_first_calls(rows, workload, size, options)
    return rows


def failures(rows: Iterable[Row]) -> list[Row]:
    """The rows whose result differs from plain Python, or that raised."""
    return [row for row in rows if row.failed]
