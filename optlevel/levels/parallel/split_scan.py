"""What a loop body binds, reads, writes and calls: the AST facts both loop proofs
(:mod:`.split_loops` for ``prange``, :mod:`.split_rowloop` for row loops) rest on.

Every check is conservative: a construct not understood raises
:class:`.split_proofs.NoProof` with its line. Mutating calls are read from
:mod:`optlevel.analysis.tables`, the one copy every level shares.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from ...analysis.scope import Namespace
from ...analysis.tables import MUTATING_ARRAY_METHODS, MUTATING_CONTAINER_METHODS, MUTATING_NUMPY
from .split_proofs import NoProof

__all__ = ["parents", "assigned", "loads", "carried", "range_args", "first_index", "base_name",
           "is_var", "store_targets", "check_body_statements", "check_calls", "CREATION",
           "CREATION_LIKE"]

#: NumPy functions that make a new array of a given shape (its own memory).
CREATION = frozenset({"zeros", "empty", "ones", "full"})
#: ... and those that make one shaped like another array.
CREATION_LIKE = frozenset({"zeros_like", "empty_like", "ones_like", "full_like", "copy"})
_MUTATING_METHODS = MUTATING_ARRAY_METHODS | MUTATING_CONTAINER_METHODS
_PURE_MODULES = ("numpy", "math", "cmath", "builtins")
_FORBIDDEN = (ast.Return, ast.Raise, ast.Try, ast.With, ast.AsyncWith, ast.Global,
              ast.Nonlocal, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
              ast.Yield, ast.YieldFrom, ast.Await, ast.Delete, ast.Assert)


def parents(root: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}


def assigned(stmts: Iterable[ast.stmt]) -> set[str]:
    """Names bound by statements (targets, for-targets, walrus), outside comprehensions."""
    names: set[str] = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names - _comprehension_names(stmts)


def _comprehension_names(stmts: Iterable[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.comprehension):
                names |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    return names


def loads(node: ast.AST) -> list[ast.Name]:
    """Names read in an expression or statement header, outside comprehension scopes."""
    skip = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.comprehension):
            skip |= {n.id for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
    return [n for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n.id not in skip]


def carried(stmts: list[ast.stmt], tracked: set[str], defined: set[str]) -> ast.Name | None:
    """The first read of a ``tracked`` name that no earlier statement of this pass
    assigned: a value carried over from a previous iteration (or from outside)."""
    for stmt in stmts:
        found = _carried_stmt(stmt, tracked, defined)
        if found is not None:
            return found
    return None


def _first_undefined(nodes: Iterable[ast.AST], tracked: set[str],
                     defined: set[str]) -> ast.Name | None:
    for node in nodes:
        for name in loads(node):
            if name.id in tracked and name.id not in defined:
                return name
    return None


def _carried_stmt(stmt: ast.stmt, tracked: set[str], defined: set[str]) -> ast.Name | None:
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        found = _first_undefined([stmt.iter], tracked, defined)
        inner = defined | {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
        return found or carried(stmt.body, tracked, set(inner)) or \
            carried(stmt.orelse, tracked, set(defined))
    if isinstance(stmt, ast.While):
        return _first_undefined([stmt.test], tracked, defined) or \
            carried(stmt.body, tracked, set(defined)) or \
            carried(stmt.orelse, tracked, set(defined))
    if isinstance(stmt, ast.If):
        found = _first_undefined([stmt.test], tracked, defined)
        left, right = set(defined), set(defined)
        found = found or carried(stmt.body, tracked, left) or \
            carried(stmt.orelse, tracked, right)
        defined |= left & right  # assigned on both branches: defined after the if
        return found
    if isinstance(stmt, ast.AugAssign):
        found = _first_undefined([stmt.value, stmt.target], tracked, defined)
        if found is None and isinstance(stmt.target, ast.Name) and \
                stmt.target.id in tracked and stmt.target.id not in defined:
            return stmt.target  # `s += e` reads s
        return found
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        value = stmt.value
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        nodes: list[ast.AST] = [value] if value is not None else []
        nodes += targets
        found = _first_undefined(nodes, tracked, defined)
        for target in targets:
            defined |= {n.id for n in ast.walk(target)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        return found
    found = _first_undefined([stmt], tracked, defined)
    defined |= assigned([stmt])
    return found


def range_args(loop: ast.For, ns: Namespace, local: set[str]) -> list[ast.expr] | None:
    """The arguments of ``range(stop)`` / ``range(start, stop)``; None for other iterators."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
            and it.func.id == "range" and it.func.id not in local and not it.keywords):
        return None
    found, value = ns.lookup("range")
    if not found or value is not range:
        return None
    return list(it.args) if 1 <= len(it.args) <= 2 else None


def first_index(sub: ast.Subscript) -> ast.expr:
    index = sub.slice
    return index.elts[0] if isinstance(index, ast.Tuple) and index.elts else index


def base_name(node: ast.expr) -> tuple[ast.Name | None, ast.Subscript | None]:
    """For ``a[i][j]`` → (``a``, the innermost subscript ``a[i]``)."""
    inner = None
    while isinstance(node, ast.Subscript):
        inner = node
        node = node.value
    return (node if isinstance(node, ast.Name) else None), inner


def is_var(node: ast.expr, var: str) -> bool:
    return isinstance(node, ast.Name) and node.id == var


def store_targets(body: list[ast.stmt]) -> list[ast.expr]:
    out: list[ast.expr] = []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Assign):
            out.extend(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            out.append(node.target)
    flat: list[ast.expr] = []
    while out:
        target = out.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            out.extend(target.elts)
        elif isinstance(target, ast.Starred):
            out.append(target.value)
        else:
            flat.append(target)
    return flat


def check_body_statements(loop: ast.For) -> None:
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if isinstance(node, _FORBIDDEN):
            raise NoProof(getattr(node, "lineno", loop.lineno),
                          f"a {type(node).__name__.lower()} inside the loop")
    for stmt in _outer_breaks(loop.body):
        raise NoProof(stmt.lineno, "break leaves the loop early")


def _outer_breaks(stmts: list[ast.stmt]) -> Iterable[ast.stmt]:
    """``break`` statements that leave the loop owning ``stmts`` (not an inner one)."""
    for stmt in stmts:
        if isinstance(stmt, ast.Break):
            yield stmt
        elif isinstance(stmt, ast.If):
            yield from _outer_breaks(stmt.body)
            yield from _outer_breaks(stmt.orelse)
        elif isinstance(stmt, (ast.For, ast.While)):
            yield from _outer_breaks(stmt.orelse)


def check_calls(loop: ast.For, ns: Namespace, shared: set[str]) -> None:
    """No call may write what other iterations see: no mutating methods or NumPy
    functions, no ``out=``, and no shared array handed whole to an unknown function."""
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        line = node.lineno
        if any(kw.arg == "out" for kw in node.keywords):
            raise NoProof(line, "a call with out=")
        if isinstance(func, ast.Attribute) and func.attr in _MUTATING_METHODS:
            raise NoProof(line, f".{func.attr}() may write an array other iterations read")
        dotted = ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted is not None and dotted.split(".", 1)[0] in _PURE_MODULES:
            if dotted.rsplit(".", 1)[-1] in MUTATING_NUMPY:
                raise NoProof(line, f"{dotted}() writes an array")
            continue
        for arg in list(node.args) + [kw.value for kw in node.keywords]:
            if isinstance(arg, ast.Name) and arg.id in shared:
                raise NoProof(line, f"passes {arg.id!r} whole to {ast.unparse(func)}(), "
                                    "which might write it")
