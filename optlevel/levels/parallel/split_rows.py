"""The row-wise NumPy proof: a straight-line body whose every operation keeps axis 0
of the split parameters apart.

Assignments, in-place updates and one ``return``: elementwise ufuncs and
arithmetic, reductions over the *other* axes (``x.mean(axis=(1, 2),
keepdims=True)``), ``x[:, k]`` slices. The result is joined along axis 0, or
combined when the body ends in an associative reduction of such an expression
(``np.sum``, ``min``, ``max``, ``any``, ``all``).

Which parameters are split is found by elimination (:func:`prove_rowwise`): every
parameter starts as a candidate, and one used in a way that mixes rows
(``x.sum()``, ``x.shape[0]``, ``x[i]``) is demoted to *whole* until the proof
holds or no candidate is left.
"""

from __future__ import annotations

import ast
from typing import Any

from ...analysis.scope import Namespace
from .split_exprs import RowExprs
from .split_proofs import NoProof, SplitInfo, SplitProof
from .split_values import Demote, Inv, Row, Value

__all__ = ["prove_rowwise", "RowWise", "COMBINABLE"]

#: Full reductions whose pieces combine exactly (up to float rounding): name → combiner.
COMBINABLE = {"sum": "sum", "min": "min", "amin": "min", "max": "max", "amax": "max",
              "any": "any", "all": "all"}


def prove_rowwise(tree: Any, params: tuple[str, ...], ns: Namespace) -> SplitInfo:
    """The row-wise proof of ``tree``'s body, demoting parameters until it holds."""
    candidates = set(params)
    demoted: dict[str, str] = {}
    while True:
        walker = RowWise(ns, frozenset(candidates), frozenset(params))
        try:
            output = walker.run(tree.body)
        except NoProof as exc:
            return SplitInfo(reason=str(exc))
        except Demote as exc:
            if not exc.params & candidates:  # cannot happen; never loop forever
                return SplitInfo(reason=f"line {exc.line}: {exc.why}")
            for p in exc.params & candidates:
                demoted[p] = f"line {exc.line}: {exc.why}"
            candidates -= exc.params
            if not candidates:
                return SplitInfo(reason=f"line {exc.line}: {exc.why}")
            continue
        return walker.info(output, demoted)


class RowWise(RowExprs):
    """Abstract interpretation of a straight-line body over :class:`Row`/:class:`Inv`."""

    def __init__(self, ns: Namespace, candidates: frozenset[str], params: frozenset[str]):
        super().__init__(ns, candidates, params)
        self.returns_param: str | None = None

    def run(self, body: list[ast.stmt]) -> str:
        """Walk ``body``; how the pieces' results join (see :attr:`SplitInfo.output`)."""
        for i, stmt in enumerate(body):
            self.line = stmt.lineno
            last = i == len(body) - 1
            if isinstance(stmt, ast.Return):
                if not last:
                    raise NoProof(stmt.lineno, "code after return")
                return self._return(stmt.value)
            self._statement(stmt)
        return self._return(None)

    def _statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return  # a docstring or a bare constant
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value)
            for target in stmt.targets:
                self._assign(target, value)
            return
        if isinstance(stmt, ast.AugAssign):
            self._augassign(stmt)
            return
        kind = type(stmt).__name__.lower()
        raise NoProof(stmt.lineno, f"a {kind} statement: only straight-line NumPy code is "
                                   "proved row-wise")

    def _assign(self, target: ast.expr, value: Value) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value  # `y = x` keeps x's identity: `return y` is x
            return
        if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            if isinstance(value, Row):
                raise Demote(value.sources, target.lineno, "unpacks a split array")
            for elt in target.elts:
                self._assign(elt, Inv(opaque=value.opaque or bool(value.arrays)))
            return
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            self._store_subscript(target, value)
            return
        raise NoProof(target.lineno, f"assigns to {ast.unparse(target)}")

    def _store_subscript(self, target: ast.Subscript, value: Value) -> None:
        base = self.expr(target.value)
        if isinstance(base, Inv):
            if base.views:
                raise NoProof(target.lineno, f"writes {', '.join(sorted(base.views))}, "
                                             "which every piece gets whole")
            raise NoProof(target.lineno, f"writes into {ast.unparse(target.value)}")
        indexed = self.row_index(base, target.slice, target.lineno)
        self.meet(indexed, value, target.lineno)

    def _augassign(self, stmt: ast.AugAssign) -> None:
        if isinstance(stmt.target, ast.Subscript):
            value = self.expr(stmt.value)
            self._store_subscript(stmt.target, value)
            return
        if not isinstance(stmt.target, ast.Name):
            raise NoProof(stmt.lineno, f"updates {ast.unparse(stmt.target)}")
        name = stmt.target.id
        current = self.name(stmt.target)
        value = self.expr(stmt.value)
        if isinstance(current, Inv):
            if current.views or name in self.params:
                raise NoProof(stmt.lineno, f"updates {name!r} in place, which every piece "
                                           "gets whole")
            merged = self.meet(current, value, stmt.lineno)
            self.env[name] = merged
            return
        # An array updated in place: the piece's view (or a fresh local) changes row by row,
        # and the name keeps its identity (`x *= 2; return x` returns x itself).
        self.meet(current, value, stmt.lineno)
        self.ops += 1
        self.env[name] = current

    def _return(self, node: ast.expr | None) -> str:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            if not self.used:
                raise NoProof(self.line, "returns None and writes nothing row by row")
            return "none"
        combined = self._full_reduction(node)
        if combined is not None:
            return combined
        value = self.expr(node)
        if isinstance(value, Inv):
            raise NoProof(node.lineno, "the result does not depend on any parameter "
                                       "row by row")
        self.returns_param = value.ident
        return "rows"

    def _full_reduction(self, node: ast.expr) -> str | None:
        """``return np.sum(<row-wise>)`` (or ``.sum()``, min, max, any, all): combinable."""
        if not isinstance(node, ast.Call) or node.keywords:
            return None
        name, receiver = self._reduction_call(node)
        if name not in COMBINABLE:
            return None
        args = ([receiver] if receiver is not None else []) + list(node.args)
        if len(args) != 1:
            return None
        value = self.expr(args[0])
        if not isinstance(value, Row):
            return None
        self.ops += 1
        return COMBINABLE[name]

    def _reduction_call(self, node: ast.Call) -> tuple[str | None, ast.expr | None]:
        func = node.func
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if isinstance(func, ast.Attribute) and self.is_local(func):
            dotted = None
        if dotted and dotted.startswith("numpy.") and dotted.count(".") == 1:
            return dotted.split(".", 1)[1], None
        if isinstance(func, ast.Attribute) and not dotted:
            return func.attr, func.value
        return None, None

    def info(self, output: str, demoted: dict[str, str]) -> SplitInfo:
        """The proof, once the body walked through: which parameters split, and why."""
        why = {"rows": "row-wise NumPy: every operation keeps axis 0 apart",
               "none": "row-wise NumPy, written in place",
               }.get(output, f"row-wise NumPy, then a {output} that combines the pieces")
        split = [p for p in self.params if p in self.candidates and p in self.used]
        if not split:
            return SplitInfo(reason="no parameter is used row by row")
        proofs: dict[str, SplitProof] = {}
        for p in sorted(self.params, key=list(self.params).index):
            if p in split:
                proofs[p] = SplitProof(p, 0, why)
            else:
                proofs[p] = SplitProof(p, None, demoted.get(p, "not used row by row"))
        return SplitInfo(params=proofs, kind="rows", output=output, reason=why,
                         returns_param=self.returns_param,
                         broadcast=frozenset(self.broadcast), max_offset=self.max_offset,
                         ops=max(1, self.ops))
