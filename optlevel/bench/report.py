"""The results table of ``optlevel demo`` and ``optlevel bench``, from runner rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._table import format_seconds, format_table
from . import runner

__all__ = ["format_results", "speedup"]


_HEADERS = ["workload", "size", "level", "ran at", "compile", "time", "vs plain",
            "same result"]
_RIGHT = (4, 5, 6)  # columns of times and ratios, padded so they line up on the right


def speedup(ratio: float | None) -> str:
    """``257x``, ``30.4x``, ``0.97x``: three significant digits or so."""
    if ratio is None:
        return "-"
    digits = 0 if ratio >= 100 else 1 if ratio >= 10 else 2
    return f"{ratio:.{digits}f}x"


def _same_cell(row: runner.Row) -> str:
    if row.requested == runner.PLAIN:
        return "reference"
    if row.error:
        return "unavailable" if row.unavailable else "ERROR"
    return "yes" if row.same else "NO  <-- differs"


def _cells(row: runner.Row, prev: runner.Row | None) -> list[str]:
    """A row's cells; the workload and size only where they change."""
    new_workload = prev is None or prev.workload != row.workload
    new_size = prev is None or (prev.workload, prev.size) != (row.workload, row.size)
    return [
        row.workload if new_workload else "",
        row.size_label if new_size else "",
        row.requested,
        row.realized if not row.error else "-",
        format_seconds(row.compile_time) if row.compile_time else "-",
        "-" if row.time is None else format_seconds(row.time) + ("*" if row.runs == 1 else " "),
        speedup(row.speedup),
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
             f"{env['usable_cores']} CPU cores, {env['machine']}"]
    if env.get("settings"):
        lines.append(f"configuration: {env['settings']}")
    return lines


def _legend(options: runner.Options) -> list[str]:
    return [f"time: per call, the median of up to {options.repeat} timed runs after a "
            "warm-up call, the variants of a case timed in interleaved rounds after one "
            "untimed round;",
            "  * = a single timed run: calls that slow (plain Python on the big inputs) "
            "are not repeated.",
            "level: the ceiling asked for; ran at: the level the calls ran at (stats()); "
            "compile: the build",
            "  paid by the warm-up call (Numba compile, load from the disk cache, or "
            "reuse in this process), not in time."]


def format_results(command: str, rows: Sequence[runner.Row], options: runner.Options,
                   env: dict[str, Any], elapsed: float) -> str:
    """The table, its legend, why variants ran lower than asked, and a one-line verdict."""
    table = _rjust([_cells(r, rows[i - 1] if i else None) for i, r in enumerate(rows)],
                   _RIGHT)
    lines = [*_header(command, env), "", format_table(_HEADERS, table), "",
             *_legend(options)]
    notes = _notes(rows)
    if notes:
        lines += ["Why some variants ran below the level asked for:", *notes]
    failed = runner.failures(rows)
    verdict = (f"FAILED: {len(failed)} variant(s) differ from plain Python or raised"
               if failed else "every optimized result equals the plain result")
    lines += ["", f"{verdict}; {len(rows)} rows in {elapsed:.1f} s."]
    return "\n".join(lines)
