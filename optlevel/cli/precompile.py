"""``optlevel precompile`` and ``optlevel record``: start production processes warm.

- ``optlevel precompile module:function --signature "float64[:], float64"`` (the
  option repeats; ``--size`` sets the arrays' element count the planner sees);
- ``optlevel precompile MANIFEST.json`` replays a manifest;
- ``optlevel record -o MANIFEST.json script.py [ARGS...]`` runs a script as
  ``python script.py ARGS...`` would and writes the signatures its decorated
  functions met (``optlevel.write_manifest`` does the same from inside a program).

One row per target, signature and backend: built in how long, or declined and why.
Exit status 0 when every target loaded (a backend that declines is not an error),
2 when a target, a signature or the manifest cannot be read.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path
from typing import Any

from .._table import Table, format_seconds, show
from ..api import Optimized
from ..precompile import example_args, precompile, read_manifest, write_manifest
from ._common import CLIError, add_output_format, add_verbosity, output_format, quiet
from .explain import load_target

__all__ = ["add_parsers", "cmd_precompile", "cmd_record"]


def _jobs(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    target = args.target
    if target.endswith(".json") or (Path(target).is_file() and ":" not in target):
        if args.signature:
            raise CLIError("--signature goes with module:function, not with a manifest")
        try:
            return read_manifest(target)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CLIError(f"cannot read the manifest {target}: {exc}") from None
    if not args.signature:
        raise CLIError("give --signature (e.g. --signature 'float64[:], float64') or a "
                       "manifest written by optlevel record")
    return [(target, list(args.signature))]


def cmd_precompile(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for target, signatures in _jobs(args):
        func = load_target(target)
        if not isinstance(func, Optimized):
            raise CLIError(f"{target} is not decorated with @optimize")
        for text in signatures:
            try:
                examples = example_args(text, args.size)
            except ValueError as exc:
                raise CLIError(f"{target}: {exc}") from None
            if not quiet(args):
                print(f"precompiling {target} ({text}) ...", file=sys.stderr, flush=True)
            built = precompile(func, *examples)
            rows += [{"target": target, "signature": text, **c.to_dict()} for c in built]
            if not built:
                rows.append({"target": target, "signature": text, "backend": "-",
                             "level": 0, "seconds": 0.0,
                             "declined": "nothing to compile: the planner would run "
                                         "these arguments without a compiler"})
    if output_format(args) == "json":
        print(json.dumps(rows, indent=2))
    else:
        show([Table(("target", "signature", "backend", "built in", "declined"), tuple(
            (r["target"], r["signature"], r["backend"],
             format_seconds(r["seconds"]) if not r["declined"] else "-",
             r["declined"] or "-") for r in rows))])
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    script = Path(args.script)
    if not script.is_file():
        raise CLIError(f"no such script: {args.script}")
    argv, sys.argv = sys.argv, [str(script), *args.args]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(f"optlevel record: {script} exited with {exc.code}", file=sys.stderr)
    finally:
        sys.argv = argv
        data = write_manifest(args.output)
    if not quiet(args):
        count = sum(len(f["signatures"]) for f in data["functions"])
        print(f"optlevel record: {count} signature(s) of {len(data['functions'])} "
              f"function(s) written to {args.output}", file=sys.stderr)
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("precompile", help="compile decorated functions ahead of time "
                       "(module:function with --signature, or a manifest)")
    p.add_argument("target", metavar="TARGET",
                   help="module:function, path/to/file.py:function, or MANIFEST.json")
    p.add_argument("--signature", action="append", default=[], metavar="TYPES",
                   help="argument types, e.g. 'float64[:], float64' (repeat for more)")
    p.add_argument("--size", type=int, default=1_000_000, metavar="N",
                   help="elements per example array (default 1000000): the planner "
                   "picks backends by size")
    add_output_format(p)
    add_verbosity(p)
    p.set_defaults(handler=cmd_precompile)

    r = sub.add_parser("record", help="run a script and write the signatures its "
                       "decorated functions met to a manifest for optlevel precompile")
    r.add_argument("-o", "--output", required=True, metavar="MANIFEST",
                   help="the manifest to write (JSON)")
    r.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    r.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    add_verbosity(r)
    r.set_defaults(handler=cmd_record)
