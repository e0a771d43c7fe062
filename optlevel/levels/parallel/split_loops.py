"""Loop proofs for level 3: independent iterations (``prange``) and row loops.

Both are conservative: a construct not understood is "no proof", with its line.

* :func:`prove_loops`: each top-level ``for i in range(...)`` whose iterations are
  independent: every array it writes is written (and read) only at ``[i, ...]``;
  every other name it assigns is either fresh in each iteration (assigned before
  it is read) or a scalar reduction (``s += e``, ``s -= e``, ``s *= e``,
  ``s = min(s, e)``, ``s = max(s, e)``) not read otherwise in the loop. Such a
  loop may run as Numba ``prange``.
* :func:`prove_row_loop`: the whole function is a row loop, so it may run on row
  ranges of its split parameters and the results be joined:
  ``for i in range(len(a))`` reads only row ``i`` of the split parameters, writes
  only row ``i`` of one output created with ``len(a)`` rows, and uses ``i`` only
  as that first index (a piece starts counting at 0).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from ...analysis.scope import Namespace
from .split import LoopProof, NoProof, SplitInfo, SplitProof

__all__ = ["prove_loops", "prove_row_loop"]

_CREATION = frozenset({"zeros", "empty", "ones", "full"})
_CREATION_LIKE = frozenset({"zeros_like", "empty_like", "ones_like", "full_like", "copy"})
_MUTATING_METHODS = frozenset({"fill", "sort", "resize", "put", "itemset", "partition",
                               "setfield", "setflags", "append", "extend", "insert", "pop",
                               "remove", "clear", "update", "add", "discard", "setdefault",
                               "popitem"})
_MUTATING_NUMPY = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal",
                             "put_along_axis"})
_PURE_MODULES = ("numpy", "math", "cmath", "builtins")
_FORBIDDEN = (ast.Return, ast.Raise, ast.Try, ast.With, ast.AsyncWith, ast.Global,
              ast.Nonlocal, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
              ast.Yield, ast.YieldFrom, ast.Await, ast.Delete, ast.Assert)


# --- shared helpers ------------------------------------------------------------------

def _parents(root: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}


def _assigned(stmts: Iterable[ast.stmt]) -> set[str]:
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


def _loads(node: ast.AST) -> list[ast.Name]:
    """Names read in an expression or statement header, outside comprehension scopes."""
    skip = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.comprehension):
            skip |= {n.id for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
    return [n for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n.id not in skip]


def _carried(stmts: list[ast.stmt], tracked: set[str], defined: set[str]) -> ast.Name | None:
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
        for name in _loads(node):
            if name.id in tracked and name.id not in defined:
                return name
    return None


def _carried_stmt(stmt: ast.stmt, tracked: set[str], defined: set[str]) -> ast.Name | None:
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        found = _first_undefined([stmt.iter], tracked, defined)
        inner = defined | {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
        return found or _carried(stmt.body, tracked, set(inner)) or \
            _carried(stmt.orelse, tracked, set(defined))
    if isinstance(stmt, ast.While):
        return _first_undefined([stmt.test], tracked, defined) or \
            _carried(stmt.body, tracked, set(defined)) or \
            _carried(stmt.orelse, tracked, set(defined))
    if isinstance(stmt, ast.If):
        found = _first_undefined([stmt.test], tracked, defined)
        left, right = set(defined), set(defined)
        found = found or _carried(stmt.body, tracked, left) or \
            _carried(stmt.orelse, tracked, right)
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
    defined |= _assigned([stmt])
    return found


def _range_args(loop: ast.For, ns: Namespace, local: set[str]) -> list[ast.expr] | None:
    """The arguments of ``range(stop)`` / ``range(start, stop)``; None for other iterators."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
            and it.func.id == "range" and it.func.id not in local and not it.keywords):
        return None
    found, value = ns.lookup("range")
    if not found or value is not range:
        return None
    return list(it.args) if 1 <= len(it.args) <= 2 else None


def _first_index(sub: ast.Subscript) -> ast.expr:
    index = sub.slice
    return index.elts[0] if isinstance(index, ast.Tuple) and index.elts else index


def _base_name(node: ast.expr) -> tuple[ast.Name | None, ast.Subscript | None]:
    """For ``a[i][j]`` → (``a``, the innermost subscript ``a[i]``)."""
    inner = None
    while isinstance(node, ast.Subscript):
        inner = node
        node = node.value
    return (node if isinstance(node, ast.Name) else None), inner


def _is_var(node: ast.expr, var: str) -> bool:
    return isinstance(node, ast.Name) and node.id == var


def _store_targets(body: list[ast.stmt]) -> list[ast.expr]:
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


def _check_body_statements(loop: ast.For) -> None:
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


def _check_calls(loop: ast.For, ns: Namespace, shared: set[str]) -> None:
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
            if dotted.rsplit(".", 1)[-1] in _MUTATING_NUMPY:
                raise NoProof(line, f"{dotted}() writes an array")
            continue
        for arg in list(node.args) + [kw.value for kw in node.keywords]:
            if isinstance(arg, ast.Name) and arg.id in shared:
                raise NoProof(line, f"passes {arg.id!r} whole to {ast.unparse(func)}(), "
                                    "which might write it")


# --- prange ------------------------------------------------------------------------

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
    everywhere = _assigned(tree.body) | set(params)
    args = _range_args(loop, ns, everywhere)
    if args is None or not isinstance(loop.target, ast.Name) or loop.orelse:
        raise NoProof(line, "not a `for i in range(...)` loop")
    if len(args) == 2 and not (isinstance(args[0], ast.Constant)
                               and type(args[0].value) is int and args[0].value >= 0):
        raise NoProof(line, "range() starts at a value not known to be ≥ 0")
    var = loop.target.id
    _check_body_statements(loop)
    assigned = _assigned(loop.body)
    if var in assigned:
        raise NoProof(line, f"the loop assigns its index {var!r}")
    writes = _written_arrays(loop, var)
    _check_written(loop, tree, index, var, writes, params, assigned)
    reductions = _reductions(loop, tree, index, params, assigned)
    private = assigned - set(reductions)
    carried = _carried(loop.body, private, set())
    if carried is not None:
        raise NoProof(carried.lineno, f"{carried.id!r} carries a value from one iteration "
                                      "to the next")
    after = _carried(tree.body[index + 1:], private | {var}, set())
    if after is not None:
        raise NoProof(after.lineno, f"{after.id!r} is read after the loop")
    shared = (set(params) | _assigned(tree.body[:index])) - assigned
    _check_calls(loop, ns, shared)
    return LoopProof(line, var, tuple(sorted(writes)),
                     tuple(sorted(w for w in writes if w in params)),
                     tuple(sorted(reductions.items())))


def _written_arrays(loop: ast.For, var: str) -> set[str]:
    writes: set[str] = set()
    for target in _store_targets(loop.body):
        if isinstance(target, ast.Name):
            continue
        base, inner = _base_name(target)
        if base is None or inner is None:
            raise NoProof(target.lineno, f"writes {ast.unparse(target)}")
        if not _is_var(_first_index(inner), var):
            raise NoProof(target.lineno, f"writes {ast.unparse(target)}, not at "
                                         f"[{var}, ...]")
        writes.add(base.id)
    return writes


def _check_written(loop: ast.For, tree: ast.FunctionDef, index: int, var: str,
                   writes: set[str], params: tuple[str, ...], assigned: set[str]) -> None:
    """Every use of a written array in the loop is at ``[var, ...]``; a local one is a
    fresh array (its own memory), so no other name can see the writes."""
    parents = _parents(loop)
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and node.id in writes and node is not loop.target:
            parent = parents.get(node)
            if not (isinstance(parent, ast.Subscript) and parent.value is node
                    and _is_var(_first_index(parent), var)):
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
             and name in _assigned([s])]
    if len(binds) != 1 or binds[0] not in tree.body[:index]:
        return False
    stmt = binds[0]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    leaf = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return leaf in _CREATION or leaf in _CREATION_LIKE


def _reductions(loop: ast.For, tree: ast.FunctionDef, index: int, params: tuple[str, ...],
                assigned: set[str]) -> dict[str, str]:
    """Scalar names the loop only accumulates into, with their operator."""
    before = _assigned(tree.body[:index]) | set(params)
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
        if isinstance(node, ast.AugAssign) and _is_var(node.target, name):
            op = aug_ops.get(type(node.op))
            if op is None or name in {n.id for n in _loads(node.value)}:
                return None
            ops.add(op)
            update_nodes.add(node.target)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and _is_var(node.targets[0], name):
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
    own, other = (a, b) if _is_var(a, name) else (b, a)
    if not _is_var(own, name) or name in {n.id for n in _loads(other)}:
        return None, value
    return value.func.id, own


# --- row loops ---------------------------------------------------------------------

def prove_row_loop(tree: ast.FunctionDef, params: tuple[str, ...], ns: Namespace) -> SplitInfo:
    """Is ``tree`` one row loop over its split parameters? Never raises."""
    try:
        return _RowLoop(tree, params, ns).prove()
    except NoProof as exc:
        return SplitInfo(reason=str(exc))


class _RowLoop:
    def __init__(self, tree: ast.FunctionDef, params: tuple[str, ...], ns: Namespace):
        self.tree, self.params, self.ns = tree, params, ns
        self.rowlen: dict[str, str] = {}  # name → the parameter whose length it is
        self.outs: dict[str, str] = {}  # output array → the parameter it has the rows of
        self.prelude: list[ast.stmt] = []

    def prove(self) -> SplitInfo:
        body = [s for s in self.tree.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        loops = [i for i, s in enumerate(body) if isinstance(s, (ast.For, ast.While))]
        if len(loops) != 1 or not isinstance(body[loops[0]], ast.For):
            raise NoProof(self.tree.lineno, "not a single top-level `for` loop")
        loop = body[loops[0]]
        assert isinstance(loop, ast.For)
        self.prelude, rest = body[:loops[0]], body[loops[0] + 1:]
        for stmt in self.prelude:
            self._prelude(stmt)
        var, length_of = self._loop_header(loop)
        split = self._split_params(loop, var) | {length_of}
        self._check_loop(loop, var, split)
        self._check_prelude(split)
        output, returned = self._check_return(rest, split, loop)
        reason = f"row loop: iteration {var!r} reads and writes only row {var}"
        proofs = {p: SplitProof(p, 0, reason) if p in split else
                  SplitProof(p, None, f"read whole by every row (line {loop.lineno})")
                  for p in self.params}
        return SplitInfo(params=proofs, kind="row loop", output=output, reason=reason,
                         returns_param=returned, ops=1)

    def _prelude(self, stmt: ast.stmt) -> None:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            raise NoProof(stmt.lineno, "only assignments may come before the row loop")
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            if isinstance(value, ast.Attribute) and value.attr == "shape" \
                    and isinstance(value.value, ast.Name) and value.value.id in self.params:
                first = target.elts[0]
                assert isinstance(first, ast.Name)
                self.rowlen[first.id] = value.value.id
            return
        if not isinstance(target, ast.Name):
            raise NoProof(stmt.lineno, f"assigns to {ast.unparse(target)} before the loop")
        of = self._length_of(value)
        if of is not None:
            self.rowlen[target.id] = of
            return
        of = self._creation_rows(value)
        if of is not None:
            self.outs[target.id] = of

    def _length_of(self, node: ast.expr) -> str | None:
        """``len(p)``, ``p.shape[0]`` or a name bound to one → ``p``."""
        if isinstance(node, ast.Name):
            return self.rowlen.get(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "len" and len(node.args) == 1 \
                and isinstance(node.args[0], ast.Name) and node.args[0].id in self.params:
            return node.args[0].id
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "shape" and isinstance(node.value.value, ast.Name) \
                and node.value.value.id in self.params and isinstance(node.slice, ast.Constant) \
                and node.slice.value == 0:
            return node.value.value.id
        return None

    def _creation_rows(self, node: ast.expr) -> str | None:
        """``np.zeros((n, p))``, ``np.empty(n)``, ``np.zeros_like(a)`` → whose rows it has."""
        if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Name, ast.Attribute)):
            return None
        dotted = self.ns.dotted(node.func) or ""
        root, _, leaf = dotted.rpartition(".")
        if root != "numpy" or not node.args:
            return None
        first = node.args[0]
        if leaf in ("zeros_like", "empty_like", "ones_like", "full_like"):
            return first.id if isinstance(first, ast.Name) and first.id in self.params else None
        if leaf not in _CREATION:
            return None
        lead = first.elts[0] if isinstance(first, ast.Tuple) and first.elts else first
        return self._length_of(lead)

    def _loop_header(self, loop: ast.For) -> tuple[str, str]:
        args = _range_args(loop, self.ns, set(self.params) | _assigned(self.tree.body))
        if args is None or not isinstance(loop.target, ast.Name) or loop.orelse:
            raise NoProof(loop.lineno, "not a `for i in range(len(a))` loop")
        if len(args) == 2 and not (isinstance(args[0], ast.Constant) and args[0].value == 0):
            raise NoProof(loop.lineno, "range() does not start at 0")
        of = self._length_of(args[-1])
        if of is None:
            raise NoProof(loop.lineno, "range() does not run over the rows of a parameter")
        return loop.target.id, of

    def _split_params(self, loop: ast.For, var: str) -> set[str]:
        found = set()
        parents = _parents(loop)
        for node in ast.walk(loop):
            if isinstance(node, ast.Name) and node.id in self.params:
                parent = parents.get(node)
                if isinstance(parent, ast.Subscript) and parent.value is node \
                        and _is_var(_first_index(parent), var):
                    found.add(node.id)
        return found

    def _check_loop(self, loop: ast.For, var: str, split: set[str]) -> None:
        _check_body_statements(loop)
        rowed = split | set(self.outs)
        parents = _parents(loop)
        for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
            if not isinstance(node, ast.Name):
                continue
            parent = parents.get(node)
            if node.id in self.rowlen:
                raise NoProof(node.lineno, f"uses the row count {node.id!r} inside the loop")
            if node.id == var:
                grand = parents.get(parent) if isinstance(parent, ast.Tuple) else parent
                if not (isinstance(grand, ast.Subscript) and _first_index(grand) is node
                        and isinstance(grand.value, ast.Name) and grand.value.id in rowed):
                    raise NoProof(node.lineno, f"uses {var!r} other than as the row of "
                                               "a split array")
            elif node.id in rowed and not (isinstance(parent, ast.Subscript)
                                           and parent.value is node
                                           and _is_var(_first_index(parent), var)):
                raise NoProof(node.lineno, f"uses {node.id!r} other than at row {var}")
        assigned = _assigned(loop.body)
        if assigned & (set(self.params) | set(self.prelude_names()) | {var}):
            clash = sorted(assigned & (set(self.params) | self.prelude_names() | {var}))
            raise NoProof(loop.lineno, f"the loop rebinds {', '.join(clash)}")
        carried = _carried(loop.body, assigned, set())
        if carried is not None:
            raise NoProof(carried.lineno, f"{carried.id!r} carries a value from one row "
                                          "to the next")
        for target in _store_targets(loop.body):
            base, _ = _base_name(target)
            if isinstance(target, ast.Name) or (base is not None and
                                                (base.id in rowed or base.id in assigned)):
                continue
            raise NoProof(target.lineno, f"writes {ast.unparse(target)}, which is shared "
                                         "by every row")
        shared = (set(self.params) - split) | (self.prelude_names() - set(self.outs))
        _check_calls(loop, self.ns, shared)

    def prelude_names(self) -> set[str]:
        return _assigned(self.prelude)

    def _check_prelude(self, split: set[str]) -> None:
        """Before the loop, split parameters appear only in row counts and outputs."""
        for stmt in self.prelude:
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else None
            names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} \
                if target is not None else set()
            if names & (set(self.rowlen) | set(self.outs)):
                if isinstance(target, ast.Name) and target.id in self.outs:
                    self._check_out_shape(stmt, split)
                continue
            for node in _loads(stmt):
                if node.id in split:
                    raise NoProof(node.lineno, f"uses split parameter {node.id!r} before "
                                               "the loop")
                if node.id in self.rowlen:
                    raise NoProof(node.lineno, f"uses the row count {node.id!r} before "
                                               "the loop")
        for out, of in self.outs.items():
            if of not in split:
                raise NoProof(self.tree.lineno, f"{out!r} has the rows of {of!r}, which "
                                                "is not split")

    def _check_out_shape(self, stmt: ast.stmt, split: set[str]) -> None:
        assert isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
        call = stmt.value
        rest = list(call.args[1:]) + [kw.value for kw in call.keywords]
        first = call.args[0]
        if isinstance(first, ast.Tuple):
            rest += first.elts[1:]
        for node in rest:
            for name in _loads(node):
                if name.id in split or name.id in self.rowlen:
                    raise NoProof(stmt.lineno, f"the output's shape or fill uses {name.id!r}")

    def _check_return(self, rest: list[ast.stmt], split: set[str],
                      loop: ast.For) -> tuple[str, str | None]:
        if not rest or (len(rest) == 1 and isinstance(rest[0], ast.Return)
                        and (rest[0].value is None or (isinstance(rest[0].value, ast.Constant)
                                                       and rest[0].value.value is None))):
            bases = [_base_name(t)[0] for t in _store_targets(loop.body)
                     if isinstance(t, ast.Subscript)]
            if not any(b is not None and b.id in split for b in bases):
                raise NoProof(loop.lineno, "returns None and writes no split parameter")
            return "none", None
        stmt = rest[0]
        if len(rest) != 1 or not isinstance(stmt, ast.Return) or \
                not isinstance(stmt.value, ast.Name):
            raise NoProof(stmt.lineno, "after the row loop only `return out` may follow")
        name = stmt.value.id
        if name in self.outs:
            return "rows", None
        if name in split:
            return "rows", name
        raise NoProof(stmt.lineno, f"returns {name!r}, which is not the loop's output")
