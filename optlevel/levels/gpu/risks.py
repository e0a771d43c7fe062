"""Where CuPy computes a value and NumPy raises: integer powers and array indexes.

Two of CuPy's documented departures from NumPy turn an error into a number, which
no comparison of results catches on a call that does not meet them:

- an integer array to a negative integer power: NumPy raises ``ValueError``, CuPy's
  ``integral_power`` returns 0, 1 or -1 (its source: "not officially documented");
- an integer-array index out of bounds (``x[idx]``, ``out[order] = v``,
  ``np.take``...): NumPy raises ``IndexError``, CuPy wraps the index around
  ("Differences between CuPy and NumPy"); Torch on CUDA stops the device instead.

A third departure turns one undefined value into another: a float cast to an
integer type (``x.astype(int)``, ``dtype=np.int32``) of NaN, an infinity, a value out
of range or a negative value to an unsigned type. NumPy warns and gives what the CPU
gives (``-2**63`` for NaN to int64 on x86), CuPy what CUDA's conversion gives
(saturated: 0, the type's bounds), so level 4 declines casts to integer types it
cannot rule out (:func:`int_casts`).

The walker of :mod:`.checks` records the powers and whether the body makes integers;
this module finds the indexes and casts, and decides, for one call's argument types,
whether level 4 must decline (:func:`int_power_risk`, :func:`index_risk`).
"""

from __future__ import annotations

import ast
from typing import Any

from ...analysis.scope import Finding, own_nodes

__all__ = ["safe_exponent", "int_power_risk", "indexes", "index_risk", "int_casts"]

_MASK_CALLS = frozenset(
    "isnan isfinite isinf isneginf isposinf logical_and logical_or logical_not "
    "logical_xor less less_equal greater greater_equal equal not_equal isclose "
    "signbit".split())
_SCALAR_CALLS = frozenset({"len", "int", "min", "max", "abs", "round", "slice"})
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
    array of it), or a body that makes integer arrays (``astype``, ``arange``,
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
    nodes = list(own_nodes(tree, annotations=False))
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


_FLOAT_NAMES = frozenset("float float16 float32 float64 half single double longdouble "
                         "complex complex64 complex128 cdouble csingle bool bool_".split())
_FLOAT_CODES = frozenset("f f2 f4 f8 e d g c c8 c16 F D ? b1".split())
_FILLS = frozenset("zeros ones empty zeros_like ones_like empty_like eye identity".split())


def int_casts(tree: ast.AST) -> tuple[Finding, ...]:
    """Casts in the body whose target type may be an integer one: ``.astype(T)`` and
    ``dtype=T`` where ``T`` is not a float, complex or bool type written out."""
    found = []
    for node in own_nodes(tree, annotations=False):
        if not isinstance(node, ast.Call):
            continue
        leaf = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else ""
        # creation functions with a dtype make their values in it: nothing is cast
        targets = [] if leaf in _FILLS else \
            [k.value for k in node.keywords if k.arg == "dtype"]
        if isinstance(node.func, ast.Attribute) and node.func.attr == "astype" \
                and node.args:
            targets.append(node.args[0])
        for target in targets:
            if not _float_type(target):
                found.append(Finding(node.lineno, f"a cast to `{ast.unparse(target)}`, "
                                     "which may be an integer type: NaN, infinities and "
                                     "values out of range cast otherwise on the GPU"))
    return tuple(found)


def _float_type(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.lstrip("<>=|") in _FLOAT_CODES \
            | _FLOAT_NAMES
    if isinstance(node, ast.Name):
        return node.id in _FLOAT_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in _FLOAT_NAMES
    return False


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
            return node.attr in ("size", "ndim", "newaxis")
        if isinstance(node, ast.Subscript):  # x.shape[0]
            return _shape_of(node.value)
        if isinstance(node, ast.Call):
            return _harmless_call(node.func)
        if isinstance(node, ast.Name):
            return self._name(node.id, seen)
        return False

    def _name(self, name: str, seen: frozenset) -> str | bool:
        if name in ("newaxis", "Ellipsis"):
            return True
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
