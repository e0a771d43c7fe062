"""``optlevel demo``, and what it shares with ``optlevel bench`` (``cli/bench.py``):
the WORKLOADS.md workloads, plain Python against optlevel at each built level, on
this machine; exit 1 if any result differs or a variant fails."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._table import format_seconds
from ..bench import results, runner, workloads
from ..bench.report import format_results, speedup
from ..config import settings
from ..core.registry import BACKENDS
from ..errors import ConfigError, OptlevelWarning
from ..ladder import MAX_LEVEL, Level
from ._common import CLIError, add_output_format, add_verbosity, output_format, quiet
from ._progress import Progress
from .info import environment

#: Small sizes and short timings for ``--quick`` (tests and smoke runs).
QUICK = runner.Options(repeat=3, min_rounds=3, budget=0.2, single_above=0.5, min_sample=0.001,
                       first_calls=0)


#: The demo's timing: every variant's steady state, 2 s of rounds a case, no first calls.
DEMO = runner.Options(budget=2.0, first_calls=0)


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
    """Timing options from the common flags; bench adds its own on top."""
    base = QUICK if args.quick else DEMO
    return dataclasses.replace(base, repeat=args.repeat or base.repeat,
                               min_rounds=min(base.min_rounds, args.repeat or base.repeat),
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


def _gpu_name() -> str:
    """The GPU's name from ``nvidia-smi`` (no GPU library imported); "" without one."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ""
    try:
        out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return ", ".join(line.strip() for line in out.stdout.splitlines() if line.strip())


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
                  f"{_result_words(row)}")
    return f"    {what}: {status}"


def run_cases(command: str, cases: list[tuple[workloads.Workload, int]], levels: list[Any],
              options: runner.Options, quiet: bool = False) -> results.Results:
    """Run every case with progress on stderr (none when ``quiet``); the results."""
    started = time.perf_counter()
    env = {**environment(), "settings": _settings_note(), "gpu": _gpu_name()}
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
    return results.Results(command, tuple(rows), env, results.options_dict(options),
                           tuple(str(lv) for lv in levels), time.perf_counter() - started)


def emit(res: results.Results, output_format: str, json_path: str | None) -> int:
    """Print the tables (or JSON on stdout), write ``json_path``; the exit status."""
    if json_path == "-":
        output_format, json_path = "json", None
    data = results.to_json(res)
    if output_format == "json":
        print(json.dumps(data, indent=2))
    else:
        options = runner.Options(**res.options) if res.options else None
        print(format_results(res.command, res.rows, options, res.environment, res.seconds))
    if json_path:
        _write_json(json_path, data)
    failed = runner.failures(res.rows)
    if failed:
        _shout(res.command, failed)
        return 1
    return 0


def _write_json(path: str, data: dict[str, Any]) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
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
    res = run_cases("demo", _cases(names, None, args.quick), built_levels(), _options(args),
                    quiet(args))
    return emit(res, output_format(args), args.json)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="small sizes and short timings (for tests and smoke runs)")
    p.add_argument("--repeat", type=_positive, metavar="N",
                   help="at most N timed rounds per case; the rounds stop earlier once "
                   "every median is known within the target (default 30, or 3 with --quick)")
    p.add_argument("--json", metavar="PATH",
                   help="also write the results as JSON to PATH ('-': JSON on stdout only)")
    add_output_format(p, aliases=())  # json: the results file on stdout, as --json -
    add_verbosity(p)


def add_parsers(sub: Any) -> None:
    names = ", ".join(workloads.WORKLOADS)
    p = sub.add_parser("demo", help="the reference workloads: plain Python against each "
                       "level, on this machine")
    _add_run_options(p)
    p.add_argument("--only", type=_comma_list(_workload_name), metavar="NAME[,NAME]",
                   help=f"run only these workloads: {names}")
    p.set_defaults(handler=cmd_demo)


def _result_words(row: runner.Row) -> str:
    if not row.same:
        return "RESULT DIFFERS"
    return "same result within a relative 1e-9, not bit for bit" if row.inexact \
        else "same result"
