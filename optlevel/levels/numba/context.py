"""What the catalogue's AST detectors know about a function: :class:`Context`.

A context is made once per set of parameter kinds (at decoration, and for each
new argument-type signature): the function's AST, the scalar kinds of its
values (:class:`~.kinds.Kinds`), its loops, its loop-carried variables and the
names proven non-negative. The helpers below are the AST facts more than one
detector reads.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from ...analysis.scope import Namespace, own_nodes
from .kinds import dtype_of, kinds_of, param_kinds

__all__ = ["Context", "own_nodes", "names_in", "updates", "const", "nonneg", "dtype_kind",
           "NARROW_FLOATS"]

#: dtypes narrower than Python's float, whose sums compiled code rounds differently
#: (SEM009 accumulators, SEM018 reductions)
NARROW_FLOATS = frozenset({"float32", "complex64"})


class Context:
    """One function's AST and the facts the detectors share, for one set of parameter
    kinds (``signature`` None: at decoration, for every call)."""

    def __init__(self, func: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef,
                 params: tuple[str, ...], signature: Any):
        self.tree = tree
        self.ns = Namespace(func)
        self.kinds = kinds_of(tree, self.ns, param_kinds(signature, params))
        self.resolved = signature is not None
        #: the function's own nodes, walked once for every detector
        self.nodes = list(own_nodes(tree))
        self.loops = [n for n in self.nodes if isinstance(n, (ast.For, ast.While))]
        self.carried = _carried(self.loops)
        self.loop_targets = {t.id for loop in self.loops if isinstance(loop, ast.For)
                             for t in ast.walk(loop.target) if isinstance(t, ast.Name)}
        self.nonneg = _nonneg_names(tree, self)

    @functools.cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each own node's parent (two detectors ask; most calls need none)."""
        return {child: node for node in self.nodes for child in ast.iter_child_nodes(node)}

    def of(self, node: ast.expr) -> set[str]:
        return self.kinds.of(node)

    def var(self, name: str) -> set[str]:
        return set(self.kinds.env.get(name, set()))

    def builtin(self, node: ast.expr, name: str) -> bool:
        """Is ``node`` the builtin ``name`` (not shadowed by a local, global or cell)?"""
        return isinstance(node, ast.Name) and node.id == name and \
            not self.kinds.shadowed(name)

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.ns.dotted(node)
        return None


def names_in(node: ast.AST) -> set[str]:
    """Every name ``node`` mentions."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def updates(loop: ast.AST) -> Iterator[tuple[str, ast.expr, ast.stmt]]:
    """(variable, the expression of its new value, the statement) inside ``loop``;
    ``x op= v`` gives the expression ``x op v``."""
    for node in ast.walk(loop):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            binop = ast.BinOp(node.target, node.op, node.value)
            yield node.target.id, ast.copy_location(binop, node), node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = _pairs(target, node.value)
                for name, value in pairs:
                    yield name, value, node


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        return [p for t, v in zip(target.elts, value.elts) for p in _pairs(t, v)]
    return []


def _carried(loops: Sequence[ast.AST]) -> dict[str, set[str]]:
    """Loop-carried variables: assigned in a loop from values that (through other
    variables assigned in the same loop) depend on themselves. Maps each to what its
    new values read."""
    out: dict[str, set[str]] = {}
    for loop in loops:
        reads: dict[str, set[str]] = {}
        for name, value, _ in updates(loop):
            reads.setdefault(name, set()).update(names_in(value))
        changed = True
        while changed:
            changed = False
            for deps in reads.values():
                more = set().union(*(reads.get(d, set()) for d in deps)) - deps
                if more:
                    deps |= more
                    changed = True
        for name, deps in reads.items():
            if name in deps:
                out.setdefault(name, set()).update(deps)
    return out


def dtype_kind(kind: str) -> str:
    """The NumPy dtype kind letter of an ``np:``/``arr:`` kind ("" when unknown)."""
    dtype = dtype_of(kind)
    return dtype.kind if dtype is not None else ""


def const(node: ast.expr) -> Any:
    """The number ``node`` is written as (``3``, ``-1.5``), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = const(node.operand)
        return None if inner is None else -inner
    return None


def _nonneg_names(tree: ast.AST, ctx: Context) -> set[str]:
    """Names every binding of which is provably ≥ 0 (range indices from ≥ 0, len())."""
    bindings: dict[str, list[ast.AST]] = {}
    for node in own_nodes(tree):
        if isinstance(node, ast.For):
            for t in ast.walk(node.target):
                if isinstance(t, ast.Name):
                    bindings.setdefault(t.id, []).append(node)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Name):
                        bindings.setdefault(t.id, []).append(node)
    out: set[str] = set()
    for name, sites in bindings.items():
        if all(_nonneg_site(name, site, ctx, out) for site in sites):
            out.add(name)
    return out


def _nonneg_site(name: str, site: ast.AST, ctx: Context, known: set[str]) -> bool:
    if isinstance(site, ast.For):
        it = site.iter
        if isinstance(site.target, ast.Name) and isinstance(it, ast.Call) and \
                ctx.builtin(it.func, "range") and 1 <= len(it.args) <= 3:
            start = it.args[0] if len(it.args) >= 2 else ast.Constant(0)
            step = const(it.args[2]) if len(it.args) == 3 else 1
            return step is not None and step > 0 and nonneg(start, ctx, known)
        return False
    if isinstance(site, ast.Assign) and isinstance(site.targets[0], ast.Name):
        return nonneg(site.value, ctx, known)
    if isinstance(site, ast.AugAssign) and isinstance(site.op, (ast.Add, ast.Mult)):
        return nonneg(site.value, ctx, known)
    return False


def nonneg(node: ast.expr, ctx: Context, known: set[str]) -> bool:
    """Is ``node`` provably ≥ 0 (``known``: names already proven so)?"""
    value = const(node)
    if value is not None:
        return not isinstance(value, complex) and value >= 0
    if isinstance(node, ast.Name):
        return node.id in known or node.id in getattr(ctx, "nonneg", set())
    if isinstance(node, ast.Call) and (ctx.builtin(node.func, "len")
                                       or ctx.builtin(node.func, "abs")):
        return True
    if isinstance(node, ast.Attribute) and node.attr in ("size", "ndim", "itemsize"):
        return True
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "shape":
        return True
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Add, ast.Mult, ast.FloorDiv)):
            return nonneg(node.left, ctx, known) and nonneg(node.right, ctx, known)
        if isinstance(node.op, ast.Mod):
            right = const(node.right)
            return right is not None and right > 0
        if isinstance(node.op, ast.Pow):
            exp = const(node.right)
            return (exp is not None and exp % 2 == 0) or nonneg(node.left, ctx, known)
    return False

