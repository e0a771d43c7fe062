"""``optlevel bench --compare OLD.json``: this run against an earlier one.

Rows are matched by workload, size and variant. Each change is the old median
over the new one (2.0x: twice as fast now), with an interval from both sides'
own intervals of the median (the runs were not interleaved, so they cannot be
paired); where it holds 1.0, or the change is below 2 %, it is inside the noise.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Sequence

from .._table import format_seconds, format_table
from . import spread, summary
from .report import ratio_cell
from .runner import Row

__all__ = ["Change", "compare", "format_compare"]


@dataclasses.dataclass(frozen=True)
class Change:
    """One variant of one case in both runs."""

    workload: str
    size_label: str
    requested: str
    old: Row
    new: Row
    ratio: spread.Ratio  # old time / new time: above 1 is faster now

    @property
    def verdict(self) -> str:
        if self.ratio.noise:
            return "same"
        return "faster" if self.ratio.value > 1.0 else "slower"


def compare(old: Iterable[Row], new: Iterable[Row]) -> list[Change]:
    """The changes of the variants timed in both runs, in the new run's order."""
    before = {(r.workload, r.size, r.requested): r for r in old if r.samples}
    out = []
    for row in new:
        prev = before.get((row.workload, row.size, row.requested))
        if prev is None or not row.samples:
            continue
        # Not paired: the rounds of two runs have nothing to do with each other.
        ratio = _unpaired(prev.samples, row.samples)
        out.append(Change(row.workload, row.size_label, row.requested, prev, row, ratio))
    return out


def _unpaired(old: Sequence[float], new: Sequence[float]) -> spread.Ratio:
    o_lo, o_hi = spread.median_interval(old)
    n_lo, n_hi = spread.median_interval(new)
    return spread.Ratio(statistics.median(old) / statistics.median(new), o_lo / n_hi,
                        o_hi / n_lo)


def format_compare(changes: Sequence[Change], old_name: str = "old") -> str:
    """A table of the changes and a one-line summary."""
    table = []
    for c in changes:
        ran = c.new.realized if c.old.realized == c.new.realized else (
            f"{c.old.realized} -> {c.new.realized}")
        table.append([c.workload, c.size_label, c.requested, ran,
                      format_seconds(c.old.time), format_seconds(c.new.time),
                      ratio_cell(*c.ratio, runs=min(c.old.runs, c.new.runs) or 2),
                      c.verdict])
    counts = {v: sum(c.verdict == v for c in changes) for v in ("faster", "slower", "same")}
    mean = summary.geometric_mean(c.ratio.value for c in changes)
    lines = [format_table(["workload", "size", "level", "ran at", old_name, "now",
                           "change", "verdict"], table,
                          title=f"Against {old_name} (change: old time / new time, 95% "
                          "interval; ≈ = inside the noise):"),
             f"{len(changes)} variants in both runs: {counts['faster']} faster, "
             f"{counts['slower']} slower, {counts['same']} the same within the noise"
             + (f"; geometric mean of the changes {mean:.2f}x." if mean else ".")]
    return "\n".join(lines)
