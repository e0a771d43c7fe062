"""Expressions in the row-wise proof: the value (:class:`.split_values.Row` or
:class:`.split_values.Inv`) of each expression of a straight-line body.

:class:`RowExprs` holds what the walk has learned (the local names' values, the
whole parameters that meet split data, how many axes were reduced away, how many
array operations ran); :class:`.split_rows.RowWise` adds the statements. Calls
are in :mod:`.split_calls`.
"""

from __future__ import annotations

import ast
from typing import Any

from ...analysis.scope import Namespace
from . import split_calls as calls
from .split_proofs import NoProof
from .split_values import SCALAR, Demote, Inv, Row, Value, arrays_of, sources_of

__all__ = ["RowExprs"]

_NUMPY_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "euler_gamma", "float64", "float32",
                              "int64", "int32", "complex128", "complex64", "bool_"})
_PLAIN_COMPARE = (ast.Lt, ast.Gt, ast.LtE, ast.GtE, ast.Eq, ast.NotEq)


class RowExprs:
    """Abstract interpretation of expressions over :class:`Row`/:class:`Inv`.

    ``candidates`` are the parameters still taken as split (the others are read
    whole); a candidate that reaches a row-wise value is recorded in ``used``.
    """

    def __init__(self, ns: Namespace, candidates: frozenset[str], params: frozenset[str]):
        self.ns, self.candidates, self.params = ns, candidates, params
        self.env: dict[str, Value] = {}
        self.broadcast: set[str] = set()
        self.max_offset = 0
        self.ops = 0
        self.used: set[str] = set()  # split candidates that reach a row-wise value
        self.line = 0

    def expr(self, node: ast.expr) -> Value:
        self.line = getattr(node, "lineno", self.line)
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NoProof(self.line, f"{type(node).__name__.lower()} expression "
                                     f"{ast.unparse(node)[:40]!r}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Value:
        return SCALAR

    def _Name(self, node: ast.Name) -> Value:
        return self.name(node)

    def name(self, node: ast.Name) -> Value:
        name = node.id
        if name in self.env:
            return self.env[name]
        if name in self.params:
            if name in self.candidates:
                self.used.add(name)
                return Row(0, frozenset({name}), name, frozenset({name}))
            return Inv(frozenset({name}), views=frozenset({name}))
        found, value = self.ns.lookup(name)
        if found and isinstance(value, (int, float, complex, bool)):
            return SCALAR
        raise NoProof(node.lineno, f"reads {name!r}, which is not a parameter or a number")

    def _Tuple(self, node: ast.Tuple) -> Value:
        values = [self.expr(e) for e in node.elts]
        if any(isinstance(v, Row) for v in values):
            raise Demote(sources_of(values), node.lineno, "puts a split array in a tuple")
        return Inv(arrays_of(values), opaque=True)

    def _BinOp(self, node: ast.BinOp) -> Value:
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.op, ast.MatMult):
            self.no_rows((left, right), node, "a matrix product (left to BLAS)")
            return Inv(left.arrays | right.arrays, opaque=True)
        self.ops += 1
        return self.meet(left, right, node.lineno)

    def _UnaryOp(self, node: ast.UnaryOp) -> Value:
        value = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            self.no_rows((value,), node, "`not` of an array")
            return SCALAR
        if isinstance(value, Row):
            self.ops += 1
            return Row(value.offset, value.sources)
        return Inv(value.arrays, value.opaque)

    def _Compare(self, node: ast.Compare) -> Value:
        values = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
        if len(node.ops) != 1 or not isinstance(node.ops[0], _PLAIN_COMPARE):
            self.no_rows(values, node, "a chained or identity comparison")
            return SCALAR
        self.ops += 1
        return self.meet(values[0], values[1], node.lineno)

    def _BoolOp(self, node: ast.BoolOp) -> Value:
        values = [self.expr(v) for v in node.values]
        self.no_rows(values, node, "`and`/`or` of arrays")
        return Inv(opaque=True)

    def _IfExp(self, node: ast.IfExp) -> Value:
        test = self.expr(node.test)
        self.no_rows((test,), node, "a condition on a split array")
        body, orelse = self.expr(node.body), self.expr(node.orelse)
        if isinstance(body, Row) != isinstance(orelse, Row):
            raise NoProof(node.lineno, "one branch is split, the other is not")
        return self.meet(body, orelse, node.lineno)

    def _Attribute(self, node: ast.Attribute) -> Value:
        dotted = self.ns.dotted(node)
        if dotted is not None and not self.is_local(node):
            if dotted.startswith("numpy.") and dotted.split(".", 1)[1] in _NUMPY_CONSTANTS:
                return SCALAR
            if dotted.startswith("math."):
                return SCALAR
            raise NoProof(node.lineno, f"uses {dotted}")
        base = self.expr(node.value)
        if node.attr in ("ndim", "dtype", "itemsize"):
            return SCALAR
        if isinstance(base, Row):
            if node.attr in ("real", "imag"):
                return Row(base.offset, base.sources, None, base.views)
            raise Demote(base.sources, node.lineno, f"reads .{node.attr} of a split array")
        if node.attr == "size":
            return SCALAR
        return Inv(base.arrays, True, base.views)

    def is_local(self, node: ast.expr) -> bool:
        """Is the root of ``a.b.c`` a local or a parameter (not a module)?"""
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and (node.id in self.env or node.id in self.params)

    def _Subscript(self, node: ast.Subscript) -> Value:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            base = self.expr(node.value.value)
            k = node.slice
            if isinstance(base, Row):
                if isinstance(k, ast.Constant) and isinstance(k.value, int) and k.value >= 1:
                    return SCALAR
                raise Demote(base.sources, node.lineno, "reads the length of a split axis")
            return SCALAR
        base = self.expr(node.value)
        if isinstance(base, Row):
            return self.row_index(base, node.slice, node.lineno)
        index = self.expr(node.slice) if not isinstance(node.slice, ast.Slice) else SCALAR
        self.no_rows((index,), node, "indexes with a split array")
        return Inv(base.arrays, True, base.views)

    def row_index(self, base: Row, index: ast.expr, line: int) -> Row:
        """``x[:]``, ``x[:, k]``, ``x[:, 1:3]``, ``x[:, None]``: axis 0 stays whole."""
        elts = index.elts if isinstance(index, ast.Tuple) else [index]
        if not elts or not _is_full_slice(elts[0]):
            raise Demote(base.sources, line, "indexes a split array along axis 0")
        offset = base.offset
        for elt in elts[1:]:
            offset += self._index_offset(base, elt, line)
        self.max_offset = max(self.max_offset, offset)
        return Row(offset, base.sources, None, base.views)

    def _index_offset(self, base: Row, elt: ast.expr, line: int) -> int:
        """How many axes one index after the first removes (a new axis: -1)."""
        if isinstance(elt, ast.Slice):
            for part in (elt.lower, elt.upper, elt.step):
                if part is not None:
                    self.no_rows((self.expr(part),), elt, "a slice bound from split data")
            return 0
        if (isinstance(elt, ast.Constant) and elt.value is None) or \
                self.dotted(elt) == "numpy.newaxis":
            return -1
        if isinstance(elt, ast.Constant) and elt.value is Ellipsis:
            return 0
        if isinstance(elt, ast.Constant) and isinstance(elt.value, int):
            return 1
        raise Demote(base.sources, line, f"indexes a split array with {ast.unparse(elt)}")

    def _Call(self, node: ast.Call) -> Value:
        func = node.func
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if isinstance(func, ast.Attribute) and self.is_local(func):
            dotted = None  # a method of a local or a parameter, not a module function
        if dotted is not None and dotted.startswith("builtins."):
            return calls.builtin_call(self, dotted.split(".", 1)[1], node)
        if dotted is not None:
            return calls.module_call(self, dotted, node)
        if isinstance(func, ast.Attribute):
            return calls.method_call(self, func, node)
        if isinstance(func, ast.Name):
            return calls.builtin_call(self, func.id, node)
        raise NoProof(node.lineno, f"calls {ast.unparse(func)[:40]}")

    # --- joining values -------------------------------------------------------------

    def meet(self, a: Value, b: Value, line: int) -> Value:
        """The value of an elementwise operation on ``a`` and ``b`` (broadcasting)."""
        if isinstance(a, Row) and isinstance(b, Row):
            if a.offset != b.offset:
                raise Demote(a.sources | b.sources, line,
                             "combines split arrays that lost different numbers of axes")
            return Row(a.offset, a.sources | b.sources, None, a.views)
        if isinstance(a, Row) or isinstance(b, Row):
            row, inv = (a, b) if isinstance(a, Row) else (b, a)
            if inv.opaque:
                raise NoProof(line, "combines split data with an array of unknown shape")
            self.broadcast.update(inv.arrays)
            return Row(row.offset, row.sources, None, row.views)
        return Inv(a.arrays | b.arrays, a.opaque or b.opaque)

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, (ast.Name, ast.Attribute)) and not self.is_local(node):
            return self.ns.dotted(node)
        return None

    def no_rows(self, values: Any, node: ast.AST, why: str) -> None:
        """Demote the split parameters any of ``values`` is made of: ``why`` mixes rows."""
        sources = sources_of(values)
        if sources:
            raise Demote(sources, getattr(node, "lineno", self.line), why)


def _is_full_slice(node: ast.expr) -> bool:
    return isinstance(node, ast.Slice) and node.lower is None and node.upper is None \
        and node.step is None
