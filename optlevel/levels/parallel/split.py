"""Split proofs: along which axis a function's work is provably independent.

Level 3 runs one call on pieces of its arguments and joins the pieces' results.
That is only the same as the plain call when the function is independent along
the axis it is cut on, so this module proves it from the AST, conservatively:
whatever it does not understand is "no proof", with the line and the reason.

Two shapes of proof (loops for Numba's ``prange`` are in :mod:`.split_loops`):

* **row-wise NumPy**: a straight-line body (assignments, in-place updates, one
  ``return``) whose every operation keeps axis 0 of the split parameters apart:
  elementwise ufuncs and arithmetic, reductions over the *other* axes
  (``x.mean(axis=(1, 2), keepdims=True)`` as in ``process_images``), ``x[:, k]``
  slices. The result is joined along axis 0, or combined when the body ends in
  an associative reduction of such an expression (``np.sum``, ``min``, ``max``,
  ``any``, ``all``).
* **row loop**: ``for i in range(len(a))`` whose iterations read only row ``i``
  of the split parameters and write only row ``i`` of one output created with
  ``len(a)`` rows (``rowwise_python_matmul``); see :mod:`.split_loops`.

Which parameters are split is found by elimination: every parameter starts as a
candidate, and one used in a way that mixes rows (``x.sum()``, ``x.shape[0]``,
``x[i]``) is demoted to *whole* (every piece gets all of it), until the proof
holds or no candidate is left. Array parameters kept whole that meet split data
by broadcasting are listed in :attr:`SplitInfo.broadcast`: per call their
``ndim`` must be small enough never to reach axis 0 (checked by level 3).
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from ...analysis.scope import Namespace

__all__ = ["SplitProof", "LoopProof", "SplitInfo", "analyze_split", "NO_SPLIT"]


@dataclasses.dataclass(frozen=True)
class SplitProof:
    """One parameter: split along ``axis`` (``None``: every piece gets it whole), and why."""

    param: str
    axis: int | None
    reason: str

    def __str__(self) -> str:
        where = f"axis {self.axis}" if self.axis is not None else "whole"
        return f"{self.param} {where} ({self.reason})"


@dataclasses.dataclass(frozen=True)
class LoopProof:
    """A top-level ``for i in range(...)`` loop whose iterations are independent.

    ``writes``: arrays written only at ``[i, ...]``; ``written_params``: those that
    are parameters (level 3 checks per call that they share no memory with the
    other array arguments); ``reductions``: ``(name, op)`` with op ``+``, ``*``,
    ``min`` or ``max``; ``line``: the ``for`` statement's line.
    """

    line: int
    var: str
    writes: tuple[str, ...] = ()
    written_params: tuple[str, ...] = ()
    reductions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        parts = [f"line {self.line}: iterations of {self.var!r} are independent"]
        if self.writes:
            parts.append(f"writes {', '.join(w + '[' + self.var + ']' for w in self.writes)}")
        if self.reductions:
            parts.append("reduces " + ", ".join(f"{n} ({op})" for n, op in self.reductions))
        return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class SplitInfo:
    """What :func:`analyze_split` proved about a function.

    Attributes
    ----------
    params : dict
        Parameter name → :class:`SplitProof` (empty when nothing was proved).
    kind : str
        ``"rows"`` (row-wise NumPy), ``"row loop"``, or ``""`` (no proof).
    output : str
        How the pieces' results join: ``"rows"`` (along axis 0), ``"none"`` (the
        function returns None and writes in place), or ``"sum"``, ``"min"``,
        ``"max"``, ``"any"``, ``"all"`` (combined); ``""`` without a proof.
    reason : str
        Why the proof holds, or why there is none.
    returns_param : str or None
        The function returns this split parameter itself (``x *= 2; return x``).
    broadcast : frozenset of str
        Whole parameters that meet split data in arithmetic (ndim checked per call).
    max_offset : int
        The most axes any split value lost to reductions (for that ndim check).
    ops : int
        Array operations in the body (the cost model's work per element).
    loops : tuple of LoopProof
        Independent top-level loops (for ``prange``).
    loop_reasons : tuple of str
        Why the other top-level loops are not independent.
    """

    params: dict[str, SplitProof] = dataclasses.field(default_factory=dict)
    kind: str = ""
    output: str = ""
    reason: str = "no source"
    returns_param: str | None = None
    broadcast: frozenset[str] = frozenset()
    max_offset: int = 0
    ops: int = 0
    loops: tuple[LoopProof, ...] = ()
    loop_reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.kind)

    @property
    def split_params(self) -> tuple[str, ...]:
        return tuple(p for p, proof in self.params.items() if proof.axis is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "output": self.output, "reason": self.reason,
                "params": {p: proof.axis for p, proof in self.params.items()},
                "loops": [str(lp) for lp in self.loops],
                "loop_reasons": list(self.loop_reasons)}


NO_SPLIT = SplitInfo()

#: NumPy functions applied element by element (every positional argument broadcasts).
ELEMENTWISE = frozenset(
    "sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh exp "
    "exp2 expm1 log log2 log10 log1p sqrt cbrt square abs absolute fabs sign add subtract "
    "multiply divide true_divide floor_divide power float_power mod fmod remainder maximum "
    "minimum fmax fmin clip floor ceil trunc rint isnan isinf isfinite hypot negative "
    "positive reciprocal logical_and logical_or logical_xor logical_not greater "
    "greater_equal less less_equal equal not_equal deg2rad rad2deg degrees radians "
    "conjugate conj real imag angle heaviside copysign signbit".split())
#: Reductions that take ``axis=`` (and ``keepdims=``); a full one (no axis) mixes rows.
REDUCTIONS = frozenset(
    "sum mean std var min max amin amax prod any all nansum nanmean nanstd nanvar nanmin "
    "nanmax ptp median nanmedian argmin argmax count_nonzero".split())
#: Full reductions whose pieces combine exactly (up to float rounding): name → combiner.
COMBINABLE = {"sum": "sum", "min": "min", "amin": "min", "max": "max", "amax": "max",
              "any": "any", "all": "all"}
_REDUCTION_KEYWORDS = frozenset({"axis", "keepdims", "ddof"})
_SAME_SHAPE_METHODS = frozenset({"copy", "astype", "conj", "conjugate", "clip", "round"})
_LIKE = frozenset({"zeros_like", "ones_like", "full_like"})
_NUMPY_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "euler_gamma", "float64", "float32",
                              "int64", "int32", "complex128", "complex64", "bool_"})
_SCALAR_BUILTINS = frozenset({"float", "int", "complex", "bool", "len", "round", "min",
                              "max", "pow", "sum"})


class NoProof(Exception):
    """The body cannot be proved independent: ``line`` and ``why``."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: {why}")
        self.line, self.why = line, why


class _Demote(Exception):
    """Parameters used in a way that mixes rows: retry with them kept whole."""

    def __init__(self, params: frozenset[str], line: int, why: str):
        super().__init__(why)
        self.params, self.line, self.why = params, line, why


@dataclasses.dataclass(frozen=True)
class _Row:
    """An array whose axis 0 is the split axis; ``offset`` axes were reduced away."""

    offset: int = 0
    sources: frozenset[str] = frozenset()
    ident: str | None = None  # this is the parameter itself, as passed
    views: frozenset[str] = frozenset()  # parameters whose memory it may share


@dataclasses.dataclass(frozen=True)
class _Inv:
    """The same in every piece. ``arrays``: parameters whose arrays may flow into it
    unreduced (ndim checked per call); ``opaque``: may be an array of unknown shape."""

    arrays: frozenset[str] = frozenset()
    opaque: bool = False
    views: frozenset[str] = frozenset()


_SCALAR = _Inv()
_Value = Any  # _Row | _Inv


def analyze_split(tree: Any, params: tuple[str, ...], ns: Namespace,
                  has_varargs: bool = False) -> SplitInfo:
    """Prove what can be split in ``tree``; never raises."""
    try:
        return _analyze(tree, params, ns, has_varargs)
    except (RecursionError, ValueError, TypeError, AttributeError) as exc:
        # An AST shape this analysis did not foresee: no proof, never a crash.
        return SplitInfo(reason=f"split analysis failed: {type(exc).__name__}: {exc}")


def _analyze(tree: Any, params: tuple[str, ...], ns: Namespace,
             has_varargs: bool) -> SplitInfo:
    from .split_loops import prove_loops, prove_row_loop

    loops, loop_reasons = prove_loops(tree, params, ns)
    if has_varargs:
        return SplitInfo(reason="*args/**kwargs parameters", loops=loops,
                         loop_reasons=loop_reasons)
    info = _prove_rowwise(tree, params, ns)
    if not info.ok:
        looped = prove_row_loop(tree, params, ns)
        if looped.ok:
            info = looped
        elif _has_loop(tree):
            info = dataclasses.replace(info, reason=looped.reason)
    return dataclasses.replace(info, loops=loops, loop_reasons=loop_reasons)


def _has_loop(tree: Any) -> bool:
    return any(isinstance(n, (ast.For, ast.While)) for n in tree.body)


def _prove_rowwise(tree: Any, params: tuple[str, ...], ns: Namespace) -> SplitInfo:
    candidates = set(params)
    demoted: dict[str, str] = {}
    while True:
        walker = _RowWise(ns, frozenset(candidates), frozenset(params))
        try:
            output = walker.run(tree.body)
        except NoProof as exc:
            return SplitInfo(reason=str(exc))
        except _Demote as exc:
            if not exc.params & candidates:  # cannot happen; never loop forever
                return SplitInfo(reason=f"line {exc.line}: {exc.why}")
            for p in exc.params & candidates:
                demoted[p] = f"line {exc.line}: {exc.why}"
            candidates -= exc.params
            if not candidates:
                return SplitInfo(reason=f"line {exc.line}: {exc.why}")
            continue
        return walker.info(output, demoted)


class _RowWise:
    """Abstract interpretation of a straight-line body over :class:`_Row`/:class:`_Inv`."""

    def __init__(self, ns: Namespace, candidates: frozenset[str], params: frozenset[str]):
        self.ns, self.candidates, self.params = ns, candidates, params
        self.env: dict[str, _Value] = {}
        self.broadcast: set[str] = set()
        self.max_offset = 0
        self.ops = 0
        self.used: set[str] = set()  # split candidates that reach a row-wise value
        self.returns_param: str | None = None
        self.line = 0

    # --- statements ---------------------------------------------------------------

    def run(self, body: list[ast.stmt]) -> str:
        for i, stmt in enumerate(body):
            self.line = stmt.lineno
            last = i == len(body) - 1
            if isinstance(stmt, ast.Return):
                if not last:
                    raise NoProof(stmt.lineno, "code after return")
                return self._return(stmt.value)
            self._statement(stmt, is_first=i == 0)
        return self._return(None)

    def _statement(self, stmt: ast.stmt, is_first: bool) -> None:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return  # a docstring or a bare constant
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value)
            for target in stmt.targets:
                self._assign(target, value, stmt.value)
            return
        if isinstance(stmt, ast.AugAssign):
            self._augassign(stmt)
            return
        kind = type(stmt).__name__.lower()
        raise NoProof(stmt.lineno, f"a {kind} statement: only straight-line NumPy code is "
                                   "proved row-wise")

    def _assign(self, target: ast.expr, value: _Value, node: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value  # `y = x` keeps x's identity: `return y` is x
            return
        if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            if isinstance(value, _Row):
                raise _Demote(value.sources, target.lineno, "unpacks a split array")
            for elt in target.elts:
                self._assign(elt, _Inv(opaque=value.opaque or bool(value.arrays)), node)
            return
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            self._store_subscript(target, value)
            return
        raise NoProof(target.lineno, f"assigns to {ast.unparse(target)}")

    def _store_subscript(self, target: ast.Subscript, value: _Value) -> None:
        base = self.expr(target.value)
        if isinstance(base, _Inv):
            if base.views:
                raise NoProof(target.lineno, f"writes {', '.join(sorted(base.views))}, "
                                             "which every piece gets whole")
            raise NoProof(target.lineno, f"writes into {ast.unparse(target.value)}")
        indexed = self._row_index(base, target.slice, target.lineno)
        self._meet(indexed, value, target.lineno)

    def _augassign(self, stmt: ast.AugAssign) -> None:
        if isinstance(stmt.target, ast.Subscript):
            value = self.expr(stmt.value)
            self._store_subscript(stmt.target, value)
            return
        if not isinstance(stmt.target, ast.Name):
            raise NoProof(stmt.lineno, f"updates {ast.unparse(stmt.target)}")
        name = stmt.target.id
        current = self._name(stmt.target)
        value = self.expr(stmt.value)
        if isinstance(current, _Inv):
            if current.views or name in self.params:
                raise NoProof(stmt.lineno, f"updates {name!r} in place, which every piece "
                                           "gets whole")
            merged = self._meet(current, value, stmt.lineno)
            self.env[name] = merged
            return
        # An array updated in place: the piece's view (or a fresh local) changes row by row,
        # and the name keeps its identity (`x *= 2; return x` returns x itself).
        self._meet(current, value, stmt.lineno)
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
        if isinstance(value, _Inv):
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
        if not isinstance(value, _Row):
            return None
        self.ops += 1
        return COMBINABLE[name]

    def _reduction_call(self, node: ast.Call) -> tuple[str | None, ast.expr | None]:
        func = node.func
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if isinstance(func, ast.Attribute) and self._is_local(func):
            dotted = None
        if dotted and dotted.startswith("numpy.") and dotted.count(".") == 1:
            return dotted.split(".", 1)[1], None
        if isinstance(func, ast.Attribute) and not dotted:
            return func.attr, func.value
        return None, None

    def info(self, output: str, demoted: dict[str, str]) -> SplitInfo:
        proofs: dict[str, SplitProof] = {}
        why = {"rows": "row-wise NumPy: every operation keeps axis 0 apart",
               "none": "row-wise NumPy, written in place",
               }.get(output, f"row-wise NumPy, then a {output} that combines the pieces")
        split = [p for p in self.params if p in self.candidates and p in self.used]
        if not split:
            return SplitInfo(reason="no parameter is used row by row")
        for p in sorted(self.params, key=list(self.params).index):
            if p in split:
                proofs[p] = SplitProof(p, 0, why)
            else:
                proofs[p] = SplitProof(p, None, demoted.get(p, "not used row by row"))
        return SplitInfo(params=proofs, kind="rows", output=output, reason=why,
                         returns_param=self.returns_param,
                         broadcast=frozenset(self.broadcast), max_offset=self.max_offset,
                         ops=max(1, self.ops))

    # --- expressions --------------------------------------------------------------

    def expr(self, node: ast.expr) -> _Value:
        self.line = getattr(node, "lineno", self.line)
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NoProof(self.line, f"{type(node).__name__.lower()} expression "
                                     f"{ast.unparse(node)[:40]!r}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> _Value:
        return _SCALAR

    def _Name(self, node: ast.Name) -> _Value:
        return self._name(node)

    def _name(self, node: ast.Name) -> _Value:
        name = node.id
        if name in self.env:
            return self.env[name]
        if name in self.params:
            if name in self.candidates:
                self.used.add(name)
                return _Row(0, frozenset({name}), name, frozenset({name}))
            return _Inv(frozenset({name}), views=frozenset({name}))
        found, value = self.ns.lookup(name)
        if found and isinstance(value, (int, float, complex, bool)):
            return _SCALAR
        raise NoProof(node.lineno, f"reads {name!r}, which is not a parameter or a number")

    def _Tuple(self, node: ast.Tuple) -> _Value:
        values = [self.expr(e) for e in node.elts]
        rows = [v for v in values if isinstance(v, _Row)]
        if rows:
            raise _Demote(frozenset().union(*(r.sources for r in rows)), node.lineno,
                          "puts a split array in a tuple")
        return _Inv(frozenset().union(*(v.arrays for v in values)) if values else frozenset(),
                    opaque=True)

    def _BinOp(self, node: ast.BinOp) -> _Value:
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.op, ast.MatMult):
            self._no_rows((left, right), node, "a matrix product (left to BLAS)")
            return _Inv(left.arrays | right.arrays, opaque=True)
        self.ops += 1
        return self._meet(left, right, node.lineno)

    def _UnaryOp(self, node: ast.UnaryOp) -> _Value:
        value = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            self._no_rows((value,), node, "`not` of an array")
            return _SCALAR
        if isinstance(value, _Row):
            self.ops += 1
            return _Row(value.offset, value.sources)
        return _Inv(value.arrays, value.opaque)

    def _Compare(self, node: ast.Compare) -> _Value:
        values = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
        plain_ops = (ast.Lt, ast.Gt, ast.LtE, ast.GtE, ast.Eq, ast.NotEq)
        if len(node.ops) != 1 or not isinstance(node.ops[0], plain_ops):
            self._no_rows(values, node, "a chained or identity comparison")
            return _SCALAR
        self.ops += 1
        return self._meet(values[0], values[1], node.lineno)

    def _BoolOp(self, node: ast.BoolOp) -> _Value:
        values = [self.expr(v) for v in node.values]
        self._no_rows(values, node, "`and`/`or` of arrays")
        return _Inv(opaque=True)

    def _IfExp(self, node: ast.IfExp) -> _Value:
        test = self.expr(node.test)
        self._no_rows((test,), node, "a condition on a split array")
        body, orelse = self.expr(node.body), self.expr(node.orelse)
        if isinstance(body, _Row) != isinstance(orelse, _Row):
            raise NoProof(node.lineno, "one branch is split, the other is not")
        return self._meet(body, orelse, node.lineno)

    def _Attribute(self, node: ast.Attribute) -> _Value:
        dotted = self.ns.dotted(node)
        if dotted is not None and not self._is_local(node):
            if dotted.startswith("numpy.") and dotted.split(".", 1)[1] in _NUMPY_CONSTANTS:
                return _SCALAR
            if dotted.startswith("math."):
                return _SCALAR
            raise NoProof(node.lineno, f"uses {dotted}")
        base = self.expr(node.value)
        if node.attr in ("ndim", "dtype", "itemsize"):
            return _SCALAR
        if isinstance(base, _Row):
            if node.attr in ("real", "imag"):
                return _Row(base.offset, base.sources, None, base.views)
            raise _Demote(base.sources, node.lineno, f"reads .{node.attr} of a split array")
        if node.attr == "size":
            return _SCALAR
        return _Inv(base.arrays, True, base.views)

    def _is_local(self, node: ast.expr) -> bool:
        """Is the root of ``a.b.c`` a local or a parameter (not a module)?"""
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and (node.id in self.env or node.id in self.params)

    def _Subscript(self, node: ast.Subscript) -> _Value:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            base = self.expr(node.value.value)
            k = node.slice
            if isinstance(base, _Row):
                if isinstance(k, ast.Constant) and isinstance(k.value, int) and k.value >= 1:
                    return _SCALAR
                raise _Demote(base.sources, node.lineno, "reads the length of a split axis")
            return _SCALAR
        base = self.expr(node.value)
        if isinstance(base, _Row):
            return self._row_index(base, node.slice, node.lineno)
        index = self.expr(node.slice) if not isinstance(node.slice, ast.Slice) else _SCALAR
        self._no_rows((index,), node, "indexes with a split array")
        return _Inv(base.arrays, True, base.views)

    def _row_index(self, base: _Row, index: ast.expr, line: int) -> _Row:
        """``x[:]``, ``x[:, k]``, ``x[:, 1:3]``, ``x[:, None]``: axis 0 stays whole."""
        elts = index.elts if isinstance(index, ast.Tuple) else [index]
        if not elts or not _is_full_slice(elts[0]):
            raise _Demote(base.sources, line, "indexes a split array along axis 0")
        offset = base.offset
        for elt in elts[1:]:
            if isinstance(elt, ast.Slice):
                for part in (elt.lower, elt.upper, elt.step):
                    if part is not None:
                        self._no_rows((self.expr(part),), elt, "a slice bound from split data")
            elif (isinstance(elt, ast.Constant) and elt.value is None) or \
                    self._dotted(elt) == "numpy.newaxis":
                offset -= 1
            elif isinstance(elt, ast.Constant) and elt.value is Ellipsis:
                pass
            elif isinstance(elt, ast.Constant) and isinstance(elt.value, int):
                offset += 1
            else:
                raise _Demote(base.sources, line, "indexes a split array with "
                                                  f"{ast.unparse(elt)}")
        self.max_offset = max(self.max_offset, offset)
        return _Row(offset, base.sources, None, base.views)

    def _Call(self, node: ast.Call) -> _Value:
        func = node.func
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if isinstance(func, ast.Attribute) and self._is_local(func):
            dotted = None  # a method of a local or a parameter, not a module function
        if dotted is not None and dotted.startswith("builtins."):
            return self._builtin_call(dotted.split(".", 1)[1], node)
        if dotted is not None:
            return self._module_call(dotted, node)
        if isinstance(func, ast.Attribute):
            return self._method_call(func, node)
        if isinstance(func, ast.Name):
            return self._builtin_call(func.id, node)
        raise NoProof(node.lineno, f"calls {ast.unparse(func)[:40]}")

    def _module_call(self, dotted: str, node: ast.Call) -> _Value:
        root, _, leaf = dotted.rpartition(".")
        if root == "numpy" and leaf in ELEMENTWISE:
            if any(kw.arg != "dtype" for kw in node.keywords):
                raise NoProof(node.lineno, f"np.{leaf} with keyword arguments")
            if leaf == "clip" and len(node.args) != 3:
                raise NoProof(node.lineno, "np.clip without both bounds")
            return self._elementwise([self.expr(a) for a in node.args], node)
        if root == "numpy" and leaf == "where" and len(node.args) == 3 and not node.keywords:
            return self._elementwise([self.expr(a) for a in node.args], node)
        if root == "numpy" and leaf in REDUCTIONS:
            if not node.args:
                raise NoProof(node.lineno, f"np.{leaf} without an array")
            return self._reduce(leaf, self.expr(node.args[0]), node.args[1:], node)
        if root == "numpy" and leaf in _LIKE:
            values = [self.expr(a) for a in node.args]
            if not values or any(isinstance(v, _Row) for v in values[1:]):
                raise NoProof(node.lineno, f"np.{leaf} with split fill values")
            first = values[0]
            return _Row(first.offset, first.sources) if isinstance(first, _Row) \
                else _Inv(first.arrays, True)
        if root == "numpy" and leaf in ("asarray", "array", "ascontiguousarray") \
                and len(node.args) == 1 and all(k.arg == "dtype" for k in node.keywords):
            value = self.expr(node.args[0])
            return dataclasses.replace(value, ident=None) if isinstance(value, _Row) else value
        values = [self.expr(a) for a in node.args] + [self.expr(k.value) for k in node.keywords]
        self._no_rows(values, node, f"passes split data to {dotted}()")
        if root == "math":
            return _SCALAR
        return _Inv(frozenset().union(*(v.arrays for v in values)) if values else frozenset(),
                    opaque=True)

    def _method_call(self, func: ast.Attribute, node: ast.Call) -> _Value:
        base = self.expr(func.value)
        name = func.attr
        if name in REDUCTIONS:
            return self._reduce(name, base, node.args, node)
        if isinstance(base, _Row):
            if name in _SAME_SHAPE_METHODS and not any(k.arg not in ("dtype", "decimals")
                                                       for k in node.keywords):
                extra = [self.expr(a) for a in node.args]
                if name == "clip":
                    return self._elementwise([base] + extra, node)
                self._no_rows(extra, node, f".{name}() with split arguments")
                self.ops += 1
                return _Row(base.offset, base.sources)
            raise _Demote(base.sources, node.lineno, f"calls .{name}() on a split array")
        values = [self.expr(a) for a in node.args] + [self.expr(k.value) for k in node.keywords]
        self._no_rows(values, node, f"passes split data to .{name}()")
        return _Inv(base.arrays, True)

    def _builtin_call(self, name: str, node: ast.Call) -> _Value:
        found, value = self.ns.lookup(name)
        builtin = found and getattr(value, "__module__", None) == "builtins"
        values = [self.expr(a) for a in node.args] + [self.expr(k.value) for k in node.keywords]
        if builtin and name == "abs" and len(values) == 1:
            only = values[0]
            self.ops += isinstance(only, _Row)
            return _Row(only.offset, only.sources) if isinstance(only, _Row) else only
        self._no_rows(values, node, f"passes split data to {name}()")
        if builtin and name in _SCALAR_BUILTINS:
            return _SCALAR
        return _Inv(frozenset().union(*(v.arrays for v in values)) if values else frozenset(),
                    opaque=True)

    def _elementwise(self, values: list[_Value], node: ast.AST) -> _Value:
        self.ops += 1
        result = values[0] if values else _SCALAR
        for value in values[1:]:
            result = self._meet(result, value, getattr(node, "lineno", self.line))
        if isinstance(result, _Row):
            return _Row(result.offset, result.sources)
        return result

    def _reduce(self, name: str, base: _Value, args: list[ast.expr], node: ast.Call) -> _Value:
        axis, keepdims = self._axis(name, args, node)
        if isinstance(base, _Inv):
            if axis is None and not keepdims:  # a scalar
                return _SCALAR
            return _Inv(base.arrays, base.opaque)
        if axis is None or any(a < 1 for a in axis):
            raise _Demote(base.sources, node.lineno,
                          f"{name}() over {'all axes' if axis is None else 'axis 0'} "
                          "of a split array")
        if name in ("argmin", "argmax") and len(axis) != 1:
            raise NoProof(node.lineno, f"{name}() over several axes")
        self.ops += 1
        offset = base.offset + (0 if keepdims else len(axis))
        self.max_offset = max(self.max_offset, offset)
        return _Row(offset, base.sources)

    def _axis(self, name: str, args: list[ast.expr],
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
                self._no_rows((self.expr(kw.value),), node, f"{kw.arg}= from split data")
        if axis_node is None or (isinstance(axis_node, ast.Constant) and axis_node.value is None):
            return None, keepdims
        elts = axis_node.elts if isinstance(axis_node, ast.Tuple) else [axis_node]
        axes = []
        for elt in elts:
            if not isinstance(elt, ast.Constant) or type(elt.value) is not int:
                raise NoProof(node.lineno, f"{name}() with an axis that is not a constant")
            axes.append(elt.value)
        if len(set(axes)) != len(axes):
            raise NoProof(node.lineno, f"{name}() with a repeated axis")
        return tuple(axes), keepdims

    # --- joining values -------------------------------------------------------------

    def _meet(self, a: _Value, b: _Value, line: int) -> _Value:
        """The value of an elementwise operation on ``a`` and ``b`` (broadcasting)."""
        if isinstance(a, _Row) and isinstance(b, _Row):
            if a.offset != b.offset:
                raise _Demote(a.sources | b.sources, line,
                              "combines split arrays that lost different numbers of axes")
            return _Row(a.offset, a.sources | b.sources, None, a.views)
        if isinstance(a, _Row) or isinstance(b, _Row):
            row, inv = (a, b) if isinstance(a, _Row) else (b, a)
            assert isinstance(row, _Row) and isinstance(inv, _Inv)
            if inv.opaque:
                raise NoProof(line, "combines split data with an array of unknown shape")
            self.broadcast.update(inv.arrays)
            return _Row(row.offset, row.sources, None, row.views)
        assert isinstance(a, _Inv) and isinstance(b, _Inv)
        return _Inv(a.arrays | b.arrays, a.opaque or b.opaque)

    def _dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, (ast.Name, ast.Attribute)) and not self._is_local(node):
            return self.ns.dotted(node)
        return None

    def _no_rows(self, values: Any, node: ast.AST, why: str) -> None:
        sources: frozenset[str] = frozenset()
        for value in values:
            if isinstance(value, _Row):
                sources |= value.sources
        if sources:
            raise _Demote(sources, getattr(node, "lineno", self.line), why)


def _is_full_slice(node: ast.expr) -> bool:
    return isinstance(node, ast.Slice) and node.lower is None and node.upper is None \
        and node.step is None


def function_findings(ctx: Any) -> dict[str, Any]:
    """Level 3's part of :func:`optlevel.analysis.analyze`: the split proofs."""
    if ctx.tree is None:
        return {"split": NO_SPLIT}
    return {"split": analyze_split(ctx.tree, ctx.params, ctx.namespace, ctx.has_varargs)}
