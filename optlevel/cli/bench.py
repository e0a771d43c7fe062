"""``optlevel bench``: chosen workloads, sizes and levels, timed until the spread is
small; every sample kept (``--json``), compared with an earlier run (``--compare``),
drawn against size (``--plot``), or read back from files (``--from``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from ..bench import compare, results, runner, workloads
from ._common import CLIError, output_format, quiet
from .runs import (
    _add_run_options,
    _cases,
    _comma_list,
    _level_arg,
    _options,
    _workload_name,
    built_levels,
    emit,
    run_cases,
)

__all__ = ["cmd_bench", "add_parser"]


def _load(path: str) -> results.Results:
    try:
        return results.load(path)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CLIError(f"{path}: {exc}") from None


def _bench_options(args: argparse.Namespace) -> Any:
    options = _options(args)
    changes: dict[str, Any] = {}
    if not args.quick:  # bench's own defaults: longer rounds, and the first calls
        defaults = runner.Options()
        changes.update(budget=defaults.budget, first_calls=defaults.first_calls)
    for name in ("budget", "target", "first_calls", "first_budget"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    return dataclasses.replace(options, **changes)


def _run(args: argparse.Namespace) -> results.Results:
    if args.from_files:
        return results.merge([_load(p) for p in args.from_files])
    names = args.workload or list(workloads.WORKLOADS)
    levels = args.levels or built_levels()
    return run_cases("bench", _cases(names, args.sizes, args.quick), levels,
                     _bench_options(args), quiet(args))


def _plot(res: results.Results, path: str, args: argparse.Namespace) -> None:
    try:
        from ..bench import plot
        drawn = plot.plot(res.rows, path, title=_plot_title(res))
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'optlevel[plot]'") from None
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None
    if not quiet(args):
        print(f"optlevel bench: charts of {len(drawn.series)} workload(s) written to {path}",
              file=sys.stderr)


def _plot_title(res: results.Results) -> str:
    env = res.environment
    if not env:
        return ""
    return (f"optlevel {env.get('optlevel', '')} on {env.get('usable_cores', '?')} CPU "
            f"cores, {env.get('machine', '')}, Python {env.get('python', '')}, "
            f"NumPy {env.get('numpy', '')}" + (f", {env['gpu']}" if env.get("gpu") else ""))


def cmd_bench(args: argparse.Namespace) -> int:
    """``optlevel bench``: run (or load), report, compare, plot; the exit status."""
    old = _load(args.compare) if args.compare else None
    res = _run(args)
    fmt = output_format(args)
    status = emit(res, fmt, args.json)
    if old is not None:
        out = sys.stderr if fmt == "json" else sys.stdout
        print("\n" + compare.format_compare(compare.compare(old.rows, res.rows),
                                            old_name=args.compare), file=out)
    if args.plot:
        _plot(res, args.plot, args)
    return status


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    names = ", ".join(workloads.WORKLOADS)
    p = sub.add_parser("bench", help="time chosen workloads, sizes and levels; keep every "
                       "sample, compare runs, draw charts")
    _add_run_options(p)
    p.add_argument("--workload", type=_comma_list(_workload_name), metavar="NAME[,NAME]",
                   help=f"workloads to run (default: all): {names}")
    p.add_argument("--sizes", type=_comma_list(workloads.parse_size), metavar="SIZE[,SIZE]",
                   help="sizes for every chosen workload, e.g. 1M,10M (matrices: the side, "
                   "e.g. 2048); default: each workload's demo sizes")
    p.add_argument("--levels", type=_comma_list(_level_arg), metavar="LEVEL[,LEVEL]",
                   help="levels to request, e.g. 0,2,auto (default: every built level "
                   "and auto); plain Python is always timed as the baseline")
    p.add_argument("--strict", action="store_true",
                   help="run exactly each level (strict=True) instead of it as a ceiling")
    p.add_argument("--budget", type=_seconds, metavar="SECONDS",
                   help="seconds of timed rounds per case (default 5)")
    p.add_argument("--target", type=_fraction, metavar="FRACTION",
                   help="stop the rounds once every median is known within ± this "
                   "fraction, 95%% interval (default 0.03)")
    p.add_argument("--first-calls", type=_count, metavar="N",
                   help="time each variant's first N calls in a fresh process with an "
                   "empty cache, compile included (default 10, 0 with --quick; 0: skip)")
    p.add_argument("--first-budget", type=_seconds, metavar="SECONDS",
                   help="seconds one variant's fresh process may spend in its first "
                   "calls (default 10)")
    p.add_argument("--compare", metavar="OLD.json",
                   help="compare with an earlier run's --json file")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw time and speed-up against size per level (needs "
                   "matplotlib: the 'plot' extra)")
    p.add_argument("--from", dest="from_files", nargs="+", metavar="FILE.json",
                   help="do not run: report (and compare, plot) these --json files, "
                   "merged")
    p.set_defaults(handler=cmd_bench)
