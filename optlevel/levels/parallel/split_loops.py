"""Independent loops for Numba's ``prange``: each top-level ``for i in range(...)``
whose iterations do not depend on one another.

Every array the loop writes is written (and read) only at ``[i, ...]``; every
other name it assigns is either fresh in each iteration (assigned before it is
read) or a scalar reduction (``s += e``, ``s -= e``, ``s *= e``, ``s = min(s, e)``,
``s = max(s, e)``) not read otherwise in the loop. Such a loop may run as Numba
``prange`` (:mod:`.prange` rewrites it). Conservative: a construct not
understood is "no proof", with its line.
"""

from __future__ import annotations

import ast

from ...analysis.scope import Namespace
from . import split_scan as scan
from .split_proofs import LoopProof, NoProof

__all__ = ["prove_loops"]


def prove_loops(tree: ast.FunctionDef, params: tuple[str, ...],
                ns: Namespace | None = None) -> tuple[tuple[LoopProof, ...], tuple[str, ...]]:
    """Independent top-level ``for`` loops of ``tree``, and why the others are not."""
    ns = ns or Namespace(None)
    proofs: list[LoopProof] = []
    reasons: list[str] = []
    for index, stmt in enumerate(tree.body):
        if not isinstance(stmt, ast.For):
            continue
        try:
            proofs.append(_prove_independent(stmt, tree, index, params, ns))
        except NoProof as exc:
            reasons.append(str(exc))
    return tuple(proofs), tuple(reasons)


def _prove_independent(loop: ast.For, tree: ast.FunctionDef, index: int,
                       params: tuple[str, ...], ns: Namespace) -> LoopProof:
    line = loop.lineno
    everywhere = scan.assigned(tree.body) | set(params)
    args = scan.range_args(loop, ns, everywhere)
    if args is None or not isinstance(loop.target, ast.Name) or loop.orelse:
        raise NoProof(line, "not a `for i in range(...)` loop")
    if len(args) == 2 and not (isinstance(args[0], ast.Constant)
                               and type(args[0].value) is int and args[0].value >= 0):
        raise NoProof(line, "range() starts at a value not known to be ≥ 0")
    var = loop.target.id
    scan.check_body_statements(loop)
    assigned = scan.assigned(loop.body)
    if var in assigned:
        raise NoProof(line, f"the loop assigns its index {var!r}")
    writes = _written_arrays(loop, var)
    _check_written(loop, tree, index, var, writes, params, assigned)
    reductions = _reductions(loop, tree, index, params, assigned)
    private = assigned - set(reductions)
    carried = scan.carried(loop.body, private, set())
    if carried is not None:
        raise NoProof(carried.lineno, f"{carried.id!r} carries a value from one iteration "
                                      "to the next")
    after = scan.carried(tree.body[index + 1:], private | {var}, set())
    if after is not None:
        raise NoProof(after.lineno, f"{after.id!r} is read after the loop")
    shared = (set(params) | scan.assigned(tree.body[:index])) - assigned
    scan.check_calls(loop, ns, shared)
    return LoopProof(line, var, tuple(sorted(writes)),
                     tuple(sorted(w for w in writes if w in params)),
                     tuple(sorted(reductions.items())))


def _written_arrays(loop: ast.For, var: str) -> set[str]:
    writes: set[str] = set()
    for target in scan.store_targets(loop.body):
        if isinstance(target, ast.Name):
            continue
        base, inner = scan.base_name(target)
        if base is None or inner is None:
            raise NoProof(target.lineno, f"writes {ast.unparse(target)}")
        if not scan.is_var(scan.first_index(inner), var):
            raise NoProof(target.lineno, f"writes {ast.unparse(target)}, not at "
                                         f"[{var}, ...]")
        writes.add(base.id)
    return writes


def _check_written(loop: ast.For, tree: ast.FunctionDef, index: int, var: str,
                   writes: set[str], params: tuple[str, ...], assigned: set[str]) -> None:
    """Every use of a written array in the loop is at ``[var, ...]``; a local one is a
    fresh array (its own memory), so no other name can see the writes."""
    parents = scan.parents(loop)
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and node.id in writes and node is not loop.target:
            parent = parents.get(node)
            if not (isinstance(parent, ast.Subscript) and parent.value is node
                    and scan.is_var(scan.first_index(parent), var)):
                raise NoProof(node.lineno, f"uses {node.id!r} other than at [{var}, ...]")
    for name in writes:
        if name in assigned:
            raise NoProof(loop.lineno, f"rebinds {name!r} inside the loop")
        if name not in params and not _fresh_local(tree, index, name):
            raise NoProof(loop.lineno, f"writes {name!r}, which is not a new array made "
                                       "once before the loop (np.zeros, np.empty_like, ...)")


def _fresh_local(tree: ast.FunctionDef, index: int, name: str) -> bool:
    binds = [s for s in ast.walk(tree) if isinstance(s, (ast.Assign, ast.AugAssign,
                                                         ast.AnnAssign, ast.For))
             and name in scan.assigned([s])]
    if len(binds) != 1 or binds[0] not in tree.body[:index]:
        return False
    stmt = binds[0]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    leaf = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return leaf in scan.CREATION or leaf in scan.CREATION_LIKE


def _reductions(loop: ast.For, tree: ast.FunctionDef, index: int, params: tuple[str, ...],
                assigned: set[str]) -> dict[str, str]:
    """Scalar names the loop only accumulates into, with their operator."""
    before = scan.assigned(tree.body[:index]) | set(params)
    found: dict[str, str] = {}
    for name in sorted(assigned & before):
        ops = _reduction_ops(loop, name)
        if ops is None:
            continue
        families = {"+": "+", "-": "+", "*": "*", "min": "min", "max": "max"}
        kinds = {families[op] for op in ops}
        if len(kinds) != 1:
            raise NoProof(loop.lineno, f"{name!r} is reduced with mixed operators "
                                       f"{sorted(ops)}")
        found[name] = kinds.pop()
    return found


def _reduction_ops(loop: ast.For, name: str) -> set[str] | None:
    """The operators of ``name``'s updates if every use of it in the loop is one; else None."""
    ops: set[str] = set()
    update_nodes: set[ast.AST] = set()
    aug_ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if isinstance(node, ast.AugAssign) and scan.is_var(node.target, name):
            op = aug_ops.get(type(node.op))
            if op is None or name in {n.id for n in scan.loads(node.value)}:
                return None
            ops.add(op)
            update_nodes.add(node.target)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and scan.is_var(node.targets[0], name):
            op, own = _min_max_update(node.value, name)
            if op is None:
                return None
            ops.add(op)
            update_nodes |= {node.targets[0], own}
    uses = [n for n in ast.walk(ast.Module(body=loop.body, type_ignores=[]))
            if isinstance(n, ast.Name) and n.id == name]
    if not ops or any(n not in update_nodes for n in uses):
        return None
    return ops


def _min_max_update(value: ast.expr, name: str) -> tuple[str | None, ast.AST]:
    """``min(s, e)`` / ``max(e, s)`` where ``e`` does not read ``s``."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in ("min", "max") and len(value.args) == 2
            and not value.keywords):
        return None, value
    a, b = value.args
    own, other = (a, b) if scan.is_var(a, name) else (b, a)
    if not scan.is_var(own, name) or name in {n.id for n in scan.loads(other)}:
        return None, value
    return value.func.id, own
