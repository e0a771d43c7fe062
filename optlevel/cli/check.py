"""``optlevel check PATH...``: level 1's analysis as a linter.

Files and folders (``*.py``, recursively; hidden folders and virtual environments
skipped) are parsed, never imported: ``np``/``numpy`` names are resolved from each
module's own imports. One line per finding::

    path/to/file.py:12:5: OL103 the loop accumulates s ... → s += np.sum(x ** 2)

``--format json`` prints a JSON list instead. ``--select`` and ``--ignore`` take
rule ids or prefixes (``OL1`` is every loop rule). Exit status: 0 when nothing is
found, 1 when something is, 2 on a usage error or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..levels.vectorize.analysis import RULES, Diagnostic, analyze_source, selected
from ._common import CLIError

__all__ = ["add_parser", "cmd_check", "iter_files", "check_paths"]

_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist",
                        "venv", "env"})


def _rule_list(text: str, option: str) -> tuple[str, ...]:
    items = tuple(t.strip().upper() for t in text.split(",") if t.strip())
    for item in items:
        if not any(rule.startswith(item) for rule in RULES):
            raise CLIError(f"{option}: no rule id starts with {item!r}; the rules are "
                           f"{', '.join(RULES)}")
    return items


def iter_files(paths: list[str]) -> Iterator[Path]:
    """The Python files under ``paths``, each once, in a stable order.

    Raises
    ------
    CLIError
        When a path does not exist.
    """
    seen: set[Path] = set()
    for text in paths:
        path = Path(text)
        if not path.exists():
            raise CLIError(f"no such file or folder: {text}")
        found = [path] if path.is_file() else sorted(
            p for p in path.rglob("*.py")
            if not any(part.startswith(".") or part in _SKIP_DIRS
                       for part in p.relative_to(path).parts[:-1]))
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file


def check_paths(paths: list[str], select: tuple[str, ...] = (),
                ignore: tuple[str, ...] = ()) -> tuple[list[tuple[str, Diagnostic]],
                                                       list[str], int]:
    """(findings as (file, diagnostic), files that could not be read, files checked)."""
    findings: list[tuple[str, Diagnostic]] = []
    errors: list[str] = []
    count = 0
    for file in iter_files(paths):
        count += 1
        try:
            with tokenize.open(file) as handle:  # honours a coding: cookie
                text = handle.read()
            found = analyze_source(text, str(file))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as exc:
            errors.append(f"{file}: cannot check it: {type(exc).__name__}: {exc}")
            continue
        findings += [(str(file), d) for d in found if selected(d.rule, select, ignore)]
    return findings, errors, count


def _as_json(file: str, d: Diagnostic) -> dict[str, Any]:
    return {"file": file, "line": d.line, "col": d.col + 1, "rule": d.rule,
            "pattern": d.pattern, "message": d.message, "suggestion": d.suggestion,
            "rewrite": d.rewrite}


def cmd_check(args: argparse.Namespace) -> int:
    """``optlevel check PATH...``."""
    select = _rule_list(args.select, "--select")
    ignore = _rule_list(args.ignore, "--ignore")
    findings, errors, count = check_paths(args.paths, select, ignore)
    if args.format == "json":
        print(json.dumps([_as_json(f, d) for f, d in findings], indent=2))
    else:
        for file, d in findings:
            print(f"{file}:{d.line}:{d.col + 1}: {d.one_line()}")
    for error in errors:
        print(error, file=sys.stderr)
    files = len({f for f, _ in findings})
    print(f"optlevel check: {len(findings)} finding(s) in {files} of {count} file(s)",
          file=sys.stderr)
    if errors:
        return 2
    return 1 if findings else 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="find loops that NumPy could vectorize, and memory-"
                       "layout problems, in files and folders (like a linter; nothing "
                       "is imported)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="Python files or folders")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="one line per finding (default) or a JSON list")
    p.add_argument("--select", default="", metavar="IDS",
                   help="only these rules: ids or prefixes, comma-separated (OL1,OL201)")
    p.add_argument("--ignore", default="", metavar="IDS",
                   help="not these rules: ids or prefixes, comma-separated")
    p.set_defaults(handler=cmd_check)
