"""Calls in the row-wise proof: which NumPy functions, methods and builtins keep
axis 0 apart, and what value they give.

Each rule takes the evaluator (:class:`.split_exprs.RowExprs`) that met the call,
for its environment and counters. Elementwise functions and reductions are read
from :mod:`optlevel.analysis.tables`, the one copy every level shares.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from ...analysis.tables import ELEMENTWISE, REDUCTIONS
from .split_proofs import NoProof
from .split_values import SCALAR, Demote, Inv, Row, Value, arrays_of

__all__ = ["module_call", "method_call", "builtin_call", "elementwise"]

_REDUCTION_KEYWORDS = frozenset({"axis", "keepdims", "ddof"})
_SAME_SHAPE_METHODS = frozenset({"copy", "astype", "conj", "conjugate", "clip", "round"})
_LIKE = frozenset({"zeros_like", "ones_like", "full_like"})
_SCALAR_BUILTINS = frozenset({"float", "int", "complex", "bool", "len", "round", "min",
                              "max", "pow", "sum"})
_AS_ARRAY = ("asarray", "array", "ascontiguousarray")


def module_call(ev: Any, dotted: str, node: ast.Call) -> Value:
    """``np.f(...)`` or ``math.f(...)`` (``dotted`` is the function's full name)."""
    root, _, leaf = dotted.rpartition(".")
    if root == "numpy":
        found = _numpy_call(ev, leaf, node)
        if found is not None:
            return found
    values = [ev.expr(a) for a in node.args] + [ev.expr(k.value) for k in node.keywords]
    ev.no_rows(values, node, f"passes split data to {dotted}()")
    if root == "math":
        return SCALAR
    return Inv(arrays_of(values), opaque=True)


def _numpy_call(ev: Any, leaf: str, node: ast.Call) -> Value | None:
    """The value of ``np.<leaf>(...)`` when a rule knows it, else None."""
    if leaf in ELEMENTWISE:
        if any(kw.arg != "dtype" for kw in node.keywords):
            raise NoProof(node.lineno, f"np.{leaf} with keyword arguments")
        if leaf == "clip" and len(node.args) != 3:
            raise NoProof(node.lineno, "np.clip without both bounds")
        return elementwise(ev, [ev.expr(a) for a in node.args], node)
    if leaf == "where" and len(node.args) == 3 and not node.keywords:
        return elementwise(ev, [ev.expr(a) for a in node.args], node)
    if leaf in REDUCTIONS:
        if not node.args:
            raise NoProof(node.lineno, f"np.{leaf} without an array")
        return _reduce(ev, leaf, ev.expr(node.args[0]), node.args[1:], node)
    if leaf in _LIKE:
        values = [ev.expr(a) for a in node.args]
        if not values or any(isinstance(v, Row) for v in values[1:]):
            raise NoProof(node.lineno, f"np.{leaf} with split fill values")
        first = values[0]
        return Row(first.offset, first.sources) if isinstance(first, Row) \
            else Inv(first.arrays, True)
    if leaf in _AS_ARRAY and len(node.args) == 1 \
            and all(k.arg == "dtype" for k in node.keywords):
        value = ev.expr(node.args[0])
        return dataclasses.replace(value, ident=None) if isinstance(value, Row) else value
    return None


def method_call(ev: Any, func: ast.Attribute, node: ast.Call) -> Value:
    """``x.f(...)`` on a local or a parameter."""
    base = ev.expr(func.value)
    name = func.attr
    if name in REDUCTIONS:
        return _reduce(ev, name, base, node.args, node)
    if isinstance(base, Row):
        if name in _SAME_SHAPE_METHODS and not any(k.arg not in ("dtype", "decimals")
                                                   for k in node.keywords):
            extra = [ev.expr(a) for a in node.args]
            if name == "clip":
                return elementwise(ev, [base] + extra, node)
            ev.no_rows(extra, node, f".{name}() with split arguments")
            ev.ops += 1
            return Row(base.offset, base.sources)
        raise Demote(base.sources, node.lineno, f"calls .{name}() on a split array")
    values = [ev.expr(a) for a in node.args] + [ev.expr(k.value) for k in node.keywords]
    ev.no_rows(values, node, f"passes split data to .{name}()")
    return Inv(base.arrays, True)


def builtin_call(ev: Any, name: str, node: ast.Call) -> Value:
    """``f(...)`` by a bare name: a builtin, or a function the proof cannot see into."""
    found, value = ev.ns.lookup(name)
    builtin = found and getattr(value, "__module__", None) == "builtins"
    values = [ev.expr(a) for a in node.args] + [ev.expr(k.value) for k in node.keywords]
    if builtin and name == "abs" and len(values) == 1:
        only = values[0]
        ev.ops += isinstance(only, Row)
        return Row(only.offset, only.sources) if isinstance(only, Row) else only
    ev.no_rows(values, node, f"passes split data to {name}()")
    if builtin and name in _SCALAR_BUILTINS:
        return SCALAR
    return Inv(arrays_of(values), opaque=True)


def elementwise(ev: Any, values: list[Value], node: ast.AST) -> Value:
    """An operation applied element by element to broadcast ``values``."""
    ev.ops += 1
    result = values[0] if values else SCALAR
    for value in values[1:]:
        result = ev.meet(result, value, getattr(node, "lineno", ev.line))
    if isinstance(result, Row):
        return Row(result.offset, result.sources)
    return result


def _reduce(ev: Any, name: str, base: Value, args: list[ast.expr], node: ast.Call) -> Value:
    axis, keepdims = _axis(ev, name, args, node)
    if isinstance(base, Inv):
        if axis is None and not keepdims:  # a scalar
            return SCALAR
        return Inv(base.arrays, base.opaque)
    if axis is None or any(a < 1 for a in axis):
        raise Demote(base.sources, node.lineno,
                     f"{name}() over {'all axes' if axis is None else 'axis 0'} "
                     "of a split array")
    if name in ("argmin", "argmax") and len(axis) != 1:
        raise NoProof(node.lineno, f"{name}() over several axes")
    ev.ops += 1
    offset = base.offset + (0 if keepdims else len(axis))
    ev.max_offset = max(ev.max_offset, offset)
    return Row(offset, base.sources)


def _axis(ev: Any, name: str, args: list[ast.expr],
          node: ast.Call) -> tuple[tuple[int, ...] | None, bool]:
    """The constant ``axis`` and ``keepdims`` of a reduction call."""
    axis_node: ast.expr | None = args[0] if args else None
    if len(args) > 1:
        raise NoProof(node.lineno, f"{name}() with more positional arguments")
    keepdims = False
    for kw in node.keywords:
        if kw.arg not in _REDUCTION_KEYWORDS:
            raise NoProof(node.lineno, f"{name}() with {kw.arg}=")
        if kw.arg == "axis":
            axis_node = kw.value
        elif kw.arg == "keepdims":
            if not isinstance(kw.value, ast.Constant) or not isinstance(kw.value.value, bool):
                raise NoProof(node.lineno, "keepdims= that is not True or False")
            keepdims = kw.value.value
        else:
            ev.no_rows((ev.expr(kw.value),), node, f"{kw.arg}= from split data")
    if axis_node is None or (isinstance(axis_node, ast.Constant) and axis_node.value is None):
        return None, keepdims
    return _constant_axes(name, axis_node, node), keepdims


def _constant_axes(name: str, axis_node: ast.expr, node: ast.Call) -> tuple[int, ...]:
    elts = axis_node.elts if isinstance(axis_node, ast.Tuple) else [axis_node]
    axes = []
    for elt in elts:
        if not isinstance(elt, ast.Constant) or type(elt.value) is not int:
            raise NoProof(node.lineno, f"{name}() with an axis that is not a constant")
        axes.append(elt.value)
    if len(set(axes)) != len(axes):
        raise NoProof(node.lineno, f"{name}() with a repeated axis")
    return tuple(axes)
