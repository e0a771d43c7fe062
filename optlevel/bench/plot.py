"""``optlevel bench --plot FILE.png``: time and speed-up against size, per level.

One row of two charts per workload: the time of a call against the size (log-log)
for plain and every variant, and the speed-up against plain with its 95 %
interval, where a dotted line marks the *crossover* of each variant: the size
from which it is faster than plain beyond the noise at every larger size
measured (where the interval's lower end crosses 1.0, interpolated in log-log
between the two sizes around it).

Needs matplotlib (``pip install 'optlevel[plot]'``); it draws on a
``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot, so it
leaves the caller's backend and figures alone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .runner import PLAIN, Row

__all__ = ["Point", "PlotData", "series", "crossover", "plot", "variant_label"]


@dataclasses.dataclass(frozen=True)
class Point:
    size: int
    time: float
    speedup: float
    low: float
    high: float


@dataclasses.dataclass
class PlotData:
    """What was drawn: ``series[workload][variant]`` points by size, and each
    variant's crossover size (None: never pays in the sizes measured)."""

    series: dict[str, dict[str, list[Point]]]
    crossovers: dict[str, dict[str, float | None]]
    figure: Any = None  # the matplotlib Figure
    path: Path | None = None


def variant_label(requested: str) -> str:
    return requested if requested in (PLAIN, "auto") else f"level {requested}"


def series(rows: Iterable[Row]) -> dict[str, dict[str, list[Point]]]:
    """Per workload and variant, its timed points in increasing size."""
    out: dict[str, dict[str, list[Point]]] = {}
    for row in rows:
        if row.error or row.time is None or row.speedup is None:
            continue
        low = row.speedup_low if row.speedup_low is not None else row.speedup
        high = row.speedup_high if row.speedup_high is not None else row.speedup
        out.setdefault(row.workload, {}).setdefault(variant_label(row.requested), []).append(
            Point(row.size, row.time, row.speedup, low, high))
    for variants in out.values():
        for points in variants.values():
            points.sort(key=lambda p: p.size)
    return out


def crossover(points: Sequence[Point]) -> float | None:
    """The size from which ``points`` pay (speed-up interval above 1.0) up to the
    largest size measured; interpolated between the sizes around it."""
    first = None
    for i in range(len(points) - 1, -1, -1):
        if points[i].low > 1.0:
            first = i
        else:
            break
    if first is None:
        return None
    if first == 0:
        return float(points[0].size)
    a, b = points[first - 1], points[first]
    # where the interval's lower end crosses 1.0 (a's is at or below it, b's above)
    la, lb = math.log(max(a.low, 1e-12)), math.log(b.low)
    t = -la / (lb - la)
    return math.exp(math.log(a.size) + t * (math.log(b.size) - math.log(a.size)))


_COLORS = {"plain": "black", "level 0": "#7f7f7f", "level 1": "#1f77b4",
           "level 2": "#2ca02c", "level 3": "#ff7f0e", "level 4": "#d62728",
           "auto": "#9467bd"}


def _draw(axes_time: Any, axes_speed: Any, workload: str,
          variants: dict[str, list[Point]], crossings: dict[str, float | None]) -> None:
    for name, points in variants.items():
        color = _COLORS.get(name)
        sizes = [p.size for p in points]
        style = dict(marker="o", color=color, label=name,
                     linestyle="--" if name == "auto" else "-")
        axes_time.plot(sizes, [p.time for p in points], **style)
        if name == PLAIN:
            continue
        errors = [[p.speedup - p.low for p in points], [p.high - p.speedup for p in points]]
        axes_speed.errorbar(sizes, [p.speedup for p in points], yerr=errors, capsize=3,
                            **style)
        where = crossings.get(name)
        if where is not None and len(points) > 1:
            axes_speed.axvline(where, color=color, linestyle=":", linewidth=1)
    axes_speed.axhline(1.0, color="black", linewidth=0.8)
    for axes, ylabel in ((axes_time, "seconds per call"), (axes_speed, "speed-up vs plain")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("size")
        axes.set_ylabel(ylabel)
        axes.grid(True, which="both", alpha=0.3)
    axes_time.set_title(f"{workload}: time per call")
    axes_speed.set_title(f"{workload}: speed-up (dotted: crossover)")
    axes_time.legend(fontsize="small")


def plot(rows: Iterable[Row], path: str | Path | None = None, title: str = "") -> PlotData:
    """Draw the charts; write them to ``path`` (PNG, SVG, PDF by its suffix) if given.

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = series(rows)
    crossings = {w: {name: crossover(points) for name, points in variants.items()
                     if name != PLAIN} for w, variants in data.items()}
    figure = Figure(figsize=(12, 4 * max(1, len(data))), layout="constrained")
    FigureCanvasAgg(figure)
    for i, (workload, variants) in enumerate(data.items()):
        axes_time = figure.add_subplot(len(data), 2, 2 * i + 1)
        axes_speed = figure.add_subplot(len(data), 2, 2 * i + 2)
        _draw(axes_time, axes_speed, workload, variants, crossings[workload])
    if title:
        figure.suptitle(title)
    out = PlotData(data, crossings, figure)
    if path is not None:
        out.path = Path(path)
        figure.savefig(out.path, dpi=100)
    return out
