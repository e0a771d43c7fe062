"""The results tables of ``optlevel demo`` and ``optlevel bench``, from runner rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._table import format_seconds, format_table
from . import runner, spread, summary

__all__ = ["format_results", "format_summary", "speedup", "ratio_cell", "time_cell",
           "best_cell"]


_HEADERS = ["workload", "size", "level", "ran at", "compile", "time", "vs plain",
            "first calls", "vs plain", "same result"]
_RIGHT = (4, 5, 6, 7, 8)  # columns of times and ratios, padded so they line up on the right
_SUMMARY_HEADERS = ["workload", "size", "plain", "best level", "best time", "auto ran at",
                    "auto time", "auto/best", "auto vs plain", "first calls: auto vs plain"]


def speedup(ratio: float | None) -> str:
    """``257x``, ``30.4x``, ``0.97x``: three significant digits or so."""
    if ratio is None:
        return "-"
    return _number(ratio) + "x"


def _number(x: float) -> str:
    """Three significant digits or so; two below 0.1 (``0.0044``), never ``0.00``."""
    if x < 0.1:
        return f"{x:.2g}"
    digits = 0 if x >= 100 else 1 if x >= 10 else 2
    return f"{x:.{digits}f}"


def ratio_cell(value: float | None, low: float | None, high: float | None,
               runs: int = 2) -> str:
    """``1.77x (1.70-1.85)``, ``≈1.01x (0.97-1.04)`` inside the noise, ``257x`` alone."""
    if value is None:
        return "-"
    if low is None or high is None or runs < 2 or low == high:
        return speedup(value)
    mark = "≈" if spread.inside_noise(value, low, high) else ""
    return f"{mark}{speedup(value)} ({_number(low)}-{_number(high)})"


def time_cell(row: runner.Row) -> str:
    """``16.5 ms ±0.4%``; ``5.2 s *`` for a single run."""
    if row.time is None:
        return "-"
    if row.runs < 2:
        return format_seconds(row.time) + " *"
    return f"{format_seconds(row.time)} ±{100 * summary.relative_spread(row):.1f}%"


def _same_cell(row: runner.Row) -> str:
    if row.requested == runner.PLAIN:
        return "reference"
    if row.error:
        return "unavailable" if row.unavailable else "ERROR"
    if not row.same:
        return "NO  <-- differs"
    return "≈ (within 1e-9)" if row.inexact else "yes"


def _first_cells(row: runner.Row, plain: runner.Row | None) -> list[str]:
    if not row.first_calls:
        return ["-" if not row.first_error else "failed", "-"]
    total = format_seconds(sum(row.first_calls)) + f" ({len(row.first_calls)})"
    if plain is None or row is plain:
        return [total, "-" if row is not plain else "1.00x"]
    return [total, speedup(summary.first_calls_ratio(plain, row))]


def _cells(row: runner.Row, prev: runner.Row | None, plain: runner.Row | None) -> list[str]:
    """A row's cells; the workload and size only where they change."""
    new_workload = prev is None or prev.workload != row.workload
    new_size = prev is None or (prev.workload, prev.size) != (row.workload, row.size)
    return [
        row.workload if new_workload else "",
        row.size_label if new_size else "",
        row.requested,
        row.realized if not row.error else "-",
        format_seconds(row.compile_time) if row.compile_time else "-",
        time_cell(row),
        "1.00x" if row is plain else ratio_cell(row.speedup, row.speedup_low,
                                                row.speedup_high, row.runs),
        *_first_cells(row, plain),
        _same_cell(row),
    ]


def _rjust(table: list[list[str]], columns: Sequence[int]) -> list[list[str]]:
    for col in columns:
        width = max((len(r[col]) for r in table), default=0)
        for r in table:
            r[col] = r[col].rjust(width)
    return table


def _notes(rows: Sequence[runner.Row]) -> list[str]:
    """Why some variants ran below the level asked for, one line per reason."""
    by_reason: dict[str, dict[str, None]] = {}
    for row in rows:
        if row.note:
            by_reason.setdefault(row.note, {})[row.workload] = None
    return [f"  {', '.join(names)}: {reason}" for reason, names in by_reason.items()]


def _header(command: str, env: dict[str, Any]) -> list[str]:
    lines = [f"optlevel {env['optlevel']} {command}: Python {env['python']}, NumPy "
             f"{env['numpy']}, {env['numba'] or 'numba not installed'}, "
             f"{env['usable_cores']} CPU cores, {env['machine']}"
             + (f", GPU: {env['gpu']}" if env.get("gpu") else "")]
    if env.get("settings"):
        lines.append(f"configuration: {env['settings']}")
    return lines


def _legend(options: runner.Options | None) -> list[str]:
    rounds = (f"at least {options.min_rounds} and at most {options.repeat} rounds, within "
              f"{options.budget:g} s a case, until each median is known within "
              f"±{100 * options.target:g}%" if options else "interleaved rounds")
    return [
        "time: per call, the median of the samples of interleaved rounds (" + rounds + "),",
        "  ± half its 95% interval; * = a single run (calls that slow are not repeated).",
        "vs plain: plain time / this time, the median of the per-round ratios (95% "
        "interval);",
        "  ≈ = inside the noise: the interval holds 1.0, or the ratio is within 2% of it.",
        "first calls: the total of the first calls (count in brackets) in a fresh process "
        "with an empty cache,",
        "  compile included; vs plain against plain's first calls of the same count.",
        "level: the ceiling asked for; ran at: the level the calls ran at (stats()); "
        "compile: the build",
        "  paid by the warm-up call, not in time.",
    ]


def best_cell(best: runner.Row | None) -> str:
    """``3``, or ``4 (ran at 3)`` when the ceiling asked for is not the level that ran."""
    if best is None:
        return "-"
    if best.realized in ("-", best.requested):
        return best.requested
    return f"{best.requested} (ran at {best.realized})"


def _summary_row(case: summary.Case) -> list[str]:
    auto = case.auto
    return [
        case.workload, case.size_label, time_cell(case.plain),
        best_cell(case.best),
        time_cell(case.best) if case.best else "-",
        auto.realized if auto else "-",
        time_cell(auto) if auto else "-",
        ratio_cell(*case.auto_vs_best) if case.auto_vs_best else "-",
        ratio_cell(auto.speedup, auto.speedup_low, auto.speedup_high, auto.runs)
        if auto else "-",
        speedup(case.first_auto_vs_plain),
    ]


def _misses(found: Sequence[summary.Case]) -> list[str]:
    """The verdict lines: where auto is below 0.9x of the best or 0.95x of plain."""
    judged = [c for c in found if c.auto_vs_best is not None]
    if not judged:
        return []
    best = [c for c in judged if summary.miss_against_best(c)]
    plain = [c for c in judged if summary.miss_against_plain(c)]
    mean = summary.geometric_mean(c.auto_vs_best.value for c in judged)

    def names(cases: Sequence[summary.Case]) -> str:
        return ", ".join(f"{c.workload} {c.size_label}" for c in cases) or "none"

    lines = [f"auto/best: geometric mean {speedup(mean)} over {len(judged)} cases; below "
             f"0.9x beyond the noise in {len(best)}: {names(best)}",
             f"auto vs plain: below 0.95x beyond the noise in {len(plain)}: {names(plain)}"]
    unsettled = [c for c in judged if c.auto is not None and c.auto.settled is False]
    if unsettled:
        lines.append(f"auto was still settling when its timing began (a trial or a warm-up "
                     f"is in its samples; a larger --budget times its steady state) in "
                     f"{len(unsettled)}: {names(unsettled)}")
    return lines


def format_summary(rows: Sequence[runner.Row]) -> str:
    """One line per case: plain, the best level, auto, and auto against both."""
    found = summary.cases(rows)
    table = format_table(_SUMMARY_HEADERS,
                         _rjust([_summary_row(c) for c in found], (2, 4, 6, 7, 8, 9)),
                         title="Auto against the best level (auto/best: best time / auto "
                         "time; ≈ = inside the noise):")
    return "\n".join([table, *_misses(found)])


def format_results(command: str, rows: Sequence[runner.Row],
                   options: runner.Options | None, env: dict[str, Any],
                   elapsed: float) -> str:
    """The tables, their legend, why variants ran lower than asked, and a verdict."""
    plains = {(r.workload, r.size): r for r in rows if r.requested == runner.PLAIN}
    table = _rjust([_cells(r, rows[i - 1] if i else None, plains.get((r.workload, r.size)))
                    for i, r in enumerate(rows)], _RIGHT)
    lines = [*_header(command, env), "", format_table(_HEADERS, table), "",
             *_legend(options)]
    if any(r.requested == "auto" for r in rows):
        lines += ["", format_summary(rows)]
    notes = _notes(rows)
    if notes:
        lines += ["", "Why some variants ran below the level asked for:", *notes]
    failed = runner.failures(rows)
    close = [r for r in rows if r.inexact]
    if failed:
        verdict = f"FAILED: {len(failed)} variant(s) differ from plain Python or raised"
    elif close:
        names = ", ".join(sorted({f"{r.workload} {r.size_label} level {r.requested}"
                                  for r in close})[:6])
        verdict = (f"every optimized result equals the plain result, {len(close)} of them "
                   f"within a relative 1e-9 rather than bit for bit ({names})")
    else:
        verdict = "every optimized result equals the plain result bit for bit"
    lines += ["", f"{verdict}; {len(rows)} rows in {elapsed:.1f} s."]
    return "\n".join(lines)
