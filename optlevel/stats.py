"""Statistics: calls, time, realized level and fallbacks per function and signature."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import TYPE_CHECKING, Any, TextIO

from ._table import Block, Rendered, Table, format_seconds
from .ladder import LEVEL_NAMES

if TYPE_CHECKING:
    from .core.dispatch import Dispatcher

__all__ = ["SignatureStats", "FunctionStats", "StatsReport", "function_stats", "stats",
           "report", "register", "live_dispatchers"]

_registry: weakref.WeakSet[Dispatcher] = weakref.WeakSet()
_registry_lock = threading.Lock()


def register(dispatcher: Dispatcher) -> None:
    with _registry_lock:
        _registry.add(dispatcher)


@dataclasses.dataclass(frozen=True)
class SignatureStats:
    """One plan: an argument signature under one ceiling."""

    signature: str
    ceiling: int
    level: int
    backend: str
    calls: int
    time: float
    compile_time: float
    fallbacks: tuple[tuple[int, str, str], ...]
    note: str = ""
    #: calls that this plan's compiled code handed back to plain Python (level 2's
    #: replays: they ran, exactly, in the level-0 row of the same signature)
    replays: int = 0

    @property
    def mean(self) -> float:
        return self.time / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["fallbacks"] = [{"level": lvl, "backend": b, "reason": r}
                            for lvl, b, r in self.fallbacks]
        out["mean"] = self.mean
        return out


@dataclasses.dataclass(frozen=True)
class FunctionStats(Rendered):
    """Everything recorded for one decorated function (a table: ``str()``, HTML in
    Jupyter, rich on a terminal with ``.print()``)."""

    name: str
    signatures: tuple[SignatureStats, ...]
    #: every plan has settled: none runs plain Python until a compile pays (a warm-up)
    #: or until planning pays (a scout), is in a trial, or waits to race rivals whose
    #: compile has not paid back yet; the calls from here on are the function's steady
    #: state (``optlevel bench`` waits for it, within its budget). A function whose
    #: calls are too short for a compile ever to pay back stays in its warm-up, plain
    #: Python timed, and never reads settled (``def f(x): return x + 1``)
    settled: bool = True

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.signatures)

    @property
    def time(self) -> float:
        return sum(s.time for s in self.signatures)

    @property
    def compile_time(self) -> float:
        return sum(s.compile_time for s in self.signatures)

    @property
    def levels(self) -> dict[int, int]:
        """Realized level → number of calls that ran there."""
        out: dict[int, int] = {}
        for s in self.signatures:
            out[s.level] = out.get(s.level, 0) + s.calls
        return out

    @property
    def fallbacks(self) -> list[tuple[int, str, str]]:
        seen: dict[tuple[int, str, str], None] = {}
        for s in self.signatures:
            seen.update(dict.fromkeys(s.fallbacks))
        return list(seen)

    @property
    def replays(self) -> int:
        return sum(s.replays for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "calls": self.calls, "time": self.time,
                "compile_time": self.compile_time, "replays": self.replays,
                "settled": self.settled,
                "signatures": [s.to_dict() for s in self.signatures]}

    def __str__(self) -> str:  # dataclass would not take the mixin's
        return Rendered.__str__(self)

    def _blocks(self) -> list[Block]:
        replays = any(s.replays for s in self.signatures)  # a column only where any
        rows = [(s.signature, f"{s.level} ({LEVEL_NAMES[s.level]})", s.calls,
                 *((s.replays or "-",) if replays else ()),
                 format_seconds(s.time), format_seconds(s.mean),
                 format_seconds(s.compile_time) if s.compile_time else "-",
                 s.note or "; ".join(f"L{lvl} {b}: {r}" for lvl, b, r in s.fallbacks) or "-")
                for s in self.signatures]
        return [Table(("signature", "level", "calls", *(("replays",) if replays else ()),
                       "total", "mean", "compile", "fallbacks / notes"), tuple(rows),
                      title=f"{self.name}")]


def function_stats(dispatcher: Dispatcher) -> FunctionStats:
    """Merge the function's plans (live and retired) by signature, ceiling and level."""
    merged: dict[tuple[str, int, int], dict[str, Any]] = {}
    for plan in dispatcher.all_plans():
        sig = str(plan.signature)
        entry = merged.setdefault((sig, plan.ceiling, plan.level), {
            "signature": sig, "ceiling": plan.ceiling, "level": plan.level,
            "backend": plan.backend, "calls": 0, "time": 0.0, "compile_time": 0.0,
            "fallbacks": {}, "note": {}, "replays": {}})
        fn = getattr(getattr(plan, "prepared", None), "fn", None)
        counts = getattr(fn, "replay_counts", None)
        if counts is not None:  # level 2's guard (one per prepared callable)
            entry["replays"][id(fn)] = counts()["replays"]
        entry["calls"] += plan.calls
        # the fast path's sampled clock: its mean per call, over the calls that ran
        entry["time"] += (plan.measured or 0.0) * plan.calls
        entry["compile_time"] += plan.compile_time
        entry["fallbacks"].update(dict.fromkeys(plan.fallbacks))
        if plan.note:
            entry["note"][plan.note] = None
    rows = []
    for e in merged.values():
        e["fallbacks"], e["note"] = tuple(e["fallbacks"]), "; ".join(e["note"])
        e["replays"] = sum(e["replays"].values())
        rows.append(SignatureStats(**e))
    return FunctionStats(dispatcher.qualname, tuple(rows), _settled(dispatcher))


def _settled(dispatcher: Dispatcher) -> bool:
    """Every live plan ready and final, and every key whose plan was dropped (to be
    planned again: a warm-up that paid, rivals that are due) planned again."""
    from .core.plan import State

    with dispatcher.table.lock:
        live = dispatcher.plans
        return all(plan.state is State.READY and not plan.deferring
                   if live.get(plan.key) is plan else plan.key in live
                   for plan in dispatcher.table.all_plans())


class StatsReport(dict[str, FunctionStats], Rendered):
    """:func:`stats`: a dict of ``module.qualname`` → :class:`FunctionStats` that also
    renders as tables (``str()``, HTML in Jupyter, rich on a terminal)."""

    def _blocks(self) -> list[Block]:
        if not self:
            return ["optlevel: no decorated function has been called yet."]
        out: list[Block] = []
        for fs in self.values():
            out += [*fs._blocks(), ""]
        return out

    def __str__(self) -> str:
        return Rendered.__str__(self)

    __repr__ = dict.__repr__


def live_dispatchers() -> list[Dispatcher]:
    """The dispatchers of every decorated function still alive."""
    with _registry_lock:
        return list(_registry)


def stats() -> StatsReport:
    """Statistics of every live decorated function that has been called, keyed by
    ``module.qualname`` so same-named functions of different modules stay apart."""
    out = StatsReport()
    for d in live_dispatchers():
        fs = function_stats(d)
        if fs.signatures:
            out[f"{getattr(d.func, '__module__', None) or '?'}.{fs.name}"] = fs
    return out


def report(file: TextIO | None = None) -> None:
    """Print :func:`stats` as tables (to ``sys.stdout`` by default): rich tables on a
    terminal when rich is installed, plain text otherwise. In Jupyter, show
    ``optlevel.stats()`` instead: it renders as HTML."""
    stats().print(file)
