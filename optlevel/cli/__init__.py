"""The ``optlevel`` command (also ``python -m optlevel``).

One module per subcommand, each with an ``add_parser(sub)`` (``runs`` adds two):

- ``info``: versions, cores, the cache directory, one row per backend and level;
- ``explain module:function`` (or ``path/to/file.py:function``): what the AST
  analysis finds and which levels would apply;
- ``demo``: the WORKLOADS.md workloads, plain Python against optlevel at each
  built level, on this machine; exits non-zero if any result differs;
- ``bench``: the same runner with the workloads, sizes and levels chosen, timed
  until the spread is small, with auto against the best level; ``--json``,
  ``--compare OLD.json``, ``--plot FILE.png``, ``--from FILE.json``;
- ``calibrate``: measure this machine for the planner's cost model.
- ``check PATH...``: level 1's findings in files and folders, like a linter;
- ``precompile TARGET`` and ``record -o MANIFEST script.py``: compile ahead of time.

Tables go to stdout, progress to stderr. Exit status: 0 on success, 1 when a
result differs or a variant fails, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import bench, calibrate, check, explain, info, precompile, runs
from ._common import CLIError, add_verbosity, apply_verbosity
from .explain import load_target
from .info import collect_info, environment, format_info
from .runs import QUICK, built_levels

__all__ = ["main", "build_parser", "collect_info", "format_info", "environment",
           "load_target", "CLIError", "QUICK", "built_levels"]





def build_parser() -> argparse.ArgumentParser:
    """The ``optlevel`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="optlevel", description="Make hot numerical Python functions fast without "
        "rewriting them. Each subcommand has its own --help.")
    parser.add_argument("--version", action="version", version=f"optlevel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info.add_parser(sub)
    explain.add_parser(sub)
    runs.add_parsers(sub)
    bench.add_parser(sub)
    calibrate.add_parser(sub)
    check.add_parser(sub)
    precompile.add_parsers(sub)
    add_verbosity(parser, top=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``optlevel`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    apply_verbosity(args)
    try:
        return int(args.handler(args))
    except CLIError as exc:
        print(f"optlevel {args.command}: error: {exc}", file=sys.stderr)
        return 2
