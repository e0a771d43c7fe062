"""``optlevel check --fix``: replace a loop by the NumPy code level 1 runs for it.

Only the loop rules whose suggestion *is* the whole loop (OL101 map, OL103
reduction, OL106 broadcast) and only where level 1 has proven the rewrite
(``Diagnostic.rewrite``) are applied. OL102 is left out: ``np.where`` computes both
branches everywhere (``np.log`` of the elements the ``if`` kept away warns), where
level 1's own rewrite computes each branch on its elements only. The fixed code
assumes what the finding assumes: the indexed names are NumPy arrays. A loop is
replaced when it owns its lines (nothing before it on its first line, nothing after
it, not even a comment, on its last), has no ``else:``, and the module binds the
NumPy name the suggestion uses. Everything else is left for a person: layout advice
(OL2xx) and hoisting (OL104, OL105) change where code lives, not just what a loop
says. Applying the fixes twice changes
nothing the second time.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable

from .rules import Diagnostic

__all__ = ["FIXABLE", "Fix", "plan_fixes", "apply_fixes"]

#: rules whose suggestion replaces the loop it was found on
FIXABLE = frozenset({"OL101", "OL103", "OL106"})


@dataclasses.dataclass(frozen=True)
class Fix:
    """Lines ``first``..``last`` (1-based, inclusive) become ``replacement``."""

    rule: str
    first: int
    last: int
    replacement: tuple[str, ...]


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _loops(tree: ast.AST) -> dict[tuple[int, int], ast.For]:
    return {(n.lineno, n.col_offset): n for n in ast.walk(tree) if isinstance(n, ast.For)}


def plan_fixes(text: str, found: Iterable[Diagnostic]) -> list[Fix]:
    """The fixes for ``found`` (diagnostics of ``text``), outermost loops only."""
    tree = ast.parse(text)
    lines = text.splitlines()
    loops = _loops(tree)
    bound = _module_names(tree)
    fixes: list[Fix] = []
    for d in found:
        loop = loops.get((d.line, d.col))
        if d.rule not in FIXABLE or not d.rewrite or loop is None or loop.orelse:
            continue
        first, last = loop.lineno, loop.end_lineno or loop.lineno
        head, tail = lines[first - 1], lines[last - 1]
        if head[:loop.col_offset].strip() or tail[loop.end_col_offset or 0:].strip():
            continue
        if "np." in d.suggestion and "np" not in bound:
            continue
        indent = head[:loop.col_offset]
        body = tuple(indent + s for s in d.suggestion.splitlines() if s.strip())
        fixes.append(Fix(d.rule, first, last, body))
    return _outermost(fixes)


def _outermost(fixes: list[Fix]) -> list[Fix]:
    out: list[Fix] = []
    for fix in sorted(fixes, key=lambda f: (f.first, -f.last)):
        if out and fix.first <= out[-1].last:
            continue  # inside a loop already replaced
        out.append(fix)
    return out


def apply_fixes(text: str, fixes: list[Fix]) -> str:
    """``text`` with each fix's lines replaced (fixes from :func:`plan_fixes`)."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if text.endswith("\r\n") else "\n"
    for fix in sorted(fixes, key=lambda f: f.first, reverse=True):
        lines[fix.first - 1:fix.last] = [line + newline for line in fix.replacement]
    return "".join(lines)
