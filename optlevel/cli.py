"""The ``optlevel`` command (also ``python -m optlevel``).

Subcommands:

- ``info``: versions, cores, the cache directory, each backend and each level,
  usable or why not, and the GPU libraries installed (none is imported);
- ``explain module:function`` (or ``path/to/file.py:function``): what the AST
  analysis finds and which levels would apply;
- ``demo``: the WORKLOADS.md workloads, plain Python against optlevel at each
  built level, on this machine; exits non-zero if any result differs;
- ``bench``: the same runner with the workloads, sizes and levels chosen.

Tables go to stdout, progress to stderr. Exit status: 0 on success, 1 when a
result differs or a variant fails, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import __version__
from ._table import format_seconds, format_table
from .backends import BACKENDS, Backend, requirement_missing
from .bench import runner, workloads
from .bench.report import format_results, speedup
from .config import settings
from .errors import ConfigError
from .explain import explain
from .levels import LEVEL_NAMES, MAX_LEVEL, Level

__all__ = ["main", "build_parser", "collect_info", "load_target"]

_GPU_MODULES = ("cupy", "torch")


class CLIError(Exception):
    """A usage problem: printed as one line, exit status 2."""


# --- info ---------------------------------------------------------------------------

def _installed(module: str) -> str | None:
    """``"numba 0.68.1"`` when ``module`` is installed, else None; never imports it."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return f"{module} {importlib.metadata.version(module)}"
    except importlib.metadata.PackageNotFoundError:
        # The distribution's name differs from the module's (cupy-cuda12x → cupy).
        dists = importlib.metadata.packages_distributions().get(module)
        if not dists:
            return f"{module} (version unknown)"
        return f"{dists[0]} {importlib.metadata.version(dists[0])}"


def environment() -> dict[str, Any]:
    """Versions and cores: what a timing depends on."""
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {"optlevel": __version__, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "numpy": np.__version__,
            "numba": _installed("numba"), "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_cores": cores, "usable_cores": usable}


def _backend_status(backend: Backend) -> dict[str, Any]:
    missing = requirement_missing(backend)
    libs = ", ".join(_installed(m) or m for m in backend.requires) or "built in"
    why = f"{missing} is not installed: {backend.install_hint}" if missing else ""
    return {"name": backend.name, "level": backend.level, "requires": list(backend.requires),
            "usable": missing is None, "detail": why or libs}


def _level_status(level: int, backends: dict[int, dict[str, Any]], cap: int) -> dict[str, Any]:
    found = backends.get(level)
    if found is None:
        usable, detail = False, "not available in this version of optlevel (not built yet)"
    elif level > cap:
        usable, detail = False, (f"{found['name']}: capped by OPTLEVEL_MAX_LEVEL / "
                                 f"OPTLEVEL_DISABLE (highest level allowed: {cap})")
    else:
        usable = found["usable"]
        detail = (f"{found['name']} backend ({found['detail']})" if usable
                  else f"{found['name']} backend: {found['detail']}")
    return {"level": level, "name": LEVEL_NAMES[level], "usable": usable, "detail": detail}


def collect_info() -> dict[str, Any]:
    """Everything ``optlevel info`` reports, JSON-able."""
    s = settings()
    backends = [_backend_status(b) for b in sorted(BACKENDS.values(), key=lambda b: b.level)]
    by_level = {b["level"]: b for b in backends}
    gpu = {m: _installed(m) for m in _GPU_MODULES}
    return {
        **environment(),
        "cache_dir": str(s.cache_dir), "cache_dir_exists": Path(s.cache_dir).is_dir(),
        "settings": {"level": s.level.name, "max_level": s.max_level, "disable": s.disable,
                     "compile": s.compile, "verify": s.verify, "cap": s.cap},
        "backends": backends,
        "levels": [_level_status(n, by_level, s.cap) for n in LEVEL_NAMES],
        "gpu": {"libraries": gpu, "level_4": "not built yet in this version of optlevel; "
                                             "no GPU is probed"},
    }


def _status(entry: dict[str, Any]) -> str:
    return f"usable: {entry['detail']}" if entry["usable"] else entry["detail"]


def format_info(info: dict[str, Any]) -> str:
    """The readable form of :func:`collect_info`."""
    st = info["settings"]
    exists = "" if info["cache_dir_exists"] else " (not created yet)"
    lines = [
        f"optlevel {info['optlevel']}",
        f"  Python {info['python']} ({info['implementation']}), NumPy {info['numpy']}",
        f"  platform: {info['platform']}",
        f"  CPU cores: {info['cpu_cores']} ({info['usable_cores']} usable by this process)",
        f"  cache dir: {info['cache_dir']}{exists}",
        f"  settings: level {st['level']}, max level {st['max_level']}, compile {st['compile']}"
        + (", DISABLED by OPTLEVEL_DISABLE" if st["disable"] else ""),
        "",
        format_table(["backend", "level", "status"],
                     [(b["name"], b["level"], _status(b)) for b in info["backends"]]),
        "",
        format_table(["level", "name", "status"],
                     [(lv["level"], lv["name"], _status(lv)) for lv in info["levels"]]),
        "",
        "GPU: " + "; ".join(f"{found} installed" if found else f"{m} not installed"
                            for m, found in info["gpu"]["libraries"].items()),
        f"  level 4: {info['gpu']['level_4']}",
    ]
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    """``optlevel info``."""
    info = collect_info()
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


# --- explain ------------------------------------------------------------------------

def _import_path(path_text: str) -> Any:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise CLIError(f"no such file: {path_text}")
    name = path.stem if path.stem not in sys.modules else f"_optlevel_target_{path.stem}"
    sys.path.insert(0, str(path.parent))  # so the file's own sibling imports work
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {path_text}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _import_module(name: str) -> Any:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.split(".")[0] == exc.name.split(".")[0]:
            raise CLIError(f"cannot import module {name!r}: {exc}") from None
        raise  # the module exists; one of its own imports failed


def load_target(spec: str) -> Any:
    """The object named by ``module:attr`` or ``path/to/file.py:attr`` (``attr`` dotted).

    Raises
    ------
    CLIError
        When the spec is malformed, the module cannot be found, or has no such attribute.
    """
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise CLIError(f"expected module:function or path/to/file.py:function, got {spec!r}")
    is_path = where.endswith(".py") or "/" in where or os.sep in where
    obj = _import_path(where) if is_path else _import_module(where)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(f"{where} has no attribute {attr!r}") from None
    if not callable(obj):
        raise CLIError(f"{spec} is a {type(obj).__name__}, not a function")
    return obj


def cmd_explain(args: argparse.Namespace) -> int:
    """``optlevel explain TARGET``."""
    report = explain(load_target(args.target))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0


# --- demo and bench: running ----------------------------------------------------------

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


def _progress(row: runner.Row, out: TextIO) -> None:
    """One line on stderr per measured variant."""
    what = "plain Python" if row.requested == runner.PLAIN else f"level {row.requested}"
    if row.error:
        status = row.error.splitlines()[0][:160]
    elif row.requested == runner.PLAIN:
        status = format_seconds(row.time or 0.0)
    else:
        status = (f"ran at {row.realized}, {format_seconds(row.time or 0.0)} "
                  f"({speedup(row.speedup)} plain), "
                  f"{'same result' if row.same else 'RESULT DIFFERS'}")
    print(f"    {what}: {status}", file=out, flush=True)


def _execute(command: str, cases: list[tuple[workloads.Workload, int]], levels: list[Any],
             options: runner.Options, json_path: str | None) -> int:
    """Run, show progress, print the table and write JSON; the exit status."""
    started = time.perf_counter()
    env = {**environment(), "settings": _settings_note()}
    print(f"optlevel {command}: {len(cases)} cases, each timed as plain Python and at "
          f"levels {', '.join(map(str, levels))}, on {env['usable_cores']} cores",
          file=sys.stderr)
    rows: list[runner.Row] = []
    for index, (workload, size) in enumerate(cases, 1):
        print(f"[{index}/{len(cases)}] {workload.name} {workload.label(size)}",
              file=sys.stderr, flush=True)
        for row in runner.run_case(workload, size, levels, options):
            rows.append(row)
            _progress(row, sys.stderr)
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
                    args.json)


def cmd_bench(args: argparse.Namespace) -> int:
    """``optlevel bench``: the workloads, sizes and levels asked for."""
    names = args.workload or list(workloads.WORKLOADS)
    levels = args.levels or built_levels()
    return _execute("bench", _cases(names, args.sizes, args.quick), levels, _options(args),
                    args.json)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true",
                   help="small sizes and short timings (for tests and smoke runs)")
    p.add_argument("--repeat", type=_positive, metavar="N",
                   help="timed runs per variant; the median is reported (default 5, or 3 "
                   "with --quick)")
    p.add_argument("--json", metavar="PATH",
                   help="also write the results as JSON to PATH ('-': JSON on stdout only)")


def build_parser() -> argparse.ArgumentParser:
    """The ``optlevel`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="optlevel", description="Make hot numerical Python functions fast without "
        "rewriting them. Each subcommand has its own --help.")
    parser.add_argument("--version", action="version", version=f"optlevel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="versions, cores, backends and levels on this machine")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_info)
    p = sub.add_parser("explain", help="what optlevel finds in a function, and which "
                       "levels would apply")
    p.add_argument("target", help="module:function or path/to/file.py:function "
                   "(Class.method works too)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_explain)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``optlevel`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except CLIError as exc:
        print(f"optlevel {args.command}: error: {exc}", file=sys.stderr)
        return 2
