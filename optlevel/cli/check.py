"""``optlevel check PATH...``: level 1's analysis as a linter, for CI and editors.

Files and folders (``*.py``, recursively; hidden folders and virtual environments
skipped) are parsed, never imported: ``np``/``numpy`` names are resolved from each
module's own imports. One line per finding::

    path/to/file.py:12:5: OL103 the loop accumulates s ... → s += np.sum(x ** 2)

- ``--output-format text|json|github|sarif`` (``--format`` is its old spelling);
- ``--select`` / ``--ignore`` take rule ids or prefixes (``OL1`` is every loop rule),
  and so do ``select``, ``ignore`` and ``per-file-ignores`` in
  ``[tool.optlevel.check]`` of ``pyproject.toml`` (the command line wins);
- ``# noqa: OL103`` on a finding's line silences that rule there (``# noqa`` alone:
  every rule; text after the codes is the reason, for the reader);
- ``--fix`` rewrites the loops level 1 has proven it can run as NumPy code
  (:mod:`optlevel.levels.vectorize.fix`); ``--diff`` prints the change instead.

Exit status: 0 when nothing is found (with ``--fix``: nothing is left), 1 when
something is, 2 on a usage error or a file that cannot be read.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
import tokenize
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

from ..levels.vectorize.analysis import RULES, Diagnostic, analyze_source, selected
from ..levels.vectorize.fix import apply_fixes, plan_fixes
from ..settings_file import ProjectFile, read_project_file
from ._common import CLIError, add_output_format, add_verbosity, output_format, quiet
from .check_output import FORMATS, render

__all__ = ["add_parser", "cmd_check", "iter_files", "check_paths", "noqa_lines",
           "check_text"]

_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist",
                        "venv", "env"})
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+\d+(?:[\s,]+[A-Za-z]+\d+)*))?",
                   re.IGNORECASE)
ALL = "*"


def _rule_list(items: Any, option: str) -> tuple[str, ...]:
    if isinstance(items, str):
        items = items.split(",")
    out = tuple(str(t).strip().upper() for t in items if str(t).strip())
    for item in out:
        if not any(rule.startswith(item) for rule in RULES):
            raise CLIError(f"{option}: no rule id starts with {item!r}; the rules are "
                           f"{', '.join(RULES)}")
    return out


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


def noqa_lines(text: str) -> dict[int, frozenset[str]]:
    """Line → the rule ids its ``# noqa`` comment silences (``{"*"}`` for all)."""
    out: dict[int, frozenset[str]] = {}
    try:
        for tok in tokenize.generate_tokens(StringIO(text).readline):
            if tok.type != tokenize.COMMENT:
                continue
            match = _NOQA.search(tok.string)
            if match:
                codes = match.group("codes")
                out[tok.start[0]] = frozenset(
                    c.upper() for c in re.split(r"[\s,]+", codes) if c) if codes else \
                    frozenset({ALL})
    except (tokenize.TokenError, SyntaxError):
        pass  # ast.parse reports the error
    return out


def _silenced(d: Diagnostic, noqa: dict[int, frozenset[str]]) -> bool:
    codes = noqa.get(d.line, frozenset())
    return ALL in codes or any(d.rule.startswith(c) for c in codes)


def check_text(text: str, filename: str = "<string>", select: tuple[str, ...] = (),
               ignore: tuple[str, ...] = ()) -> list[Diagnostic]:
    """The findings in one module's source that ``select``/``ignore`` and its
    ``# noqa`` comments leave."""
    noqa = noqa_lines(text)
    found = analyze_source(text, filename)
    if any(selected(r, select, ignore) for r in RULES if r.startswith("OL3")):
        found = sorted(found + _unsplittable_loops(text, filename),
                       key=lambda d: (d.line, d.col, d.rule))
    return [d for d in found if selected(d.rule, select, ignore) and not _silenced(d, noqa)]


def _unsplittable_loops(text: str, filename: str) -> list[Diagnostic]:
    """Level 3's findings (OL3xx): independent loops no iteration proof holds for, as
    written, with the rewrite that makes one hold."""
    from ..levels.parallel.split_iter_advice import loop_advice

    out = []
    for node in ast.walk(ast.parse(text, filename=filename)):
        if isinstance(node, ast.FunctionDef):
            out += [Diagnostic(a.rule, a.line, a.col, a.message, a.suggestion)
                    for a in loop_advice(node)]
    return out


def _read(file: Path) -> str:
    with tokenize.open(file) as handle:  # honours a coding: cookie
        return handle.read()


def check_paths(paths: list[str], select: tuple[str, ...] = (),
                ignore: tuple[str, ...] = (), project: ProjectFile | None = None,
                fix: bool = False, diff: list[str] | None = None
                ) -> tuple[list[tuple[str, Diagnostic]], list[str], int]:
    """(findings as (file, diagnostic), files that could not be read, files checked).

    With ``fix``, files are rewritten first and the findings are those left; with
    ``diff`` (a list), the unified diff of each fix is appended to it instead.
    """
    project = project or ProjectFile()
    findings: list[tuple[str, Diagnostic]] = []
    errors: list[str] = []
    count = 0
    for file in iter_files(paths):
        count += 1
        skip = ignore + project.ignored_for(file)
        try:
            text = _read(file)
            found = check_text(text, str(file), select, skip)
            if fix or diff is not None:
                fixed = _fixed(text, str(file), select, skip)
                if fixed != text and diff is not None:
                    diff += difflib.unified_diff(
                        text.splitlines(keepends=True), fixed.splitlines(keepends=True),
                        f"a/{file.as_posix()}", f"b/{file.as_posix()}")
                elif fixed != text:
                    with open(file, "w", encoding="utf-8", newline="") as handle:
                        handle.write(fixed)
                    found = check_text(fixed, str(file), select, skip)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as exc:
            errors.append(f"{file}: cannot check it: {type(exc).__name__}: {exc}")
            continue
        findings += [(str(file), d) for d in found]
    return findings, errors, count


def _fixed(text: str, filename: str, select: tuple[str, ...],
           ignore: tuple[str, ...]) -> str:
    """``text`` with every safe fix applied, until none is left (a fix may uncover
    another: a loop inside one that was replaced is gone with it)."""
    for _ in range(8):
        fixes = plan_fixes(text, check_text(text, filename, select, ignore))
        if not fixes:
            break
        text = apply_fixes(text, fixes)
    return text


def cmd_check(args: argparse.Namespace) -> int:
    """``optlevel check PATH...``."""
    project = read_project_file()
    table = project.check()
    select = _rule_list(args.select if args.select is not None else
                        table.get("select", ()), "--select")
    ignore = _rule_list(args.ignore if args.ignore is not None else
                        table.get("ignore", ()), "--ignore")
    fmt = output_format(args)
    diff: list[str] | None = [] if args.diff else None
    findings, errors, count = check_paths(args.paths, select, ignore, project,
                                          fix=args.fix, diff=diff)
    if diff is not None:
        sys.stdout.write("".join(diff))
    elif findings or fmt in ("json", "sarif"):
        print(render(findings, fmt))
    for error in errors:
        print(error, file=sys.stderr)
    if not quiet(args):
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
    add_output_format(p, tuple(FORMATS), aliases=("--format",))
    p.add_argument("--select", default=None, metavar="IDS",
                   help="only these rules: ids or prefixes, comma-separated (OL1,OL201); "
                   "default: [tool.optlevel.check] select, else every rule")
    p.add_argument("--ignore", default=None, metavar="IDS",
                   help="not these rules: ids or prefixes, comma-separated; default: "
                   "[tool.optlevel.check] ignore")
    p.add_argument("--fix", action="store_true",
                   help="rewrite the loops level 1 has proven it can replace by NumPy "
                   "code, in place")
    p.add_argument("--diff", action="store_true",
                   help="with or without --fix: print the rewrites as a unified diff, "
                   "change no file")
    add_verbosity(p)
    p.set_defaults(handler=cmd_check)
