"""The row-loop proof: the whole function is one loop over the rows of its split
parameters, so it may run on row ranges of them and the results be joined.

``for i in range(len(a))`` reads only row ``i`` of the split parameters, writes
only row ``i`` of one output created with ``len(a)`` rows, and uses ``i`` only as
that first index (a piece starts counting at 0): ``rowwise_python_matmul``.
Conservative: a construct not understood is "no proof", with its line.
"""

from __future__ import annotations

import ast

from ...analysis.scope import Namespace
from . import split_scan as scan
from .split_proofs import NoProof, SplitInfo, SplitProof

__all__ = ["prove_row_loop"]


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
        if leaf not in scan.CREATION:
            return None
        lead = first.elts[0] if isinstance(first, ast.Tuple) and first.elts else first
        return self._length_of(lead)

    def _loop_header(self, loop: ast.For) -> tuple[str, str]:
        args = scan.range_args(loop, self.ns, set(self.params) | scan.assigned(self.tree.body))
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
        parents = scan.parents(loop)
        for node in ast.walk(loop):
            if isinstance(node, ast.Name) and node.id in self.params:
                parent = parents.get(node)
                if isinstance(parent, ast.Subscript) and parent.value is node \
                        and scan.is_var(scan.first_index(parent), var):
                    found.add(node.id)
        return found

    def _check_loop(self, loop: ast.For, var: str, split: set[str]) -> None:
        scan.check_body_statements(loop)
        rowed = split | set(self.outs)
        parents = scan.parents(loop)
        for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
            if not isinstance(node, ast.Name):
                continue
            parent = parents.get(node)
            if node.id in self.rowlen:
                raise NoProof(node.lineno, f"uses the row count {node.id!r} inside the loop")
            if node.id == var:
                grand = parents.get(parent) if isinstance(parent, ast.Tuple) else parent
                if not (isinstance(grand, ast.Subscript) and scan.first_index(grand) is node
                        and isinstance(grand.value, ast.Name) and grand.value.id in rowed):
                    raise NoProof(node.lineno, f"uses {var!r} other than as the row of "
                                               "a split array")
            elif node.id in rowed and not (isinstance(parent, ast.Subscript)
                                           and parent.value is node
                                           and scan.is_var(scan.first_index(parent), var)):
                raise NoProof(node.lineno, f"uses {node.id!r} other than at row {var}")
        assigned = scan.assigned(loop.body)
        if assigned & (set(self.params) | set(self.prelude_names()) | {var}):
            clash = sorted(assigned & (set(self.params) | self.prelude_names() | {var}))
            raise NoProof(loop.lineno, f"the loop rebinds {', '.join(clash)}")
        carried = scan.carried(loop.body, assigned, set())
        if carried is not None:
            raise NoProof(carried.lineno, f"{carried.id!r} carries a value from one row "
                                          "to the next")
        for target in scan.store_targets(loop.body):
            base, _ = scan.base_name(target)
            if isinstance(target, ast.Name) or (base is not None and
                                                (base.id in rowed or base.id in assigned)):
                continue
            raise NoProof(target.lineno, f"writes {ast.unparse(target)}, which is shared "
                                         "by every row")
        shared = (set(self.params) - split) | (self.prelude_names() - set(self.outs))
        scan.check_calls(loop, self.ns, shared)

    def prelude_names(self) -> set[str]:
        return scan.assigned(self.prelude)

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
            for node in scan.loads(stmt):
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
            for name in scan.loads(node):
                if name.id in split or name.id in self.rowlen:
                    raise NoProof(stmt.lineno, f"the output's shape or fill uses {name.id!r}")

    def _check_return(self, rest: list[ast.stmt], split: set[str],
                      loop: ast.For) -> tuple[str, str | None]:
        if not rest or (len(rest) == 1 and isinstance(rest[0], ast.Return)
                        and (rest[0].value is None or (isinstance(rest[0].value, ast.Constant)
                                                       and rest[0].value.value is None))):
            bases = [scan.base_name(t)[0] for t in scan.store_targets(loop.body)
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
