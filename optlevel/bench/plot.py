"""``optlevel bench --plot FILE.png``: time and speed-up against size, per level.

One row of two charts per workload: the time of a call against the size (log-log)
for plain and every variant, and the speed-up against plain with its 95 %
interval, where a shaded band (and the legend) marks the *crossover* of each
variant: between
the last size where it is not faster than plain beyond the noise and the first
from which it is, at that size and every larger one measured.

Needs matplotlib (``pip install 'optlevel[plot]'``); it draws on a
``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot, so it
leaves the caller's backend and figures alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._table import format_seconds
from . import spread
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
    variant's :func:`crossover` (None: it does not pay at the largest size)."""

    series: dict[str, dict[str, list[Point]]]
    crossovers: dict[str, dict[str, tuple[int, int] | None]]
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


def _pays(p: Point) -> bool:
    return p.low > 1.0 and not spread.inside_noise(p.speedup, p.low, p.high)


def crossover(points: Sequence[Point]) -> tuple[int, int] | None:
    """Where ``points`` start to pay (faster than plain beyond the noise, at that size
    and every larger one measured): ``(last size that does not pay, first that
    does)``; ``(s, s)`` when even the smallest size ``s`` pays; None when the
    largest does not."""
    first = None
    for i in range(len(points) - 1, -1, -1):
        if not _pays(points[i]):
            break
        first = i
    if first is None:
        return None
    return (points[max(first - 1, 0)].size, points[first].size)


_COLORS = {"plain": "black", "level 0": "#7f7f7f", "level 1": "#1f77b4",
           "level 2": "#2ca02c", "level 3": "#ff7f0e", "level 4": "#d62728",
           "auto": "#9467bd"}


def _size_text(size: float) -> str:
    """``10K``, ``1M``; ``31.6K`` between round sizes."""
    for suffix, factor in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if size >= factor:
            return f"{size / factor:.3g}{suffix}"
    return f"{size:.3g}"


def _times(value: float) -> str:
    return f"{value:g}x"


def _formatter(text: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: text(value))


def _label(name: str, where: tuple[int, int] | None) -> str:
    if where is None or name == PLAIN:
        return name
    if where[0] == where[1]:
        return f"{name} (pays from {_size_text(where[0])} on)"
    return f"{name} (starts to pay at {_size_text(where[0])}-{_size_text(where[1])})"


def _draw(axes_time: Any, axes_speed: Any, workload: str,
          variants: dict[str, list[Point]],
          crossings: dict[str, tuple[int, int] | None]) -> None:
    from matplotlib.ticker import LogLocator

    for name, points in variants.items():
        color = _COLORS.get(name)
        sizes = [p.size for p in points]
        style = dict(marker="o", color=color, linestyle="--" if name == "auto" else "-")
        axes_time.plot(sizes, [p.time for p in points], label=name, **style)
        if name == PLAIN:
            continue
        where = crossings.get(name)
        errors = [[p.speedup - p.low for p in points], [p.high - p.speedup for p in points]]
        axes_speed.errorbar(sizes, [p.speedup for p in points], yerr=errors, capsize=3,
                            label=_label(name, where), **style)
        if where is not None and where[0] < where[1]:  # a crossover inside the range
            axes_speed.axvspan(*where, color=color, alpha=0.10)
    axes_speed.axhline(1.0, color="black", linewidth=0.8)
    for axes, ylabel, unit in ((axes_time, "time per call", format_seconds),
                               (axes_speed, "speed-up vs plain", _times)):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("size")
        axes.set_ylabel(ylabel)
        axes.grid(True, which="both", alpha=0.3)
        axes.xaxis.set_major_formatter(_formatter(_size_text))
        axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(_formatter(unit))
        axes.yaxis.set_minor_formatter(_formatter(lambda v: ""))
    axes_time.set_title(f"{workload}: time per call")
    axes_speed.set_title(f"{workload}: speed-up vs plain (95% interval)")
    axes_time.legend(fontsize="small")
    axes_speed.legend(fontsize="small")


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
