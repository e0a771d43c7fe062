"""Where level 2's checks sit: hoisted before an ``if``, deferred to a loop's end.

The rewrite (:mod:`.rewrite`) puts a checked op (:mod:`.intops`) where each
operation stands. In two places that costs the loop its speed, so the checks move
(the same checks, the same replays):

- :func:`hoist`: a checked op in one arm of an ``if`` keeps LLVM from making the
  arms one branch-free select (Collatz's odd/even test then mispredicts);
- :func:`defer_loops`: a branch per element keeps LLVM from vectorizing an
  innermost loop (``(a[i] + b[i]) // 2`` on uint8).

Both work on the rewritten AST, before it is compiled.
"""

from __future__ import annotations

import ast
import copy

__all__ = ["hoist", "bound_before", "defer_loops", "HOISTABLE"]

#: the checked ops a check can be hoisted or deferred for (``k``: a Python int operand)
HOISTABLE = frozenset(f"{k}{i}{n}" for n in ("add", "sub", "mul") for k in ("", "k")
                      for i in ("", "i"))
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def hoist(node: ast.If, bound: frozenset[str]) -> list[ast.stmt]:
    """Checks hoisted before ``node`` (an ``if`` in a loop), its arms' ops made
    unchecked for 64-bit ints; [] (``node`` untouched) where that is not sure.

    A checked op in one arm of an ``if`` stops LLVM from making the two arms one
    branch-free select: an odd/even test (Collatz) then mispredicts half the time
    (0.64x of ``numba.njit``). Here each arm's checked ops (``+ - *`` of names
    and constants, the names bound before the ``if`` and not rebound in the arm
    before the op) are evaluated once before the ``if``, for their checks alone;
    the arms then use the ``h`` ops, which wrap for 64-bit ints (the check before
    passed) and keep every other type's checked meaning. The check before the
    ``if`` may replay a call whose arm would not have been taken: the replay is
    still exact, only slower, so tests that order-compare (``if n < LIMIT:``, likely
    a range guard) and tests or arms that call anything are left alone."""
    arms = [node.body, node.orelse]
    if any(isinstance(n, (ast.Call, ast.NamedExpr)) for n in ast.walk(node.test)) or \
            any(isinstance(n, ast.Compare) and any(isinstance(o, _ORDERING) for o in n.ops)
                for n in ast.walk(node.test)):
        return []
    checks: list[ast.stmt] = []
    calls: list[ast.Call] = []
    for arm in arms:
        rebound: set[str] = set()
        for stmt in arm:
            if isinstance(stmt, ast.Pass):
                continue
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and
                    isinstance(stmt.targets[0], ast.Name)):
                return []
            tops = _checked_tops(stmt.value)
            if tops is None:
                return []
            for top in tops:
                names = {n.id for n in ast.walk(top) if isinstance(n, ast.Name)
                         and not n.id.startswith("__ol_")}
                if not names or not names <= bound or names & rebound:
                    return []
                check = _as_check(top)
                checks.append(ast.copy_location(ast.Expr(check), node))
                calls.extend(c for c in ast.walk(top) if isinstance(c, ast.Call))
            rebound.add(stmt.targets[0].id)
    if not checks:
        return []
    for call in calls:
        call.func = ast.Name("__ol_h" + call.func.id[len("__ol_"):], ast.Load())  # type: ignore
    return checks


def _not_inplace(op: str) -> str:
    """``iadd`` → ``add``, ``kiadd`` → ``kadd`` (a check writes nothing)."""
    weak = "k" if op.startswith("k") else ""
    op = op[len(weak):]
    return weak + (op[1:] if op.startswith("i") else op)


def _checked_tops(value: ast.expr) -> list[ast.Call] | None:
    """The outermost checked-op calls in ``value``; None where ``value`` calls
    anything else or a checked op of a kind not hoisted or with other operands."""
    tops: list[ast.Call] = []

    def walk(n: ast.AST, inside: bool) -> bool:
        if isinstance(n, ast.Call):
            name = n.func.id if isinstance(n.func, ast.Name) else ""
            if not name.startswith("__ol_") or name[len("__ol_"):] not in HOISTABLE:
                return False
            if not inside:
                tops.append(n)
            return all(isinstance(a, (ast.Name, ast.Constant)) or walk(a, True)
                       for a in n.args)
        return all(walk(c, inside) for c in ast.iter_child_nodes(n))

    return tops if walk(value, False) else None


def _as_check(call: ast.Call) -> ast.Call:
    """``call`` (a checked-op tree) as its hoisted check: ``__ol_c*`` ops, in-place
    forms as plain ones (nothing is written)."""
    new = copy.deepcopy(call)
    for c in ast.walk(new):
        if isinstance(c, ast.Call):
            op = c.func.id[len("__ol_"):]  # type: ignore[attr-defined]
            c.func = ast.Name("__ol_c" + _not_inplace(op), ast.Load())
    return new


def bound_before(tree: ast.FunctionDef) -> dict[int, frozenset[str]]:
    """For each ``if`` inside a loop: the names surely bound when it starts
    (parameters, enclosing loop targets, names assigned by earlier statements of
    the enclosing blocks)."""
    args = tree.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    found: dict[int, frozenset[str]] = {}

    def block(stmts: list[ast.stmt], bound: set[str], in_loop: bool) -> None:
        bound = set(bound)
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                if in_loop:
                    found[id(stmt)] = frozenset(bound)
                block(stmt.body, bound, in_loop)
                block(stmt.orelse, bound, in_loop)
            elif isinstance(stmt, ast.For):
                targets = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
                block(stmt.body, bound | targets, True)
                block(stmt.orelse, bound, in_loop)
            elif isinstance(stmt, ast.While):
                block(stmt.body, bound, True)
                block(stmt.orelse, bound, in_loop)
            elif isinstance(stmt, (ast.With, ast.Try)):
                block(stmt.body, bound, in_loop)
            elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets_ = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for t in targets_:
                    bound.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.discard(stmt.name)  # not a number

    block(tree.body, params, False)
    return found


#: calls a loop with deferred checks may make besides the ops: none of them can run
#: long or allocate on a wrapped value
_PURE_CALLS = frozenset({"abs", "min", "max", "float", "int", "bool", "len"})
_NOT_IN_DEFERRED = (ast.For, ast.AsyncFor, ast.While, ast.Break, ast.Continue, ast.Return,
                    ast.Raise, ast.Try, ast.With, ast.AsyncWith, ast.Yield, ast.YieldFrom,
                    ast.Await, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef,
                    ast.ClassDef, ast.NamedExpr, ast.Global, ast.Nonlocal, ast.Assert,
                    ast.Delete, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def defer_loops(tree: ast.FunctionDef) -> None:
    """In innermost ``for … in range()`` loops, ``+ - *`` check into a flag, tested
    once after the loop, instead of raising where they stand.

    A branch per element keeps LLVM from vectorizing the loop: ``(a[i] + b[i]) // 2``
    on uint8 arrays ran at 0.22x of ``numba.njit``. Here each op first ORs its
    "leaves the checked meaning" (64 bits, or where NumPy 2 wraps a narrow int) into
    ``__ol_bad<k>`` and then computes wrapping (``__ol_w*``); ``__ol_settle`` after
    the loop replays if any did. Until then a wrapped value can only be stored
    (written arguments are restored before the replay), read through an index that
    is proven (from ranges, sizes, ``%`` and clamps: in range whatever the value) or
    checked (an IndexError replays too), or met by another check: the loop has no
    inner loop, ``break``, ``return`` or call beyond the ops and a few pure
    builtins, so it cannot run long or allocate on a wrapped value."""
    count = 0
    for node in list(ast.walk(tree)):
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if not isinstance(stmts, list):
                continue
            out: list[ast.stmt] = []
            for stmt in stmts:
                if isinstance(stmt, ast.For) and _deferrable(stmt):
                    flag = f"__ol_bad{count}"
                    if _defer_block(stmt.body, flag):
                        count += 1
                        out.append(ast.copy_location(
                            ast.Assign([ast.Name(flag, ast.Store())], ast.Constant(False)),
                            stmt))
                        out.append(stmt)
                        out.append(ast.copy_location(ast.Expr(ast.Call(
                            ast.Name("__ol_settle", ast.Load()),
                            [ast.Name(flag, ast.Load())], [])), stmt))
                        continue
                out.append(stmt)
            setattr(node, field, out)


def _deferrable(loop: ast.For) -> bool:
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and
            it.func.id == "range") or loop.orelse:
        return False
    for node in ast.walk(ast.Module(loop.body, [])):
        if isinstance(node, _NOT_IN_DEFERRED):
            return False
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if not (name.startswith("__ol_") or name in _PURE_CALLS):
                return False
    return True


def _defer_block(stmts: list[ast.stmt], flag: str, temps: list[int] | None = None) -> bool:
    """Put the flag updates before each statement of ``stmts``; True when any op was
    deferred. Left checked where they stand, since a flag costs there what a branch
    does and vectorizes nothing: the ops in an ``if``'s arms (a histogram's
    ``counts[k] += 1``: 0.70x of ``numba.njit`` deferred) and an accumulator's
    statement (``s += x[i]``, ``h = (h * 31 + x[i]) % m``: a loop-carried chain).
    Each deferred op becomes a temporary (``__ol_t<k> = __ol_wadd(a, b)``) after its
    flag update, so that no operand is evaluated twice; operands that are not plain
    names or constants become temporaries first. The order of evaluation may change: in these loops
    every failure (a check, an index) replays, whichever comes first."""
    temps = [0] if temps is None else temps
    found = False
    out: list[ast.stmt] = []
    loaded: set[str] = set()  # names read by the statements before
    for stmt in stmts:
        reads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Load)}
        lifter = _Lifter(flag, temps, stmt)
        if isinstance(stmt, ast.If):  # the test only: an arm keeps its own checks
            stmt.test = lifter.visit(stmt.test)
        elif not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                  and stmt.targets[0].id in loaded | reads):  # not an accumulator
            lifter.visit(stmt)
        loaded |= reads
        out.extend(lifter.emitted)
        found = found or bool(lifter.emitted)
        out.append(stmt)
    stmts[:] = out
    return found


class _Lifter(ast.NodeTransformer):
    """Replaces the deferred ops of one statement by temporaries (see _defer_block)."""

    def __init__(self, flag: str, temps: list[int], where: ast.stmt):
        self.flag = flag
        self.temps = temps
        self.where = where
        self.emitted: list[ast.stmt] = []

    def _temp(self, value: ast.expr) -> ast.Name:
        name = f"__ol_t{self.temps[0]}"
        self.temps[0] += 1
        self.emitted.append(ast.copy_location(
            ast.Assign([ast.Name(name, ast.Store())], value), self.where))
        return ast.Name(name, ast.Load())

    def visit_If(self, node: ast.If) -> ast.AST:
        return node  # an if nested in a statement list: _defer_block handles it

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not _is_deferred(node):
            return self.generic_visit(node)
        args = []
        for arg in node.args:
            arg = self.visit(arg)
            args.append(arg if _simple(arg) else self._temp(arg))
        op = node.func.id[len("__ol_"):]  # type: ignore[attr-defined]
        check = ast.Call(ast.Name("__ol_f" + _not_inplace(op), ast.Load()), args, [])
        update = ast.BinOp(ast.Name(self.flag, ast.Load()), ast.BitOr(), check)
        self.emitted.append(ast.copy_location(
            ast.Assign([ast.Name(self.flag, ast.Store())], update), self.where))
        return self._temp(ast.Call(ast.Name("__ol_w" + op, ast.Load()),
                                   [copy.deepcopy(a) for a in args], []))


def _simple(node: ast.expr) -> bool:
    """A name or a constant: read twice, the same value at no cost (a subscript
    becomes a temporary: read once, bounds checked once)."""
    return isinstance(node, (ast.Name, ast.Constant))


def _is_deferred(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id.startswith("__ol_") and node.func.id[len("__ol_"):] in HOISTABLE
