"""Is a loop (or a nest of two) an *elementwise kernel*: every iteration writes
elements of its own index, accumulates into scalars, or both, with no dependency
between iterations? If so, :func:`build_kernel` returns its parts; if not, it
raises :class:`NotElementwise` with the reason (a recurrence, a ``break``,
``out[i + 1]``...).
"""

from __future__ import annotations

import ast
import copy
import dataclasses

from .exprs import Classifier, ExprInfo, LoopContext, NotElementwise, Ref
from .names import Names

__all__ = ["Kernel", "Cond", "Temp", "Write", "Reduce", "Guard", "build_kernel",
           "disjoint", "NotElementwise"]

#: Where a statement runs: ((if-chain id, branch), ...) from the outermost if inwards.
Guard = tuple[tuple[int, int], ...]

_REASONS = {
    ast.Break: "leaves the loop early with break",
    ast.Continue: "skips iterations with continue",
    ast.Return: "returns from inside the loop",
    ast.Raise: "raises from inside the loop",
    ast.While: "contains a while loop",
    ast.For: "contains a nested loop",
    ast.Try: "contains try/except",
    ast.With: "contains a with block",
    ast.Assert: "contains an assert",
    ast.Delete: "deletes names",
    ast.Global: "declares globals",
    ast.Nonlocal: "declares nonlocals",
}


@dataclasses.dataclass
class Cond:
    """An ``if``/``elif``/``else`` chain (or a ``a if c else b`` value)."""

    id: int
    tests: list[ast.expr]
    infos: list[ExprInfo]
    has_else: bool
    guard: Guard
    line: int


@dataclasses.dataclass
class Temp:
    name: str
    value: ast.expr
    info: ExprInfo
    synthetic: bool = False  # bound by the loop itself: enumerate's value, zip's items


@dataclasses.dataclass
class Write:
    ref: Ref
    value: ast.expr
    info: ExprInfo
    guard: Guard
    line: int


@dataclasses.dataclass
class Reduce:
    acc: str
    op: str  # "+", "*", "max", "min"
    negate: bool
    value: ast.expr
    info: ExprInfo
    guard: Guard
    line: int


@dataclasses.dataclass
class Kernel:
    """An elementwise loop nest, ready for a suggestion and a rewrite."""

    loop: ast.For
    vars: tuple[str, ...]  # one per nesting level, outer first (hidden ones start _ol_)
    extents: tuple[ast.expr, ...]  # an expression for each level's trip count
    bounds: tuple[ast.expr, ...]  # range's stop, or len(the iterated array), for suggestions
    temps: list[Temp]
    writes: list[Write]
    reduces: list[Reduce]
    conds: list[Cond]

    @property
    def depth(self) -> int:
        return len(self.vars)

    @property
    def rule(self) -> str:
        if self.depth > 1:
            return "OL106"
        if any(w.guard for w in self.writes):
            return "OL102"
        if self.reduces:
            return "OL103"
        return "OL101"

    def infos(self) -> list[ExprInfo]:
        return ([t.info for t in self.temps] + [w.info for w in self.writes]
                + [r.info for r in self.reduces] + [i for c in self.conds for i in c.infos])

    @property
    def blocked(self) -> str:
        """Why level 1 cannot run this kernel itself ('' when it can)."""
        for reduce in self.reduces:
            if reduce.op in ("max", "min"):
                return (f"{reduce.op}() keeps its first argument when the other is NaN, "
                        f"unlike np.{reduce.op}")
        for info in self.infos():
            if info.blocked:
                return info.blocked
        return ""


def disjoint(a: Guard, b: Guard) -> bool:
    """True when no iteration runs both guards: different branches of one chain."""
    branches = dict(a)
    return any(cond in branches and branches[cond] != branch for cond, branch in b)


# -- the loop header -------------------------------------------------------------------

@dataclasses.dataclass
class _Level:
    var: str
    extent: ast.expr
    bound: ast.expr
    temps: list[tuple[str, ast.expr]]  # names the header binds to elements
    names: set[str]  # names the header reads


def _level(loop: ast.For, depth: int, names: Names) -> _Level:
    if loop.orelse:
        raise NotElementwise("has an else: block")
    it, target = loop.iter, loop.target
    hidden = f"_ol_k{depth}"
    read = {n.id for n in ast.walk(it) if isinstance(n, ast.Name)}
    if isinstance(it, ast.Call) and not it.keywords and isinstance(it.func, ast.Name):
        func = names.dotted(it.func)
        if func == "builtins.range" and isinstance(target, ast.Name) and _plain_range(it):
            bound = it.args[-1]
            extent = ast.Call(ast.Name("len", ast.Load()), [copy.deepcopy(it)], [])
            return _Level(target.id, extent, bound, [], read)
        if func == "builtins.enumerate" and len(it.args) == 1 \
                and isinstance(it.args[0], ast.Name) and _names(target, 2):
            arr = it.args[0]
            index, item = (t.id for t in target.elts)  # type: ignore[attr-defined]
            return _Level(index, _len(arr), _len(arr), [(item, _element(arr.id, index))],
                          read)
        if func == "builtins.zip" and it.args and all(isinstance(a, ast.Name)
                                                      for a in it.args) \
                and _names(target, len(it.args)):
            items: list[tuple[str, ast.expr]] = [
                (t.id, _element(a.id, hidden))  # type: ignore[attr-defined]
                     for t, a in zip(target.elts, it.args)]  # type: ignore[attr-defined]
            return _Level(hidden, _len(it.args[0]), _len(it.args[0]), items, read)
    if isinstance(it, ast.Name) and isinstance(target, ast.Name):
        return _Level(hidden, _len(it), _len(it), [(target.id, _element(it.id, hidden))],
                      read)
    raise NotElementwise(f"iterates over `{ast.unparse(it)}`, not range(n) or an array")


def _plain_range(call: ast.Call) -> bool:
    if len(call.args) == 1:
        return True
    start = call.args[0]
    return len(call.args) == 2 and isinstance(start, ast.Constant) and start.value == 0


def _names(target: ast.expr, count: int) -> bool:
    return isinstance(target, ast.Tuple) and len(target.elts) == count and all(
        isinstance(t, ast.Name) for t in target.elts)


def _len(node: ast.expr) -> ast.expr:
    return ast.Call(ast.Name("len", ast.Load()), [copy.deepcopy(node)], [])


def _element(array: str, var: str) -> ast.Subscript:
    return ast.Subscript(ast.Name(array, ast.Load()), ast.Name(var, ast.Load()), ast.Load())


def _nest(loop: ast.For, names: Names) -> tuple[list[_Level], list[ast.stmt]]:
    levels = [_level(loop, 0, names)]
    body = loop.body
    while len(body) == 1 and isinstance(body[0], ast.For):
        if len(levels) == 2:
            raise NotElementwise("has three or more nested loops")
        inner = _level(body[0], len(levels), names)
        outer_names = {lv.var for lv in levels} | {t for lv in levels for t, _ in lv.temps}
        if inner.names & outer_names:
            raise NotElementwise("its inner loop's length depends on the outer loop")
        levels.append(inner)
        body = body[0].body
    return levels, body


# -- the body ----------------------------------------------------------------------------

def build_kernel(loop: ast.For, names: Names) -> Kernel:
    """The elementwise kernel of ``loop``, or :class:`NotElementwise` with the reason."""
    levels, body = _nest(loop, names)
    header_temps = [t for lv in levels for t in lv.temps]
    shapes = _Shapes()
    shapes.scan(body, ())
    vars_ = tuple(lv.var for lv in levels)
    assigned = shapes.assigned | set(vars_) | {name for name, _ in header_temps}
    ctx = LoopContext(vars_, names, frozenset(shapes.temps | {n for n, _ in header_temps}),
                      frozenset(shapes.accs), frozenset(shapes.written), frozenset(assigned),
                      shapes.write_slices)
    builder = _Builder(Classifier(ctx), set(vars_))
    for name, value in header_temps:
        builder.temp(name, value, synthetic=True)
    builder.block(body, ())
    kernel = Kernel(loop, vars_, tuple(lv.extent for lv in levels),
                    tuple(lv.bound for lv in levels), builder.temps, builder.writes,
                    builder.reduces, builder.conds)
    _check(kernel)
    return kernel


class _Shapes:
    """First pass: which names are temporaries, accumulators and written arrays."""

    def __init__(self) -> None:
        self.temps: set[str] = set()
        self.accs: set[str] = set()
        self.written: set[str] = set()
        self.write_slices: dict[str, str] = {}
        self.assigned: set[str] = set()

    def scan(self, body: list[ast.stmt], guard: Guard) -> None:
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    self.assigned.add(node.id)
            if isinstance(stmt, ast.If):
                self.scan(stmt.body, guard + ((0, 0),))
                self.scan(stmt.orelse, guard + ((0, 1),))
                continue
            acc = _reduction(stmt)
            if acc is not None:
                self.accs.add(acc[0])
            elif isinstance(stmt, (ast.Assign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        self.written.add(target.value.id)
                        self.write_slices.setdefault(target.value.id,
                                                     ast.unparse(target.slice))
                    elif isinstance(target, ast.Name):
                        self.temps.add(target.id)


def _reduction(stmt: ast.stmt) -> tuple[str, str, bool, ast.expr] | None:
    """``s += e``, ``s -= e``, ``s *= e``, ``s = s + e``, ``s = e * s``, ``s = max(s, e)``
    → (s, op, negate, e)."""
    ops = {ast.Add: ("+", False), ast.Sub: ("+", True), ast.Mult: ("*", False)}
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) \
            and type(stmt.op) in ops:
        op, neg = ops[type(stmt.op)]
        return stmt.target.id, op, neg, stmt.value
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)):
        return None
    name, value = stmt.targets[0].id, stmt.value
    if isinstance(value, ast.BinOp) and type(value.op) in ops:
        op, neg = ops[type(value.op)]
        if _is_name(value.left, name) and not _mentions(value.right, name):
            return name, op, neg, value.right
        if not neg and _is_name(value.right, name) and not _mentions(value.left, name):
            return name, op, neg, value.left
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
            and value.func.id in ("max", "min") and len(value.args) == 2 \
            and not value.keywords:
        first, second = value.args
        if _is_name(first, name) and not _mentions(second, name):
            return name, value.func.id, False, second
        if _is_name(second, name) and not _mentions(first, name):
            return name, value.func.id, False, first
    return None


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _mentions(node: ast.expr, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


class _Builder:
    """Second pass: the kernel's statements, each with its guard, classified."""

    def __init__(self, classifier: Classifier, defined: set[str]):
        self.cls = classifier
        self.defined = set(defined)  # names whose current-iteration value exists so far
        self.temps: list[Temp] = []
        self.writes: list[Write] = []
        self.reduces: list[Reduce] = []
        self.conds: list[Cond] = []

    def temp(self, name: str, value: ast.expr, synthetic: bool = False) -> None:
        if name in self.defined:
            raise NotElementwise(f"assigns {name} twice in one iteration")
        info = self._defined_before(self.cls.value(value), f"the value of {name}")
        self.temps.append(Temp(name, value, info, synthetic))
        self.defined.add(name)

    def _defined_before(self, info: ExprInfo, what: str) -> ExprInfo:
        late = info.temps - self.defined
        if late:
            name = sorted(late)[0]
            raise NotElementwise(f"{what} reads {name} before the iteration assigns it: "
                                 "the previous iteration's value (a recurrence)")
        return info

    def block(self, body: list[ast.stmt], guard: Guard) -> None:
        for stmt in body:
            self.statement(stmt, guard)

    def statement(self, stmt: ast.stmt, guard: Guard) -> None:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr)
                                          and isinstance(stmt.value, ast.Constant)):
            return
        if isinstance(stmt, ast.If):
            return self._if(stmt, guard)
        found = _reduction(stmt)
        if found is not None:
            return self._reduce(stmt, found, guard)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Subscript):
                return self._write(target, stmt.value, guard, stmt.lineno)
            if isinstance(target, ast.Name):
                if guard:
                    raise NotElementwise(f"assigns {target.id} inside an if: when the branch "
                                         "is not taken it keeps an earlier iteration's value")
                return self.temp(target.id, stmt.value)
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Subscript):
            load = copy.deepcopy(stmt.target)
            load.ctx = ast.Load()
            value = ast.BinOp(load, stmt.op, stmt.value)
            return self._write(stmt.target, value, guard, stmt.lineno)
        reason = _REASONS.get(type(stmt))
        if reason is None and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            reason = f"calls {ast.unparse(stmt.value.func)}() for its effect"
        raise NotElementwise(reason or f"contains `{ast.unparse(stmt).splitlines()[0]}`")

    def _if(self, stmt: ast.If, guard: Guard) -> None:
        tests, bodies = [stmt.test], [stmt.body]
        orelse = stmt.orelse
        while len(orelse) == 1 and isinstance(orelse[0], ast.If):  # elif
            tests.append(orelse[0].test)
            bodies.append(orelse[0].body)
            orelse = orelse[0].orelse
        cond = self._cond(tests, bool(orelse), guard, stmt.lineno)
        for branch, body in enumerate(bodies + ([orelse] if orelse else [])):
            self.block(body, guard + ((cond.id, branch),))

    def _cond(self, tests: list[ast.expr], has_else: bool, guard: Guard, line: int) -> Cond:
        infos = [self._defined_before(self.cls.condition(t), "the condition") for t in tests]
        cond = Cond(len(self.conds), tests, infos, has_else, guard, line)
        self.conds.append(cond)
        return cond

    def _branches(self, value: ast.expr) -> tuple[list[ast.expr], list[ast.expr]]:
        """``a if c else (b if d else e)`` → tests [c, d], values [a, b, e]."""
        tests, values = [], []
        while isinstance(value, ast.IfExp):
            tests.append(value.test)
            values.append(value.body)
            value = value.orelse
        return tests, values + [value]

    def _write(self, target: ast.Subscript, value: ast.expr, guard: Guard, line: int) -> None:
        ref = self._target(target)
        tests, values = self._branches(value)
        if tests:
            cond = self._cond(tests, True, guard, line)
            for branch, item in enumerate(values):
                self._write_one(ref, item, guard + ((cond.id, branch),), line)
        else:
            self._write_one(ref, value, guard, line)

    def _write_one(self, ref: Ref, value: ast.expr, guard: Guard, line: int) -> None:
        info = self._defined_before(self.cls.value(value, own_target=ref.key),
                                    f"the value written to {ref.base}")
        self.writes.append(Write(ref, value, info, guard, line))
        self.cls.done.add(ref.base)

    def _target(self, target: ast.Subscript) -> Ref:
        if not isinstance(target.value, ast.Name):
            raise NotElementwise(f"writes into `{ast.unparse(target.value)}`")
        ctx = self.cls.ctx
        probe = LoopContext(ctx.vars, ctx.names, ctx.temps, ctx.accs, frozenset(),
                            ctx.assigned - {target.value.id})
        info = Classifier(probe).value(_as_load(target))
        if len(info.refs) != 1:
            raise NotElementwise(f"writes {ast.unparse(target)}, an element that is the "
                                 "same on every iteration")
        ref = info.refs[0]
        if len(ref.positions) != len(ctx.vars):
            raise NotElementwise(f"writes {ast.unparse(target)}, which does not name one "
                                 "element per iteration")
        return ref

    def _reduce(self, stmt: ast.stmt, found: tuple[str, str, bool, ast.expr],
                guard: Guard) -> None:
        acc, op, negate, value = found
        if acc in self.defined:
            raise NotElementwise(f"uses {acc} both as a temporary and an accumulator")
        tests, values = self._branches(value)
        if tests and op in ("+", "*"):
            cond = self._cond(tests, True, guard, stmt.lineno)
            for branch, item in enumerate(values):
                self._reduce_one(acc, op, negate, item, guard + ((cond.id, branch),),
                                 stmt.lineno)
        else:
            self._reduce_one(acc, op, negate, value, guard, stmt.lineno)

    def _reduce_one(self, acc: str, op: str, negate: bool, value: ast.expr, guard: Guard,
                    line: int) -> None:
        info = self._defined_before(self.cls.value(value), f"the term added to {acc}")
        self.reduces.append(Reduce(acc, op, negate, value, info, guard, line))


def _as_load(node: ast.Subscript) -> ast.Subscript:
    load = copy.deepcopy(node)
    load.ctx = ast.Load()
    return load


def _check(kernel: Kernel) -> None:
    """What the statements allow only together: one writer per element, one kind of
    accumulation per accumulator, and something kept at all."""
    if not kernel.writes and not kernel.reduces:
        raise NotElementwise("keeps nothing it computes (no element written, nothing "
                             "accumulated)")
    by_base: dict[str, list[Write]] = {}
    for write in kernel.writes:
        by_base.setdefault(write.ref.base, []).append(write)
    for base, writes in by_base.items():
        if len({w.ref.key for w in writes}) > 1:
            raise NotElementwise(f"writes {base} at two different places per iteration")
        for i, a in enumerate(writes):
            for b in writes[i + 1:]:
                if not disjoint(a.guard, b.guard):
                    raise NotElementwise(f"writes {base}[...] twice in one iteration")
    families: dict[str, set[str]] = {}
    for reduce in kernel.reduces:
        families.setdefault(reduce.acc, set()).add(reduce.op)
    for acc, ops in families.items():
        if len(ops) > 1:
            raise NotElementwise(f"updates {acc} with both {' and '.join(sorted(ops))}")
