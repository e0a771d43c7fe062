"""Where CuPy computes a value and NumPy raises: integer powers and array indexes.

Two of CuPy's documented departures from NumPy turn an error into a number, which
no comparison of results catches on a call that does not meet them:

- an integer array to a negative integer power: NumPy raises ``ValueError``, CuPy's
  ``integral_power`` returns 0, 1 or -1 (its source: "not officially documented");
- an integer-array index out of bounds (``x[idx]``, ``out[order] = v``,
  ``np.take``...): NumPy raises ``IndexError``, CuPy wraps the index around
  ("Differences between CuPy and NumPy"); Torch on CUDA stops the device instead.

The walker of :mod:`.checks` records the powers and whether the body makes integers;
this module finds the indexes, and decides, for one call's argument types, whether
level 4 must decline (:func:`int_power_risk`, :func:`index_risk`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from ...analysis.scope import Finding

__all__ = ["safe_exponent", "int_power_risk", "indexes", "index_risk"]

_MASK_CALLS = frozenset(
    "isnan isfinite isinf isneginf isposinf logical_and logical_or logical_not "
    "logical_xor less less_equal greater greater_equal equal not_equal isclose "
    "signbit".split())
_SCALAR_CALLS = frozenset({"len", "int", "min", "max", "abs", "round"})
#: calls that index by integer arrays (CuPy's wrap out-of-bounds indices too)
_GATHERS = frozenset({"take", "take_along_axis", "put", "put_along_axis", "choose"})
_INDEX_WHY = ("index {what} may be an integer array: NumPy raises IndexError for an "
              "index out of bounds, CuPy wraps it around")


def safe_exponent(node: ast.expr) -> bool:
    """A literal exponent that no base can make NumPy raise for: an int >= 0, or a
    float (``x ** -0.5`` computes in floats)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = node.operand
        return isinstance(inner, ast.Constant) and type(inner.value) is float
    return isinstance(node, ast.Constant) and (
        type(node.value) is float or (type(node.value) is int and node.value >= 0))


def int_power_risk(findings: Any, signature: Any) -> Finding | None:
    """The first power that may raise in NumPy and not on the GPU for this call: a
    power with a non-literal (or negative) exponent, where an integer array may meet
    it: an integer or bool array argument, a list or tuple argument (the GPU makes an
    array of it), or a body that makes integers (``astype``, ``arange``, ``len``,
    ``argmax``, ``dtype=``, ``[1, 2]``...). Scalars alone never do: two scalars are
    powered by NumPy on the host, as in plain Python, and a scalar with a float array
    gives floats."""
    if not findings.powers:
        return None
    if findings.makes_ints:
        return findings.powers[0]
    for arg in signature.args:
        if arg.dtype_kind in ("b", "i", "u") or arg.type_name in ("list", "tuple"):
            return findings.powers[0]
    return None


def index_risk(findings: Any, signature: Any) -> Finding | None:
    """The first index that may be an integer array in this call: one that may be
    whatever the arguments, or a parameter that is an integer array, a list or a
    tuple here."""
    if findings.index_arrays:
        return findings.index_arrays[0]
    args = {a.name: a for a in signature.args}
    for name, finding in findings.index_params:
        arg = args.get(name)
        if arg is None or arg.dtype_kind in ("i", "u") or \
                arg.type_name in ("list", "tuple"):
            return finding
    return None


def indexes(tree: ast.AST, params: set[str]) -> dict[str, tuple]:
    """The indexes of the body that may be integer arrays: ``index_arrays`` (whatever
    the arguments) and ``index_params`` (``(parameter, finding)``: when that
    parameter is an integer array), as :class:`~.checks.GpuFindings` fields."""
    nodes = list(_body_nodes(tree))
    kinds = _IndexKinds(nodes, params)
    fixed: list[Finding] = []
    by_param: list[tuple[str, Finding]] = []
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
            leaf = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if leaf in _GATHERS:
                fixed.append(Finding(node.lineno, _INDEX_WHY.format(what=f"of {leaf}()")))
            continue
        if not isinstance(node, ast.Subscript) or _shape_of(node.value):
            continue
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for part in parts:
            verdict = kinds.harmless(part)
            if verdict is True:
                continue
            finding = Finding(node.lineno, _INDEX_WHY.format(what=f"`{ast.unparse(part)}`"))
            if isinstance(verdict, str):
                by_param.append((verdict, finding))
            else:
                fixed.append(finding)
    return {"index_arrays": tuple(fixed), "index_params": tuple(by_param)}


def _shape_of(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "shape"


class _IndexKinds:
    """What an index expression is, from the body's assignments."""

    def __init__(self, nodes: list[ast.AST], params: set[str]):
        self.params = params
        self.assigned: dict[str, list[ast.AST]] = {}
        self.loop_names: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            # a tuple target's values are not followed: unknown
                            self.assigned.setdefault(name.id, []).append(
                                node.value if isinstance(target, ast.Name) else target)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and \
                    isinstance(node.target, ast.Name) and node.value is not None:
                self.assigned.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, (ast.For, ast.comprehension)):
                self.loop_names |= {n.id for n in ast.walk(node.target)
                                    if isinstance(n, ast.Name)}

    def harmless(self, node: ast.AST, seen: frozenset = frozenset()) -> str | bool:
        """True: a slice, constant, scalar or mask; a parameter's name: it depends on
        that argument; False: may be an integer array."""
        if isinstance(node, (ast.Slice, ast.Constant, ast.JoinedStr, ast.Compare,
                             ast.BoolOp)):
            return True
        if isinstance(node, ast.UnaryOp):
            return self.harmless(node.operand, seen)
        if isinstance(node, ast.BinOp):
            return _both(self.harmless(node.left, seen), self.harmless(node.right, seen))
        if isinstance(node, ast.Attribute):
            return node.attr in ("size", "ndim")
        if isinstance(node, ast.Subscript):  # x.shape[0]
            return _shape_of(node.value)
        if isinstance(node, ast.Call):
            return _harmless_call(node.func)
        if isinstance(node, ast.Name):
            return self._name(node.id, seen)
        return False

    def _name(self, name: str, seen: frozenset) -> str | bool:
        if name in self.loop_names:
            return True  # a loop counter: element loops are declined apart
        if name in seen:
            return False
        values = self.assigned.get(name)
        if values is None:
            return name if name in self.params else False
        return all(self.harmless(v, seen | {name}) is True for v in values)


def _both(left: str | bool, right: str | bool) -> str | bool:
    if left is True and right is True:
        return True
    if left is False or right is False:
        return False
    return left if isinstance(left, str) else right


def _harmless_call(func: ast.expr) -> bool:
    """A call that gives a mask (``np.isnan(x)``) or a scalar (``len(x)``)."""
    if isinstance(func, ast.Attribute):
        return func.attr in _MASK_CALLS
    return isinstance(func, ast.Name) and (func.id in _MASK_CALLS or func.id in _SCALAR_CALLS)


def _body_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """The nodes of the function's body: not its annotations, not inner functions."""
    todo = list(getattr(tree, "body", []))
    while todo:
        node = todo.pop()
        yield node
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and not isinstance(
                        child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                ast.ClassDef)):
                    todo.append(child)
