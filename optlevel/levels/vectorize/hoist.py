"""Rules OL104 and OL105: work done on every iteration that could be done once.

OL104: a whole-array call (``x.mean()``, ``np.linalg.norm(v)``) whose inputs the
loop never changes gives the same value every time. OL105: a NumPy ufunc called on
one element (``np.sin(x[i])``) pays NumPy's per-call cost for one number.
"""

from __future__ import annotations

import ast
import copy

from ...analysis.scope import NUMPY_CLASSES
from .names import MUTATING_METHODS, REDUCTION_METHODS, Names, is_ufunc
from .rules import Diagnostic

__all__ = ["InvariantWork", "ScalarCalls", "varying_names"]

_ARRAY_WORK = NUMPY_CLASSES["reduction"] | NUMPY_CLASSES["blas"]


def varying_names(loop: ast.For | ast.While, names: Names) -> set[str]:
    """Names whose value or contents the loop may change: anything stored, indexed for
    a store, mutated by a method, or handed to a call that is not NumPy's."""
    out: set[str] = set()
    if isinstance(loop, ast.For):
        out |= {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and \
                isinstance(node.ctx, (ast.Store, ast.Del)):
            root = _root(node)
            if root:
                out.add(root)
        elif isinstance(node, ast.Call):
            out |= _call_mutates(node, names)
    return out


def _call_mutates(node: ast.Call, names: Names) -> set[str]:
    func = node.func
    dotted = names.dotted(func)
    out: set[str] = set()
    if isinstance(func, ast.Attribute) and dotted is None and func.attr in MUTATING_METHODS:
        root = _root(func.value)
        if root:
            out.add(root)
    pure = dotted is not None and (dotted.startswith(("numpy.", "math.", "builtins."))
                                   and not dotted.startswith("numpy.random"))
    method = isinstance(func, ast.Attribute) and dotted is None \
        and func.attr in REDUCTION_METHODS
    if not pure and not method:
        for arg in [*node.args, *(kw.value for kw in node.keywords)]:
            root = _root(arg)
            if root:
                out.add(root)
    for kw in node.keywords:
        if kw.arg == "out":
            root = _root(kw.value)
            if root:
                out.add(root)
    return out


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _LoopWalker(ast.NodeVisitor):
    """Visits the loops of one function (not of the functions nested in it)."""

    def __init__(self, names: Names):
        self.names = names
        self.found: list[Diagnostic] = []
        self.root: ast.AST | None = None
        self.skip: set[int] = set()  # id() of loops a kernel finding already covers

    def run(self, tree: ast.AST, skip: set[int] = frozenset()) -> list[Diagnostic]:  # type: ignore[assignment]
        self.root, self.skip = tree, set(skip)
        self.generic_visit(tree)
        return self.found

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is self.root:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None


class InvariantWork(_LoopWalker):
    """OL104: whole-array calls that give the same value on every iteration."""

    def __init__(self, names: Names):
        super().__init__(names)
        self.reported: set[int] = set()

    def visit_For(self, node: ast.For | ast.While) -> None:
        varying = varying_names(node, self.names)
        for call in _calls(node):
            if id(call) in self.reported or not self._array_work(call):
                continue
            if _loads(call) & varying:
                continue
            self.reported.add(id(call))
            text = ast.unparse(call)
            self.found.append(Diagnostic(
                "OL104", call.lineno, call.col_offset,
                f"{text} is computed on every iteration of the loop at line {node.lineno}, "
                "but the loop never changes its inputs: the same whole-array work n times",
                f"{_hoisted_name(call)} = {text}  # once, before the loop at line "
                f"{node.lineno}; use {_hoisted_name(call)} inside it"))
        self.generic_visit(node)

    visit_While = visit_For  # type: ignore[assignment]

    def _array_work(self, call: ast.Call) -> bool:
        func = call.func
        dotted = self.names.dotted(func)
        if dotted is None and isinstance(func, ast.Attribute):
            return func.attr in REDUCTION_METHODS and isinstance(func.value, ast.Name)
        if not dotted or not dotted.startswith("numpy.") or is_ufunc(dotted):
            return False
        leaf = dotted.rsplit(".", 1)[-1]
        has_array = any(isinstance(a, (ast.Name, ast.Attribute)) for a in call.args)
        return has_array and (leaf in _ARRAY_WORK or dotted.startswith("numpy.linalg."))


def _calls(loop: ast.AST) -> list[ast.Call]:
    """The calls in a loop's body, outside nested function definitions."""
    out: list[ast.Call] = []
    stack = list(ast.iter_child_nodes(loop))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                             ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(out, key=lambda c: (c.lineno, c.col_offset))


def _hoisted_name(call: ast.Call) -> str:
    """``x.mean()`` → ``x_mean``; ``np.std(x)`` → ``x_std``; otherwise ``std_value``."""
    func = call.func
    leaf = func.attr if isinstance(func, ast.Attribute) else ast.unparse(func)
    if call.args and isinstance(call.args[0], ast.Name):
        return f"{call.args[0].id}_{leaf}"
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}_{leaf}"
    return f"{leaf}_value"


class ScalarCalls(_LoopWalker):
    """OL105: NumPy ufuncs called on one element per iteration."""

    def visit_For(self, node: ast.For) -> None:
        if id(node) in self.skip:
            return
        loop_vars = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        varying = varying_names(node, self.names)
        for call in _calls(node):
            dotted = self.names.dotted(call.func)
            if not is_ufunc(dotted) or call.keywords:
                continue
            refs = [r for arg in call.args for r in _element_reads(arg, loop_vars)]
            if not refs:
                continue
            self.found.append(self._diagnostic(call, dotted or "", refs, varying, node,
                                               loop_vars))
        self.generic_visit(node)

    def _diagnostic(self, call: ast.Call, dotted: str, refs: list[ast.Subscript],
                    varying: set[str], loop: ast.For, loop_vars: set[str]) -> Diagnostic:
        func = ast.unparse(call.func)
        leaf = dotted.rsplit(".", 1)[-1]
        bases = {r.value.id for r in refs if isinstance(r.value, ast.Name)}
        simple = not (bases & varying) and all(
            _loads(a) <= (loop_vars | bases) or isinstance(a, ast.Constant)
            for a in call.args)
        if simple:
            whole = copy.deepcopy(call)
            for ref in [n for n in ast.walk(whole) if isinstance(n, ast.Subscript)]:
                _replace_element(whole, ref, loop_vars)
            name = f"{leaf}_{sorted(bases)[0]}"
            element = ast.unparse(refs[0].slice)
            suggestion = (f"{name} = {ast.unparse(whole)}  # once, before the loop at line "
                          f"{loop.lineno}; then use {name}[{element}]")
        else:
            suggestion = (f"compute {func}(...) on whole arrays before the loop at line "
                          f"{loop.lineno}, or vectorize the loop")
        return Diagnostic("OL105", call.lineno, call.col_offset,
                          f"{ast.unparse(call)} calls NumPy once per element; each call "
                          "costs about a microsecond of overhead for one number",
                          suggestion, rewrite=False,
                          why_not="level 1 rewrites whole loops; this one is not elementwise")


def _element_reads(node: ast.AST, loop_vars: set[str]) -> list[ast.Subscript]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name):
            parts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else [sub.slice]
            if any(isinstance(p, ast.Name) and p.id in loop_vars for p in parts) and all(
                    isinstance(p, (ast.Name, ast.Constant)) for p in parts):
                out.append(sub)
    return out


def _replace_element(tree: ast.AST, ref: ast.Subscript, loop_vars: set[str]) -> None:
    """In ``tree``, replace the element read ``ref`` (``x[i]``) by its array (``x``)."""
    parts = ref.slice.elts if isinstance(ref.slice, ast.Tuple) else [ref.slice]
    if len(parts) != 1 or not (isinstance(parts[0], ast.Name) and parts[0].id in loop_vars):
        return
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is ref:
                setattr(parent, field, ref.value)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if item is ref:
                        value[k] = ref.value
