"""What every subcommand shares: usage errors, ``--output-format``, ``-q``/``-v``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

__all__ = ["CLIError", "add_output_format", "output_format", "add_verbosity",
           "apply_verbosity", "quiet"]


class CLIError(Exception):
    """A usage problem: printed as one line, exit status 2."""


def add_output_format(p: argparse.ArgumentParser, choices: Sequence[str] = ("text", "json"),
                      aliases: Sequence[str] = ("--json",)) -> None:
    """``--output-format`` (the one spelling across the CLI) and, hidden, the older
    spellings it replaces: ``--json`` (a flag) and ``--format FMT``."""
    p.add_argument("--output-format", choices=tuple(choices), default=None,
                   metavar="{" + ",".join(choices) + "}",
                   help=f"how results are printed (default text): {', '.join(choices)}")
    if "--json" in aliases:
        p.add_argument("--json", dest="legacy_json", action="store_true",
                       help=argparse.SUPPRESS)
    if "--format" in aliases:
        p.add_argument("--format", dest="legacy_format", choices=tuple(choices),
                       default=None, help=argparse.SUPPRESS)


def output_format(args: argparse.Namespace) -> str:
    """The chosen format; an old spelling still works, with a note on stderr."""
    if getattr(args, "legacy_json", False):
        print("optlevel: --json is deprecated; use --output-format json", file=sys.stderr)
        return "json"
    legacy = getattr(args, "legacy_format", None)
    if legacy is not None:
        print(f"optlevel: --format is deprecated; use --output-format {legacy}",
              file=sys.stderr)
        return str(args.output_format or legacy)
    return str(args.output_format or "text")


def add_verbosity(p: argparse.ArgumentParser, top: bool = False) -> None:
    """``-q`` (results only: no progress, no summary) and ``-v`` (optlevel's log on
    stderr; ``-vv`` for DEBUG). On a subcommand they default to the main parser's."""
    default = 0 if top else argparse.SUPPRESS
    p.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity",
                   default=default, help="print results only: no progress or summary")
    p.add_argument("-v", "--verbose", action="count", dest="verbosity", default=default,
                   help="also print optlevel's decisions on stderr (-vv: every detail)")


def apply_verbosity(args: argparse.Namespace) -> None:
    """Send the ``optlevel`` logger to stderr at the level ``-v`` asks for."""
    level = getattr(args, "verbosity", 0) or 0
    if level <= 0:
        return
    logger = logging.getLogger("optlevel")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("optlevel: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if level == 1 else logging.DEBUG)


def quiet(args: argparse.Namespace) -> bool:
    """Whether ``-q`` was given."""
    return (getattr(args, "verbosity", 0) or 0) < 0
