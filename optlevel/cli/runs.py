"""``optlevel demo`` and ``optlevel bench``: the WORKLOADS.md workloads, plain
Python against optlevel at each built level, on this machine; exit 1 if any
result differs or a variant fails."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._table import format_seconds
from ..bench import runner, workloads
from ..bench.report import format_results, speedup
from ..config import settings
from ..core.registry import BACKENDS
from ..errors import ConfigError, OptlevelWarning
from ..ladder import MAX_LEVEL, Level
from ._common import CLIError, add_output_format, add_verbosity, output_format, quiet
from ._progress import Progress
from .info import environment

#: Small sizes and short timings for ``--quick`` (tests and smoke runs).
QUICK = runner.Options(repeat=3, budget=0.2, single_above=0.5, min_sample=0.001)


def built_levels() -> list[Any]:
    """Every level a registered backend serves, then ``"auto"``.

    A level whose library is missing stays in: its rows show where calls fell back to.
    """
    return [*sorted({b.level for b in BACKENDS.values()}), "auto"]


def _cases(names: Sequence[str], sizes: Sequence[int] | None,
           quick: bool) -> list[tuple[workloads.Workload, int]]:
    out = []
    for name in names:
        workload = workloads.get(name)
        for size in sizes or (workload.quick_sizes if quick else workload.sizes):
            out.append((workload, size))
    return out


def _options(args: argparse.Namespace) -> runner.Options:
    base = QUICK if args.quick else runner.Options()
    return dataclasses.replace(base, repeat=args.repeat or base.repeat,
                               strict=getattr(args, "strict", False))


def _settings_note() -> str:
    """What in the configuration changes the demo's levels; empty for the defaults."""
    s = settings()
    notes = []
    if s.cap < MAX_LEVEL:
        notes.append(f"every call is capped at level {s.cap} (OPTLEVEL_MAX_LEVEL / "
                     "OPTLEVEL_DISABLE)")
    if not s.level.is_auto:
        notes.append(f"'auto' means level {s.level.value} here (OPTLEVEL_LEVEL / set_level)")
    if s.compile != "eager":
        notes.append(f"compiles run in the {s.compile} (OPTLEVEL_COMPILE)")
    return "; ".join(notes)


def _progress(row: runner.Row) -> str:
    """One line per measured variant."""
    what = "plain Python" if row.requested == runner.PLAIN else f"level {row.requested}"
    if row.error:
        status = row.error.splitlines()[0][:160]
    elif row.requested == runner.PLAIN:
        status = format_seconds(row.time or 0.0)
    else:
        status = (f"ran at {row.realized}, {format_seconds(row.time or 0.0)} "
                  f"({speedup(row.speedup)} plain), "
                  f"{'same result' if row.same else 'RESULT DIFFERS'}")
    return f"    {what}: {status}"


def _execute(command: str, cases: list[tuple[workloads.Workload, int]], levels: list[Any],
             options: runner.Options, json_path: str | None, quiet: bool = False) -> int:
    """Run, show progress, print the table and write JSON; the exit status."""
    started = time.perf_counter()
    env = {**environment(), "settings": _settings_note()}
    if not quiet:
        print(f"optlevel {command}: {len(cases)} cases, each timed as plain Python and at "
              f"levels {', '.join(map(str, levels))}, on {env['usable_cores']} cores",
              file=sys.stderr)
    rows: list[runner.Row] = []
    with warnings.catch_warnings():
        # The table's "why some variants ran below the level asked" says what the
        # fallback warnings and loop advice would, once, instead of mid-progress.
        warnings.simplefilter("ignore", OptlevelWarning)
        with Progress(len(cases), f"optlevel {command}", quiet=quiet) as bar:
            for workload, size in cases:
                bar.start(f"{workload.name} {workload.label(size)}")
                for row in runner.run_case(workload, size, levels, options):
                    rows.append(row)
                    bar.note(_progress(row))
                bar.done()
    elapsed = time.perf_counter() - started
    failed = runner.failures(rows)
    if json_path != "-":
        print(format_results(command, rows, options, env, elapsed))
    if json_path:
        _write_json(json_path, {"command": command, "environment": env,
                                "options": dataclasses.asdict(options),
                                "levels": [str(lv) for lv in levels],
                                "rows": [r.to_dict() for r in rows],
                                "ok": not failed, "seconds": elapsed})
    if failed:
        _shout(command, failed)
        return 1
    return 0


def _write_json(path: str, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2)
    if path == "-":
        print(text)
        return
    try:
        Path(path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None


def _shout(command: str, failed: list[runner.Row]) -> None:
    lines = [f"optlevel {command}: FAILED: {len(failed)} variant(s) differ from plain "
             "Python or raised:"]
    lines += [f"  {r.workload} {r.size_label} level {r.requested}: "
              f"{r.error or 'result differs from the plain function'}" for r in failed]
    print("\n".join(lines), file=sys.stderr)


# --- demo and bench: commands and arguments ------------------------------------------

def _comma_list(parse: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    """An argparse ``type`` for ``a,b,c``, each item checked by ``parse``."""
    def convert(text: str) -> list[Any]:
        try:
            return [parse(item.strip()) for item in text.split(",") if item.strip()]
        except (KeyError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc).strip("'\"")) from None
    return convert


def _workload_name(text: str) -> str:
    return workloads.get(text).name


def _level_arg(text: str) -> Any:
    try:
        parsed = Level.parse(text)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return "auto" if parsed.is_auto else parsed.value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def cmd_demo(args: argparse.Namespace) -> int:
    """``optlevel demo``: every workload at its demo sizes, every built level."""
    names = args.only or list(workloads.WORKLOADS)
    return _execute("demo", _cases(names, None, args.quick), built_levels(), _options(args),
                    _json_path(args), quiet(args))


def cmd_bench(args: argparse.Namespace) -> int:
    """``optlevel bench``: the workloads, sizes and levels asked for."""
    names = args.workload or list(workloads.WORKLOADS)
    levels = args.levels or built_levels()
    return _execute("bench", _cases(names, args.sizes, args.quick), levels, _options(args),
                    _json_path(args), quiet(args))


def _json_path(args: argparse.Namespace) -> str | None:
    """``--output-format json`` prints the JSON on stdout, like ``--json -``."""
    return "-" if output_format(args) == "json" else args.json


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="small sizes and short timings (for tests and smoke runs)")
    p.add_argument("--repeat", type=_positive, metavar="N",
                   help="timed runs per variant; the median is reported (default 5, or 3 "
                   "with --quick)")
    p.add_argument("--json", metavar="PATH",
                   help="also write the results as JSON to PATH ('-': JSON on stdout only)")
    add_output_format(p, aliases=())  # json: the same as --json -
    add_verbosity(p)


def add_parsers(sub: Any) -> None:
    names = ", ".join(workloads.WORKLOADS)
    p = sub.add_parser("demo", help="the reference workloads: plain Python against each "
                       "level, on this machine")
    _add_run_options(p)
    p.add_argument("--only", type=_comma_list(_workload_name), metavar="NAME[,NAME]",
                   help=f"run only these workloads: {names}")
    p.set_defaults(handler=cmd_demo)
    p = sub.add_parser("bench", help="time chosen workloads, sizes and levels")
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
    p.set_defaults(handler=cmd_bench)
