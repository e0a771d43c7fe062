"""What kind of scalar each local variable holds: a Python number or a NumPy scalar.

The catalogue of semantic differences (:mod:`.catalogue`) needs to know, for an
expression, whether plain Python computes it with Python numbers (unbounded
``int``, ``float`` that raises ``ZeroDivisionError``) or with NumPy scalars
(fixed width, NumPy's error rules, NEP 50 promotion), since Numba computes both
the same way. This is a small flow-insensitive inference over the function's
AST: each variable gets the set of kinds any assignment can give it, iterated
to a fixed point.

A kind is a string:

- ``int``, ``float``, ``complex``, ``bool``, ``str``, ``none``: Python values;
- ``np:<dtype>``: a NumPy scalar (``np:?`` when the dtype is not known);
- ``arr:<dtype>``: an array; ``range``, ``shape``: what their names say;
- ``?``: unknown (a helper's result, an attribute of an object);
- ``arg``: depends on the call's arguments (parameters, when the analysis runs
  at decoration, without a call).

Parameters get their kinds from the call's arguments (:func:`param_kinds`).
"""

from __future__ import annotations

import ast
import operator
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...analysis.scope import Namespace
from ...core.runtime import RUNTIME

__all__ = ["Kinds", "kinds_of", "param_kinds", "PY_NUMBERS", "UNKNOWN", "ARG", "is_python",
           "is_numpy", "dtype_of", "numba_result", "numpy_result", "combine", "value_kind"]

UNKNOWN = "?"
ARG = "arg"
PY_NUMBERS = frozenset({"int", "float", "complex", "bool"})
_PY_SCALARS = PY_NUMBERS | {"str", "none"}
_SAMPLE = {"int": 1, "float": 1.0, "complex": 1j, "bool": True}
_STRONG = {"int": np.int64, "float": np.float64, "complex": np.complex128, "bool": np.bool_}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
        ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
        ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift}
_SHAPE_ATTRS = {"size": "int", "ndim": "int", "itemsize": "int", "nbytes": "int",
                "shape": "shape", "strides": "shape"}
_SAME_ARRAY_ATTRS = frozenset({"T", "flat", "real", "imag"})
#: calls whose result on an array is one NumPy scalar (typing, with dot/item), not
#: analysis.tables.REDUCTIONS, which classes NumPy calls by their cost for the planner
_SCALAR_RESULTS = frozenset("sum prod mean std var min max amin amax argmin argmax any all "
                            "median nansum nanmean nanmin nanmax dot vdot item".split())
_MATH_INT = frozenset({"floor", "ceil", "trunc", "factorial", "gcd", "isqrt"})
_MATH_BOOL = frozenset({"isnan", "isinf", "isfinite", "isclose"})


def is_python(kind: str) -> bool:
    return kind in _PY_SCALARS


def is_numpy(kind: str) -> bool:
    return kind.startswith("np:")


def dtype_of(kind: str) -> np.dtype | None:
    """The dtype of an ``np:`` or ``arr:`` kind, or None when unknown."""
    _, _, name = kind.partition(":")
    if not name or name == "?":
        return None
    try:
        return np.dtype(name)
    except TypeError:
        return None


def param_kinds(signature: Any, params: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Each parameter's kind for one call (:class:`~optlevel.analysis.ArgSignature`);
    ``arg`` for every parameter when ``signature`` is None."""
    if signature is None:
        return {p: frozenset({ARG}) for p in params}
    out = {p: frozenset({UNKNOWN}) for p in params}
    for arg in signature.args:
        if arg.name in out:
            out[arg.name] = frozenset({_arg_kind(arg)})
    return out


def _arg_kind(arg: Any) -> str:
    if arg.kind == "numpy":
        return f"arr:{arg.dtype}"
    if arg.kind != "scalar":
        return UNKNOWN
    python = {"int": "int", "float": "float", "complex": "complex", "bool": "bool",
              "str": "str", "NoneType": "none"}
    if arg.type_name in python:
        return python[arg.type_name]
    return f"np:{arg.dtype or arg.type_name}"


# What NumPy and Numba make of two kinds under an operator (a few hundred at most).
_results = RUNTIME.cache("numba.kinds.results", maxsize=1024)


def numpy_result(left: str, right: str, op: Any) -> str:
    """The kind NumPy gives ``left <op> right`` (one of them a NumPy kind)."""
    return _results.get_or_make(("numpy", left, right, op),
                                lambda: _numpy_result(left, right, op))


def _numpy_result(left: str, right: str, op: Any) -> str:
    fn = _OPS.get(op)
    a, b = _operand(left), _operand(right)
    if fn is None or a is None or b is None:
        return "np:?"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = fn(a, b)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return UNKNOWN
    return f"np:{np.asarray(result).dtype}"


def _operand(kind: str) -> Any:
    if kind in _SAMPLE:
        return _SAMPLE[kind]
    dtype = dtype_of(kind)
    return None if dtype is None else np.ones((), dtype)[()]


def numba_result(left: str, right: str, op: Any) -> str:
    """The dtype Numba gives ``left <op> right``: Python numbers are typed strongly
    (``int`` as int64, ``float`` as float64), as NumPy 1 did before NEP 50."""
    return _results.get_or_make(("numba", left, right, op),
                                lambda: _numba_result(left, right, op))


def _numba_result(left: str, right: str, op: Any) -> str:
    a = _STRONG.get(left) or dtype_of(left)
    b = _STRONG.get(right) or dtype_of(right)
    if a is None or b is None:
        return "np:?"
    if op is ast.Div and np.dtype(a).kind in "biu" and np.dtype(b).kind in "biu":
        return "np:float64"  # true division of integers
    return f"np:{np.result_type(a, b)}"


def _python_result(left: str, right: str, op: type) -> str:
    if "str" in (left, right):
        return "str" if op in (ast.Add, ast.Mult, ast.Mod) else UNKNOWN
    if "none" in (left, right):
        return UNKNOWN
    order = ["bool", "int", "float", "complex"]
    top = max(order.index(left), order.index(right))
    if op in (ast.BitAnd, ast.BitOr, ast.BitXor) and top == 0:
        return "bool"
    kind = order[max(top, 1)]
    if op is ast.Div and kind == "int":
        return "float"
    return kind


def combine(left: str, right: str, op: type) -> str:
    """The kind of ``left <op> right``."""
    if ARG in (left, right):
        return ARG
    if UNKNOWN in (left, right) or left in ("range", "shape") or right in ("range", "shape"):
        return UNKNOWN
    if left.startswith("arr:") or right.startswith("arr:"):
        return "arr:?"
    if is_python(left) and is_python(right):
        return _python_result(left, right, op)
    return numpy_result(left, right, op)


_solved = RUNTIME.cache("numba.kinds.solved", maxsize=64)


def kinds_of(tree: ast.FunctionDef | ast.AsyncFunctionDef, ns: Namespace,
             params: dict[str, frozenset[str]]) -> Kinds:
    """:class:`Kinds` for ``tree`` in ``ns`` with these parameter kinds, solved once:
    the catalogue's detectors (:class:`.context.Context`) and the result type
    (:mod:`.returns`) ask for the same ones while a signature is planned."""
    key = (id(tree), id(ns.globals), tuple((k, id(v)) for k, v in ns.closure.items()),
           tuple(sorted(params.items())))
    found = _solved.get(key)
    if found is None or found[0] is not tree or found[1] is not ns.globals:
        found = _solved[key] = (tree, ns.globals, Kinds(tree, ns, params))
    return found[2]


class Kinds:
    """The kinds of a function's variables, for one set of parameter kinds."""

    def __init__(self, tree: ast.FunctionDef | ast.AsyncFunctionDef, ns: Namespace,
                 params: dict[str, frozenset[str]]):
        self.tree, self.ns = tree, ns
        self.params = params
        # parameters start with the call's kinds; assignments to them add more
        self.env: dict[str, set[str]] = {p: set(k) for p, k in params.items()}
        self.local_names = _assigned_names(tree)
        self._solve()

    def _solve(self) -> None:
        for _ in range(12):  # each pass can only grow the sets; a few passes settle
            before = {k: set(v) for k, v in self.env.items()}
            for node in _statements(self.tree):
                self._assign(node)
            if before == self.env:
                return

    def _bind(self, target: ast.expr, kinds: Iterable[str]) -> None:
        if isinstance(target, ast.Name):
            self.env.setdefault(target.id, set()).update(kinds)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._bind(elt, {UNKNOWN})

    def _assign(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_value(target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self._bind_value(node.target, node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            old = self.of(node.target)
            new = self.of(node.value)
            self._bind(node.target, {combine(a, b, type(node.op)) for a in old for b in new})
        elif isinstance(node, ast.For):
            self._bind_loop(node.target, node.iter)
        elif isinstance(node, ast.NamedExpr):
            self._bind(node.target, self.of(node.value))

    def _bind_value(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
                and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self._bind_value(t, v)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._bind(t, self._element(self.of(value)))
        else:
            self._bind(target, self.of(value))

    def _bind_loop(self, target: ast.expr, it: ast.expr) -> None:
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and \
                not self.shadowed(it.func.id):
            name = it.func.id
            if name == "enumerate" and it.args and isinstance(target, ast.Tuple) \
                    and len(target.elts) == 2:
                self._bind(target.elts[0], {"int"})
                self._bind_loop(target.elts[1], it.args[0])
                return
            if name == "zip" and isinstance(target, ast.Tuple) \
                    and len(target.elts) == len(it.args):
                for t, a in zip(target.elts, it.args):
                    self._bind_loop(t, a)
                return
            if name == "reversed" and it.args:
                self._bind_loop(target, it.args[0])
                return
        if isinstance(it, (ast.List, ast.Tuple, ast.Set)):
            kinds = set().union(*(self.of(e) for e in it.elts)) if it.elts else set()
        else:
            kinds = self._element(self.of(it))
        self._bind(target, kinds)

    def shadowed(self, name: str) -> bool:
        """Is ``name`` bound by the function, its module or a cell (not the builtin)?"""
        return name in self.local_names or name in self.params or name in self.ns.globals \
            or name in self.ns.closure

    def _element(self, kinds: Iterable[str]) -> set[str]:
        out = set()
        for k in kinds:
            if k == ARG:
                out.add(ARG)
            elif k == "range" or k == "shape":
                out.add("int")
            elif k.startswith("arr:"):
                out.add("np:" + k[4:])
            else:
                out.add(UNKNOWN)
        return out

    # --- expressions -------------------------------------------------------------
    def of(self, node: ast.expr | None) -> set[str]:
        """The kinds ``node`` can evaluate to."""
        if node is None:
            return {"none"}
        method = getattr(self, f"_k_{type(node).__name__}", None)
        return method(node) if method else {UNKNOWN}

    def _k_Constant(self, node: ast.Constant) -> set[str]:
        value = node.value
        for kind in ("bool", "int", "float", "complex", "str"):
            if type(value).__name__ == kind:
                return {kind}
        return {"none"} if value is None else {UNKNOWN}

    def _k_JoinedStr(self, node: ast.JoinedStr) -> set[str]:
        return {"str"}

    def _k_Name(self, node: ast.Name) -> set[str]:
        if node.id in self.env:
            return set(self.env[node.id])
        if node.id in self.local_names:
            return set()  # not bound yet in this pass: a later pass fills it in
        found, value = self.ns.lookup(node.id)
        return {value_kind(value)} if found else {UNKNOWN}

    def _k_Subscript(self, node: ast.Subscript) -> set[str]:
        out = set()
        sliced = _is_slice(node.slice)
        for k in self.of(node.value):
            if k.startswith("arr:"):
                out.add(k if sliced else "np:" + k[4:])
            elif k == "shape":
                out.add(UNKNOWN if sliced else "int")
            elif k in ("str", ARG):
                out.add(k)
            else:
                out.add(UNKNOWN)
        return out

    def _k_Attribute(self, node: ast.Attribute) -> set[str]:
        base = self.of(node.value)
        if ARG in base:
            return {ARG}
        if node.attr in _SHAPE_ATTRS and any(k.startswith("arr:") for k in base):
            return {_SHAPE_ATTRS[node.attr]}
        if node.attr in ("real", "imag"):
            return {k if k.startswith("arr:") else _real_part(k) for k in base}
        if node.attr in _SAME_ARRAY_ATTRS:
            return {k if k.startswith("arr:") else UNKNOWN for k in base}
        return {UNKNOWN}

    def _k_BinOp(self, node: ast.BinOp) -> set[str]:
        op = type(node.op)
        return {combine(a, b, op) for a in self.of(node.left) for b in self.of(node.right)}

    def _k_UnaryOp(self, node: ast.UnaryOp) -> set[str]:
        if isinstance(node.op, ast.Not):
            return {"bool"}
        inner = self.of(node.operand)
        return {"int" if k == "bool" and not isinstance(node.op, ast.Invert) else k
                for k in inner}

    def _k_BoolOp(self, node: ast.BoolOp) -> set[str]:
        return set().union(*(self.of(v) for v in node.values))

    def _k_Compare(self, node: ast.Compare) -> set[str]:
        kinds = set().union(self.of(node.left), *(self.of(c) for c in node.comparators))
        if ARG in kinds:
            return {ARG}
        if any(k.startswith("arr:") or k == UNKNOWN for k in kinds):
            return {UNKNOWN}
        out = {"np:bool"} if any(is_numpy(k) for k in kinds) else set()
        if any(is_python(k) for k in kinds) or not out:
            out.add("bool")
        return out

    def _k_IfExp(self, node: ast.IfExp) -> set[str]:
        return self.of(node.body) | self.of(node.orelse)

    def _k_NamedExpr(self, node: ast.NamedExpr) -> set[str]:
        return self.of(node.value)

    def _k_Call(self, node: ast.Call) -> set[str]:
        func = node.func
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            return self._builtin_call(func.id, node)
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted:
            return self._module_call(dotted, node)
        if isinstance(func, ast.Attribute):
            base = self.of(func.value)
            if ARG in base:
                return {ARG}
            if func.attr in ("conjugate", "conj") and not node.args and base and \
                    all(is_numpy(k) or k in PY_NUMBERS for k in base):
                return {"int" if k == "bool" else k for k in base}  # the same kind
            if any(k.startswith("arr:") for k in base):
                if func.attr in _SCALAR_RESULTS:
                    return {"np:?"}
                return {"arr:?"} if func.attr in ("copy", "astype", "reshape", "ravel",
                                                  "flatten", "transpose") else {UNKNOWN}
        return {UNKNOWN}

    def _builtin_call(self, name: str, node: ast.Call) -> set[str]:
        args = node.args
        simple = {"int": "int", "float": "float", "complex": "complex", "bool": "bool",
                  "str": "str", "repr": "str", "len": "int", "hash": "int", "ord": "int",
                  "chr": "str", "range": "range"}
        if name in simple:
            return {simple[name]}
        if name == "abs" and args:
            return {"int" if k == "bool" else _real_part(k) if k == "complex" or
                    dtype_kind_of(k) == "c" else k for k in self.of(args[0])}
        if name == "round" and args:
            if len(args) == 1 and not node.keywords:
                return {"int" if is_python(k) else UNKNOWN for k in self.of(args[0])}
            return self.of(args[0])
        if name in ("min", "max") and args:
            if len(args) == 1:
                return self._element(self.of(args[0]))
            return set().union(*(self.of(a) for a in args))
        return {UNKNOWN}

    def _module_call(self, dotted: str, node: ast.Call) -> set[str]:
        root, _, leaf = dotted.partition(".")
        if root == "math":
            if leaf in _MATH_INT:
                return {"int"}
            return {"bool"} if leaf in _MATH_BOOL else {"float"}
        if root == "cmath":
            return {"bool"} if leaf in _MATH_BOOL else {"complex"}
        if root == "numpy":
            args = set().union(*(self.of(a) for a in node.args)) if node.args else set()
            if ARG in args:
                return {ARG}
            if any(k.startswith("arr:") for k in args):
                return {"np:?"} if leaf.rsplit(".", 1)[-1] in _SCALAR_RESULTS else {"arr:?"}
            if leaf.startswith(("zeros", "ones", "empty", "full", "arange", "linspace",
                                "array", "asarray", "eye", "identity")):
                return {"arr:?"}
            return {"np:?"}
        return {UNKNOWN}


def value_kind(value: Any) -> str:
    """The kind of a value found in the function's globals or closure."""
    if isinstance(value, np.ndarray):
        return f"arr:{value.dtype}"
    if isinstance(value, np.generic):
        return f"np:{value.dtype}"
    name = type(value).__name__
    if type(value) in (int, float, complex, bool, str):
        return name
    return "none" if value is None else UNKNOWN


def dtype_kind_of(kind: str) -> str:
    """The dtype kind letter of an ``np:`` kind ("" for any other)."""
    dtype = dtype_of(kind) if is_numpy(kind) else None
    return dtype.kind if dtype is not None else ""


def _real_part(kind: str) -> str:
    """The kind of ``v.real`` (and ``abs(v)`` of a complex ``v``) for ``v`` of ``kind``:
    complex64's is float32, a Python complex's a float."""
    if kind in PY_NUMBERS:
        return {"complex": "float", "bool": "int"}.get(kind, kind)
    dtype = dtype_of(kind) if is_numpy(kind) else None
    if dtype is None:
        return UNKNOWN
    if dtype.kind == "c":
        return f"np:{np.dtype(f'f{dtype.itemsize // 2}').name}"
    return kind


def _is_slice(node: ast.expr) -> bool:
    if isinstance(node, ast.Slice):
        return True
    if isinstance(node, ast.Tuple):
        return any(isinstance(e, ast.Slice) for e in node.elts)
    return False


def _statements(tree: ast.AST) -> list[ast.AST]:
    """The assignments of ``tree``'s own body (not of nested functions), in order."""
    out: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For,
                             ast.NamedExpr)):
            out.append(node)
        stack[:0] = list(ast.iter_child_nodes(node))
    return out


def _assigned_names(tree: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(tree)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
