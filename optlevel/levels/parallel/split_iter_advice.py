"""Loops whose iterations are independent but written so that no iteration-split proof
holds (:mod:`.split_iter`), and the rewrite that makes one hold: the ``OL3xx`` findings
of ``optlevel check``.

Each rule recognises one way of writing, rewrites the loop, and reports only when the
proof fails on the loop as written and holds on the rewrite (with the function's other
statements as they are: values computed before the loop stay where they are):

* ``OL301`` counter-index: ``k = 0`` before the loop, ``k += 1`` as the body's last
  statement, ``out[k] = ...`` in it → ``for k, x in enumerate(xs)``;
* ``OL302`` while-counter: ``i = 0; while i < n: ...; i += 1`` → ``for i in range(n)``;
* ``OL303`` shifted-write: ``for i in range(a, b): out[i + c] = f(x[i])`` → the loop
  runs over the written index, ``for i in range(a + c, b + c): out[i] = f(x[i - c])``.

Never raises: a shape not understood is no finding.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
from collections.abc import Callable

from ...analysis.scope import Namespace
from . import split_scan as scan
from .split_iter import prove_iterations

__all__ = ["LoopAdvice", "loop_advice"]


@dataclasses.dataclass(frozen=True)
class LoopAdvice:
    """One finding: ``rule`` (``OL301``), where, what and the rewritten loop's code."""

    rule: str
    line: int
    col: int
    message: str
    suggestion: str


def loop_advice(tree: ast.FunctionDef, ns: Namespace | None = None) -> list[LoopAdvice]:
    """The ``OL3xx`` findings of one function."""
    ns = ns or Namespace(None)
    params = tuple(a.arg for a in tree.args.posonlyargs + tree.args.args
                   + tree.args.kwonlyargs)
    out: list[LoopAdvice] = []
    for index, stmt in enumerate(tree.body):
        if not isinstance(stmt, (ast.For, ast.While)):
            continue
        for rule in _RULES:
            try:
                found = rule(tree, index, params, ns)
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError):
                found = None
            if found is not None:
                out.append(found)
                break
    return out


def _proved(tree: ast.FunctionDef, index: int, params: tuple[str, ...], ns: Namespace,
            loop: ast.stmt | None = None, drop: int | None = None) -> bool:
    """Does the iteration proof hold for the loop at ``index`` (replaced by ``loop``,
    with statement ``drop`` of the body before it left out)?"""
    new = copy.copy(tree)
    body = list(tree.body)
    if loop is not None:
        body[index] = loop
    if drop is not None:
        del body[drop]
        index -= 1
    new.body = body
    proof, _ = prove_iterations(new, params, ns)
    return proof is not None and proof.index == index


def _int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _counter_start(tree: ast.FunctionDef, index: int, name: str) -> tuple[int, int] | None:
    """``name = <int>`` as the last binding of ``name`` before the loop: (its index, value)."""
    for k in range(index - 1, -1, -1):
        stmt = tree.body[k]
        if name not in scan.assigned([stmt]):
            continue
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and scan.is_var(stmt.targets[0], name) and _int(stmt.value) is not None:
            return k, _int(stmt.value)  # type: ignore[return-value]
        return None
    return None


def _increment(stmt: ast.stmt) -> str | None:
    """``k += 1`` → ``k``."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) \
            and isinstance(stmt.target, ast.Name) and _int(stmt.value) == 1:
        return stmt.target.id
    return None


def _read_after(tree: ast.FunctionDef, index: int, name: str) -> bool:
    return any(n.id == name for stmt in tree.body[index + 1:] for n in scan.loads(stmt))


def _used_only_here(tree: ast.FunctionDef, index: int, start: int, name: str) -> bool:
    """``name`` is not read between its start and the loop, nor after the loop."""
    between = tree.body[start + 1:index]
    return not any(n.id == name for stmt in between for n in scan.loads(stmt)) \
        and not _read_after(tree, index, name)


def _counter_index(tree: ast.FunctionDef, index: int, params: tuple[str, ...],
                   ns: Namespace) -> LoopAdvice | None:
    """OL301: a counter bumped at the end of every iteration and used as an index."""
    loop = tree.body[index]
    if not isinstance(loop, ast.For) or loop.orelse or not loop.body:
        return None
    name = _increment(loop.body[-1])
    if name is None or name in scan.assigned(loop.body[:-1]):
        return None
    found = _counter_start(tree, index, name)
    if found is None or not _used_only_here(tree, index, found[0], name):
        return None
    if _proved(tree, index, params, ns) or any(isinstance(n, ast.Continue)
                                               for n in ast.walk(loop)):
        return None
    start, value = found
    new = copy.deepcopy(loop)
    new.body = new.body[:-1]
    keywords = [ast.keyword("start", ast.Constant(value))] if value else []
    new.iter = ast.Call(ast.Name("enumerate", ast.Load()), [loop.iter], keywords)
    new.target = ast.Tuple([ast.Name(name, ast.Store()), loop.target], ast.Store())
    ast.fix_missing_locations(ast.copy_location(new, loop))
    if not _proved(tree, index, params, ns, new, drop=start):
        return None
    return LoopAdvice("OL301", loop.lineno, loop.col_offset,
                      f"the counter {name!r} carries a value from one iteration to the next, "
                      f"so the iterations cannot be split; let enumerate count them (and drop "
                      f"`{name} = {value}` before the loop)", ast.unparse(new))


def _while_counter(tree: ast.FunctionDef, index: int, params: tuple[str, ...],
                   ns: Namespace) -> LoopAdvice | None:
    """OL302: ``while i < n`` counting ``i`` up by one at the end of every iteration."""
    loop = tree.body[index]
    if not isinstance(loop, ast.While) or loop.orelse or not loop.body:
        return None
    test = loop.test
    name = _increment(loop.body[-1])
    if name is None or not (isinstance(test, ast.Compare) and len(test.ops) == 1
                            and isinstance(test.ops[0], ast.Lt)
                            and scan.is_var(test.left, name)):
        return None
    bound = test.comparators[0]
    if name in scan.assigned(loop.body[:-1]) or _changed(loop, {n.id for n in scan.loads(bound)}):
        return None
    if any(isinstance(n, (ast.Call, ast.Attribute, ast.Subscript)) and
           not _len_call(n) for n in ast.walk(bound)) or \
            any(isinstance(n, (ast.Break, ast.Continue)) for n in ast.walk(loop)):
        return None
    found = _counter_start(tree, index, name)
    if found is None or not _used_only_here(tree, index, found[0], name):
        return None
    start, value = found
    args = [bound] if value == 0 else [ast.Constant(value), bound]
    new = ast.For(ast.Name(name, ast.Store()), ast.Call(ast.Name("range", ast.Load()), args, []),
                  copy.deepcopy(loop.body[:-1]), [], None)
    ast.fix_missing_locations(ast.copy_location(new, loop))
    if not _proved(tree, index, params, ns, new, drop=start):
        return None
    return LoopAdvice("OL302", loop.lineno, loop.col_offset,
                      f"a while loop counting {name!r} is not split (only `for` loops are); "
                      f"written as a for loop over range() its iterations are independent "
                      f"(and `{name} = {value}` before it goes)", ast.unparse(new))


def _changed(loop: ast.While, names: set[str]) -> bool:
    """Might the loop change what ``names`` hold (rebind, write into, call a method of,
    or hand them to a call)? A ``while`` bound is evaluated on every test, a ``range``
    once."""
    if scan.assigned(loop.body) & names:
        return True
    for target in scan.store_targets(loop.body):
        base, _ = scan.base_name(target)
        if base is not None and base.id in names:
            return True
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and func.value.id in names:
                return True
            if any(n.id in names for arg in node.args for n in scan.loads(arg)) \
                    and not _len_call(node):
                return True
    return False


def _len_call(node: ast.AST) -> bool:
    """``len(x)`` (its ``len`` name and ``x`` are read, not called)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == "len" and len(node.args) == 1 and not node.keywords


class _Shift(ast.NodeTransformer):
    """``i`` → ``i - c``; ``i + c`` → ``i``."""

    def __init__(self, var: str, by: int):
        self.var, self.by = var, by

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if isinstance(node.op, ast.Add) and scan.is_var(node.left, self.var) \
                and _int(node.right) == self.by:
            return ast.copy_location(ast.Name(self.var, ast.Load()), node)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == self.var and isinstance(node.ctx, ast.Load):
            shifted = ast.BinOp(ast.Name(self.var, ast.Load()), ast.Sub(), ast.Constant(self.by))
            return ast.copy_location(shifted, node)
        return node


def _shifted_write(tree: ast.FunctionDef, index: int, params: tuple[str, ...],
                   ns: Namespace) -> LoopAdvice | None:
    """OL303: every write lands at ``out[i + c]``: loop over the written index instead."""
    loop = tree.body[index]
    if not isinstance(loop, ast.For) or loop.orelse or not isinstance(loop.target, ast.Name):
        return None
    args = scan.range_args(loop, ns, set(params) | scan.assigned(tree.body))
    if args is None:
        return None
    var = loop.target.id
    shifts = set()
    for target in scan.store_targets(loop.body):
        if isinstance(target, ast.Name):
            continue
        _, inner = scan.base_name(target)
        first = scan.first_index(inner) if inner is not None else None
        if not (isinstance(first, ast.BinOp) and isinstance(first.op, ast.Add)
                and scan.is_var(first.left, var) and _int(first.right)):
            return None
        shifts.add(_int(first.right))
    if len(shifts) != 1 or _proved(tree, index, params, ns):
        return None
    by = shifts.pop()
    assert by is not None
    new = copy.deepcopy(loop)
    new.body = [_Shift(var, by).visit(stmt) for stmt in new.body]
    lo, hi = (args if len(args) == 2 else [ast.Constant(0), args[0]])
    new.iter = ast.Call(ast.Name("range", ast.Load()),
                        [_plus(lo, by), _plus(hi, by)], [])
    ast.fix_missing_locations(ast.copy_location(new, loop))
    if not _proved(tree, index, params, ns, new):
        return None
    return LoopAdvice("OL303", loop.lineno, loop.col_offset,
                      f"every iteration writes the slot {var} + {by}, not its own {var}, so "
                      "the proof cannot tell the slots apart; loop over the written index "
                      "and read at an offset instead", ast.unparse(new))


def _plus(node: ast.expr, by: int) -> ast.expr:
    value = _int(node)
    if value is not None:
        return ast.Constant(value + by)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) \
            and _int(node.right) is not None:
        right = _int(node.right)
        assert right is not None
        total = (right if isinstance(node.op, ast.Add) else -right) + by
        if total == 0:
            return copy.deepcopy(node.left)
        op: ast.operator = ast.Add() if total > 0 else ast.Sub()
        return ast.BinOp(copy.deepcopy(node.left), op, ast.Constant(abs(total)))
    return ast.BinOp(copy.deepcopy(node), ast.Add() if by > 0 else ast.Sub(),
                     ast.Constant(abs(by)))


_RULES: tuple[Callable[..., LoopAdvice | None], ...] = (_counter_index, _while_counter,
                                                        _shifted_write)
