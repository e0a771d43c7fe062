"""What a bench run says per case: the best level, and auto against it and plain.

Read from rows alone (a run in progress, or one loaded from JSON), so the tables,
``--compare`` and the charts all agree.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Sequence

from . import spread
from .runner import PLAIN, Row

__all__ = ["Case", "cases", "relative_spread", "first_calls_ratio", "best_of",
           "miss_against_best", "miss_against_plain", "geometric_mean"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One workload and size: its plain row, its level rows, auto, and the best level."""

    workload: str
    size: int
    size_label: str
    plain: Row
    levels: tuple[Row, ...]  # the explicit levels asked for ("0", "2", ...)
    auto: Row | None
    best: Row | None  # the fastest explicit level (ties: the lowest)
    auto_vs_best: spread.Ratio | None  # best time / auto time, with its interval
    first_auto_vs_plain: float | None  # plain's first calls / auto's, same count


def relative_spread(row: Row) -> float:
    """Half the 95 % interval of the row's median over the median (0 for one run)."""
    if len(row.samples) < 2:
        return 0.0
    return spread.relative_width(row.samples)


def first_calls_ratio(plain: Row, row: Row) -> float | None:
    """Plain's first-calls total over ``row``'s, both over the same number of calls."""
    k = min(len(plain.first_calls), len(row.first_calls))
    if not k:
        return None
    return sum(plain.first_calls[:k]) / sum(row.first_calls[:k])


def _timed(row: Row | None) -> bool:
    return row is not None and not row.error and row.time is not None and bool(row.samples)


def best_of(rows: Iterable[Row]) -> Row | None:
    """The fastest timed row by median (the first of equals: the lowest level)."""
    timed = [r for r in rows if _timed(r)]
    return min(timed, key=lambda r: r.time) if timed else None


def _case(group: Sequence[Row]) -> Case:
    plain = next(r for r in group if r.requested == PLAIN)
    levels = tuple(r for r in group if r.requested not in (PLAIN, "auto"))
    auto = next((r for r in group if r.requested == "auto"), None)
    best = best_of(levels)
    auto_vs_best = None
    if best is not None and _timed(auto):
        auto_vs_best = spread.ratio(best.samples, auto.samples)
    first = first_calls_ratio(plain, auto) if auto is not None else None
    return Case(plain.workload, plain.size, plain.size_label, plain, levels, auto, best,
                auto_vs_best, first)


def cases(rows: Iterable[Row]) -> list[Case]:
    """One :class:`Case` per workload and size that has a plain row, in run order."""
    groups: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.workload, row.size), []).append(row)
    return [_case(g) for g in groups.values() if any(r.requested == PLAIN for r in g)]


def miss_against_best(case: Case, threshold: float = 0.9) -> bool:
    """Auto below ``threshold`` of the best level's speed, beyond the noise."""
    r = case.auto_vs_best
    return r is not None and r.value < threshold and not r.noise and r.high < 1.0


def miss_against_plain(case: Case, threshold: float = 0.95) -> bool:
    """Auto below ``threshold`` of plain's speed, beyond the noise."""
    auto = case.auto
    if auto is None or auto.speedup is None or auto.noise is not False:
        return False
    return auto.speedup < threshold


def geometric_mean(values: Iterable[float]) -> float | None:
    """The geometric mean of positive values, or None when there are none."""
    kept = [v for v in values if v and v > 0]
    return statistics.geometric_mean(kept) if kept else None
