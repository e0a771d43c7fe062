"""Level 1's analyses: loops with a vectorized equivalent, memory layout, and the
rewrite that runs the vectorized form.

Small visitors, one question each:

- :mod:`.loops` — OL101/102/103/106: is a loop (nest) an elementwise kernel
  (:mod:`.nest`, :mod:`.exprs`), and its vectorized code (:mod:`.suggest`);
- :mod:`.hoist` — OL104/105: work repeated on every iteration;
- :mod:`.layout` — OL201/202/203: walks against the memory order;
- :mod:`.codegen`, :mod:`.rewrite`, :mod:`.runtime` — the rewrite level 1 runs;
- :mod:`.rules` — the registry of rule ids; :mod:`.names` — what means NumPy.

:func:`analyze_function` is what ``@optimize`` computes once per function;
:func:`analyze_source` is what ``optlevel check`` runs on a file, without importing it.
"""

from __future__ import annotations

import ast
import dataclasses
import logging
from typing import Any

from ...analysis.scope import Namespace, Scope
from .hoist import InvariantWork, ScalarCalls
from .layout import LayoutWalks, Walk
from .loops import LoopRules
from .names import ImportNames, Names, RuntimeNames
from .rules import RULES, Diagnostic, Rule, selected

__all__ = ["Analysis", "analyze_function", "analyze_runtime", "analyze_source", "RULES", "Rule",
           "Diagnostic", "Walk", "selected", "RuntimeNames", "ImportNames"]

log = logging.getLogger("optlevel")


@dataclasses.dataclass(frozen=True)
class Analysis:
    """The findings of one function: ``diagnostics`` (loop rules, and the layout rules
    for C-ordered arrays, NumPy's default) and the ``walks`` a call's real layouts are
    judged against (:func:`.layout.layout_findings`)."""

    diagnostics: tuple[Diagnostic, ...] = ()
    walks: tuple[Walk, ...] = ()
    #: loop line → why it is not vectorizable (loops that are not kernels)
    rejected: tuple[tuple[int, str], ...] = ()
    #: how names were resolved (the rewrite resolves them again the same way)
    names: Any = dataclasses.field(default=None, compare=False, repr=False)
    #: set when the analysis itself failed (a bug in optlevel): no findings then
    error: str = ""

    @property
    def loop_diagnostics(self) -> tuple[Diagnostic, ...]:
        """The findings that do not depend on the arguments (OL1xx)."""
        return tuple(d for d in self.diagnostics if d.rule.startswith("OL1"))

    def to_dict(self) -> dict[str, object]:
        return {"diagnostics": [d.to_dict() for d in self.diagnostics],
                "walks": [dataclasses.asdict(w) for w in self.walks],
                "not_vectorized": [{"line": line, "why": why} for line, why in self.rejected]}


def analyze_function(tree: ast.FunctionDef | ast.AsyncFunctionDef, names: Names) -> Analysis:
    """Run every rule over one function (not the functions nested in it)."""
    loops = LoopRules(names)
    kernels = loops.run(tree)
    covered = {id(node) for found in kernels for node in ast.walk(found.kernel.loop)
               if isinstance(node, ast.For)}
    rewritable = [found.kernel.loop for found in kernels if found.diagnostic.rewrite]
    inside = {id(node) for loop in rewritable for node in ast.walk(loop)}
    hoisted = [dataclasses.replace(d, rewrite=True) if _at(d, inside, tree) else
               dataclasses.replace(d, why_not="level 1 hoists it only in loops it vectorizes")
               for d in InvariantWork(names).run(tree)]
    scalar = ScalarCalls(names).run(tree, skip=covered)
    walks = LayoutWalks(names).run(tree)
    static = [w.static_diagnostic() for w in walks if w.needs != "C"]
    found = [k.diagnostic for k in kernels] + hoisted + scalar + static
    found.sort(key=lambda d: (d.line, d.col, d.rule))
    return Analysis(tuple(found), tuple(walks), tuple(sorted(loops.rejected.items())), names)


def analyze_runtime(tree: ast.FunctionDef | ast.AsyncFunctionDef, namespace: Namespace,
                    scope: Scope) -> Analysis:
    """:func:`analyze_function` for a live function (``@optimize``); never raises, so
    that decorating works even if an analysis has a bug: the findings are then empty
    and ``error`` says why."""
    try:
        return analyze_function(tree, RuntimeNames(namespace, scope))
    except Exception as exc:  # an analysis bug must not break the user's decoration
        log.debug("level-1 analysis of %s failed: %r", getattr(tree, "name", "?"), exc)
        return Analysis(error=f"{type(exc).__name__}: {exc}")


def _at(diagnostic: Diagnostic, inside: set[int], tree: ast.AST) -> bool:
    """Is the call that ``diagnostic`` reports inside one of the ``inside`` nodes?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno == diagnostic.line and \
                node.col_offset == diagnostic.col:
            return id(node) in inside
    return False


def analyze_source(text: str, filename: str = "<string>") -> list[Diagnostic]:
    """Every finding in a module's source, resolving NumPy from its imports.

    Raises
    ------
    SyntaxError
        When ``text`` is not valid Python.
    """
    module = ast.parse(text, filename=filename)
    imports = ImportNames(module)
    out: list[Diagnostic] = []
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = tuple(a.arg for a in node.args.posonlyargs + node.args.args
                           + node.args.kwonlyargs)
            names = imports.for_function(node, Scope(node, params))
            out += analyze_function(node, names).diagnostics
    out.sort(key=lambda d: (d.line, d.col, d.rule))
    return out


def function_findings(ctx: Any) -> dict[str, Any]:
    """Level 1's part of :func:`optlevel.analysis.analyze`: loops with a vectorized
    form and layout walks."""
    if ctx.tree is None:
        return {"vectorize": Analysis()}
    return {"vectorize": analyze_runtime(ctx.tree, ctx.namespace, ctx.scope)}
