"""Rules OL201, OL202 and OL203: memory order against the loops that walk an array.

Statically, each loop's walks are found with the memory order in which they are
contiguous (``x[:, j]`` in a loop over ``j`` needs Fortran order; ``x[i, :]`` needs
C order). ``optlevel check`` assumes NumPy's default, C order; at run time the
argument's real layout (``ArgInfo.layout``) decides. NumPy's own axis reductions
(``x.sum(axis=0)``) walk memory in its order whatever the layout, so they are not
reported: the cost is in Python-level and compiled loops.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from typing import Any

from ...arrays import ArgKind
from .names import REDUCTION_METHODS, Names
from .rules import Diagnostic

__all__ = ["Walk", "LayoutWalks", "layout_findings", "copy_plan", "escapes"]

#: Below this many elements an array fits in cache and its layout hardly matters.
MIN_ELEMENTS = 1 << 14
_ORDER_NAME = {"C": "C order (row-major)", "F": "Fortran order (column-major)"}


@dataclasses.dataclass(frozen=True)
class Walk:
    """One array walked by a loop: contiguous when the array is in ``needs`` order."""

    rule: str
    array: str
    line: int
    col: int
    loop_line: int
    needs: str
    text: str
    nested: bool  # the walk's loop runs inside another loop: many passes over the array

    def static_diagnostic(self) -> Diagnostic:
        """The finding for a C-ordered array, NumPy's default (``optlevel check``)."""
        return _diagnostic(self, "C")


class LayoutWalks(ast.NodeVisitor):
    """The walks of one function's loops."""

    def __init__(self, names: Names):
        self.names = names
        self.walks: list[Walk] = []
        self.stack: list[tuple[str, int]] = []  # (loop variable, loop line), outer first
        self.root: ast.AST | None = None
        self.seen: set[tuple[str, int, str]] = set()

    def run(self, tree: ast.AST) -> list[Walk]:
        self.root = tree
        self.generic_visit(tree)
        return self.walks

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is self.root:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_For(self, node: ast.For) -> None:
        var = _index_var(node)
        self.stack.append((var or "", node.lineno))
        self.generic_visit(node)
        self.stack.pop()

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.generic_visit(node)
        if not self.stack or not isinstance(node.value, ast.Name):
            return
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        inner_var, loop_line = self.stack[-1]
        if not inner_var:
            return
        var_axes = [a for a, p in enumerate(parts) if isinstance(p, ast.Name) and p.id == inner_var]
        if len(var_axes) != 1:
            return
        axis = var_axes[0]
        slices = [a for a, p in enumerate(parts) if isinstance(p, ast.Slice)]
        if slices:
            needs = _slice_order(parts, slices)
            rule = "OL201"
        else:
            needs = self._inner_order(parts, axis)
            rule = "OL202"
        if needs is None:
            return
        key = (node.value.id, loop_line, rule)
        if key in self.seen:
            return
        self.seen.add(key)
        self.walks.append(Walk(rule, node.value.id, node.lineno, node.col_offset, loop_line,
                               needs, ast.unparse(node), len(self.stack) > 1))

    def _inner_order(self, parts: list[ast.expr], axis: int) -> str | None:
        """For x[i, j] in nested loops: the order in which the innermost variable's
        axis is the contiguous one (None when no outer variable indexes it too)."""
        outer = {v for v, _ in self.stack[:-1] if v}
        outer_axes = [a for a, p in enumerate(parts) if isinstance(p, ast.Name) and p.id in outer]
        if not outer_axes or len(parts) < 2:
            return None
        if axis > max(outer_axes):
            return "C"
        if axis < min(outer_axes):
            return "F"
        return None


def _index_var(node: ast.For) -> str | None:
    if isinstance(node.target, ast.Name):
        return node.target.id
    if isinstance(node.target, ast.Tuple) and node.target.elts and \
            isinstance(node.target.elts[0], ast.Name):
        return node.target.elts[0].id  # enumerate's index
    return None


def _slice_order(parts: list[ast.expr], slices: list[int]) -> str | None:
    """x[:, j] walks axis 0 with j fixed: contiguous in F order; x[j, :] in C order."""
    fixed = [a for a in range(len(parts)) if a not in slices]
    if min(slices) > max(fixed):
        return "C"
    if max(slices) < min(fixed):
        return "F"
    return None


def _diagnostic(walk: Walk, layout: str) -> Diagnostic:
    order = _ORDER_NAME.get(layout, layout)
    better = walk.needs
    convert = "np.asfortranarray" if better == "F" else "np.ascontiguousarray"
    if walk.rule == "OL201":
        message = (f"the loop at line {walk.loop_line} walks {walk.text} of {walk.array}, "
                   f"which in {order} is a strided slice of memory")
        alt = ("a NumPy reduction along the axis (x.sum(axis=0)) walks memory in order"
               if better == "F" else "loop over the other axis")
    else:
        message = (f"the innermost loop at line {walk.loop_line} steps {walk.text} across "
                   f"{walk.array}'s memory order ({order}): each step jumps a whole row")
        alt = "swap the two loops"
    suggestion = f"{walk.array} = {convert}({walk.array})  # once, before the loop; or {alt}"
    return Diagnostic(walk.rule, walk.line, walk.col, message, suggestion)


def layout_findings(walks: list[Walk], signature: Any, has_hot_loops: bool,
                    first_loop_line: int) -> list[Diagnostic]:
    """The walks that the call's real argument layouts make strided, and
    non-contiguous array arguments walked by loops (OL203)."""
    args = {a.name: a for a in signature.args if a.kind is ArgKind.NUMPY}
    out: list[Diagnostic] = []
    for walk in walks:
        arg = args.get(walk.array)
        if arg is None or not _big_2d(arg) or arg.layout not in ("C", "F"):
            continue
        if arg.layout != walk.needs:
            out.append(_diagnostic(walk, arg.layout))
    if has_hot_loops:
        for arg in args.values():
            if arg.layout == "A" and arg.size >= MIN_ELEMENTS:
                out.append(Diagnostic(
                    "OL203", first_loop_line, 0,
                    f"argument {arg.name} is a non-contiguous view (shape "
                    f"{list(arg.shape or ())}); loops over it, compiled or not, stride "
                    "through memory, and Numba compiles a separate slower version for it",
                    f"{arg.name} = np.ascontiguousarray({arg.name})  # once, before the "
                    "loops (or pass a contiguous array)"))
    return out


def _big_2d(arg: Any) -> bool:
    shape = arg.shape or ()
    return len(shape) >= 2 and arg.size >= MIN_ELEMENTS and min(shape) > 1


def copy_plan(walks: list[Walk], signature: Any, tree: ast.AST, mutated: frozenset[str],
              costs: Callable[[], tuple[float, float]]) -> dict[str, str]:
    """Arguments worth copying into the order their walks need: argument → "C"/"F".

    Only arguments the function never writes and never lets escape (returned, stored,
    handed to other code), so a copy cannot change what the caller sees; and only
    where the passes over the array save more than the copy costs. ``costs()`` gives
    the nanoseconds of a strided and of a copied element; it is asked for only when
    some walk runs against an array's order (the first asking calibrates the machine:
    about 13 ms on the 2-core machine, which a walk along the order never pays).
    """
    args = {a.name: a for a in signature.args if a.kind is ArgKind.NUMPY}
    passes: dict[tuple[str, str], float] = {}
    for walk in walks:
        arg = args.get(walk.array)
        if arg is None or not _big_2d(arg) or arg.layout not in ("C", "F") \
                or arg.layout == walk.needs or arg.readonly:
            continue
        key = (walk.array, walk.needs)
        passes[key] = passes.get(key, 0.0) + (8.0 if walk.nested else 1.0)
    candidates = {key: count for key, count in passes.items()
                  if key[0] not in mutated and not escapes(tree, key[0])}
    if not candidates:
        return {}
    strided_ns, copy_ns = costs()
    return {name: needs for (name, needs), count in candidates.items()
            if count * strided_ns > copy_ns * 1.2}  # a margin: the copy also allocates


_SHAPE_ATTRS = frozenset({"shape", "ndim", "size", "dtype"})


def escapes(tree: ast.AST, name: str) -> bool:
    """Could a value that shares memory with ``name`` leave the function or be written
    (returned, stored, passed to unknown code)? Element reads, arithmetic, reductions
    and shape queries are safe; anything else counts as escaping."""
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(
                parents.get(id(node)), ast.arguments):
            if not _safe_use(node, parents):
                return True
    return False


def _safe_use(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    parent = parents.get(id(node))
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return False
    if isinstance(parent, ast.Attribute) and parent.attr in _SHAPE_ATTRS:
        return True
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) \
            and parent.func.id == "len":
        return True
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return _fresh(parent, parents)
    return False


def _fresh(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Is the value of ``node`` (a view, maybe) consumed into a new value at once?"""
    parent = parents.get(id(node))
    if isinstance(node, ast.Subscript) and isinstance(parent, ast.Subscript) \
            and parent.value is node:
        return _fresh(parent, parents)
    if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare)):
        return True
    if isinstance(parent, ast.AugAssign) and parent.value is node:
        return True  # read into the target (s += x[j, i]); the view goes no further
    if isinstance(parent, ast.Attribute) and parent.attr in REDUCTION_METHODS | _SHAPE_ATTRS:
        call = parents.get(id(parent))
        return parent.attr in _SHAPE_ATTRS or (isinstance(call, ast.Call) and
                                               call.func is parent)
    if isinstance(parent, ast.Call) and node in parent.args:
        func = parent.func
        return isinstance(func, ast.Attribute) and func.attr in REDUCTION_METHODS | {
            "sin", "cos", "exp", "log", "sqrt", "abs", "dot", "norm"}
    return False
