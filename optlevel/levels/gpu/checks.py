"""What a function's AST says about running it on a GPU, computed once per function.

- element loops (a loop that indexes arrays with its counter) would launch one
  kernel per element: level 4 declines them; loops that repeat whole-array work
  (``for _ in range(steps): y = y * 0.25 + 1``) run, one launch per operation;
- a body that is purely elementwise (assignments and one ``return`` of ufuncs,
  arithmetic, comparisons, ``where`` and scalars) is proven fusable into one kernel
  and splittable into chunks of elements;
- calls whose GPU result would differ from NumPy's: ``argsort`` without
  ``kind="stable"``, ``partition`` (both leave ties in an unspecified order);
  floor division and modulo (``//``, ``%``, ``np.floor_divide``, ``np.remainder``,
  ``divmod``): CuPy floors ``a / b`` for floats where NumPy divides by ``fmod``, so
  ``3.0 // 0.05`` is 59.0 in NumPy and 60.0 on CuPy, and ``3.0 % 0.05`` is 0.05 in
  NumPy and -1.7e-16 on CuPy (measured on an H100, CuPy 14.2); integer division by
  zero gives 0 there without NumPy's warning;
- a power whose exponent may be a negative integer (``x ** k``, ``np.power(x, k)``
  with ``k`` not a literal ``2``/``0.5``...): NumPy raises ``ValueError`` for an
  integer base, CuPy's ``integral_power`` returns 0, 1 or -1 instead (its source
  says so, "not officially documented"); level 4 declines such a power where the
  call has an integer argument or the body makes integers (:mod:`.risks`);
- an index that may be an integer array (``x[idx]``, ``x[order] = v``): NumPy raises
  ``IndexError`` for an index out of bounds, CuPy wraps it around (documented in
  CuPy's "Differences between CuPy and NumPy"); level 4 declines such an index unless
  it is a slice, a constant, a scalar (``len(x) - 1``, a scalar argument) or a mask
  (``x[x > 0]``) (:mod:`.risks`);
- a cast of floats to a type that may be an integer one (``x.astype(int)``): NaN,
  infinities and values out of range cast otherwise on the GPU (:mod:`.risks`);
- array methods called (``x.std()``), which Torch tensors implement differently;
- whether a 0-d result could be a 0-d *array* in NumPy rather than a scalar.
"""

from __future__ import annotations

import ast
import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

from ...analysis import FunctionFeatures
from ...analysis.scope import Finding, Namespace, module_scope
from ...analysis.source import unwrap_callable
from ...analysis.tables import COSTLY_ELEMENTWISE, ELEMENTWISE
from ...core.runtime import RUNTIME
from .risks import indexes, int_casts, safe_exponent

__all__ = ["GpuFindings", "gpu_findings", "FUSABLE_UFUNCS", "COSTLY_UFUNCS",
           "FLOOR_UFUNCS"]

#: Elementwise in NumPy (:data:`~optlevel.analysis.tables.ELEMENTWISE`), but kept out
#: of fused kernels: a body that calls one is not proven elementwise and runs unfused.
_NOT_FUSED = frozenset({
    # not ufuncs but NumPy functions that return views: np.real(x) is x itself for a
    # real x, and np.imag(x) a read-only zero array, where a kernel makes a new array
    "real", "imag",
    # Python functions with rules of their own, not ufuncs: np.clip takes complex
    # arrays (CuPy's refuses them) and special-cases bounds outside the dtype's range
    # (np.clip(int8, 0, 300) stays int8); np.angle takes deg=
    "clip", "angle",
    # ufuncs in both libraries that no GPU test compares with NumPy inside a
    # cupy.fuse kernel yet; they join when one does
    "conj", "conjugate", "float_power", "heaviside", "signbit",
})
#: NumPy calls a fused kernel may make: the shared elementwise table less the above,
#: plus ``where``, which selects element by element from its arguments.
FUSABLE_UFUNCS = (ELEMENTWISE - _NOT_FUSED) | {"where"}
#: The ones that cost tens of cycles per element on a CPU (the cost model's weight).
COSTLY_UFUNCS = COSTLY_ELEMENTWISE
_NUMPY_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "euler_gamma"})
_FUSABLE_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_FUSABLE_CMPOPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_UNSTABLE_ORDER = frozenset({"argsort", "argpartition", "partition", "lexsort"})
#: NumPy's floor division and modulo, which the GPU libraries compute otherwise
FLOOR_UFUNCS = frozenset({"floor_divide", "remainder", "mod", "divmod"})
_FLOOR_BINOPS = (ast.FloorDiv, ast.Mod)
_FLOOR_WHY = ("{what} on the GPU is not NumPy's: CuPy floors a / b where NumPy divides "
              "by fmod (3.0 // 0.05 is 59.0 in NumPy, 60.0 on CuPy; 3.0 % 0.05 is 0.05 and "
              "-1.7e-16), and an integer division by zero gives 0 without NumPy's warning")
#: NumPy's powers (``float_power`` always computes in floats: not listed)
_POWER_UFUNCS = frozenset({"power", "pow"})
#: names and attributes that give integer arrays inside a body whose arguments are
#: floats (integer dtypes named, index-valued functions); sizes (``len``, ``.shape``)
#: are Python ints, powered on the host as in plain Python
_INT_MAKERS = frozenset(
    "astype view arange full full_like int bool argmax argmin "
    "argsort argwhere nonzero flatnonzero count_nonzero searchsorted digitize "
    "bincount indices unravel_index ravel_multi_index int8 int16 int32 int64 uint8 "
    "uint16 uint32 uint64 intp uintp intc uintc bool_ integer signedinteger".split())
#: calls after which a 0-d result may be a 0-d array in NumPy (``np.array(3.0)``)
_ZERO_D_ARRAYS = frozenset(
    "array asarray asanyarray ascontiguousarray copy where zeros ones empty full "
    "zeros_like ones_like empty_like full_like reshape atleast_1d squeeze".split())
_ZERO_D_METHODS = frozenset({"reshape", "copy", "astype", "view", "squeeze"})


@dataclasses.dataclass(frozen=True)
class GpuFindings:
    """What level 4 needs to know about a function body."""

    elementwise: bool = False
    element_loops: tuple[Finding, ...] = ()
    array_loops: tuple[Finding, ...] = ()
    ops: int = 0  # array operations written in the body (one launch each, unfused)
    costly_ops: int = 0  # of which transcendental ufuncs (sin, exp, ...)
    methods: tuple[str, ...] = ()
    unstable_order: tuple[Finding, ...] = ()
    floor_mod: tuple[Finding, ...] = ()  # floor division and modulo (see the module doc)
    #: powers whose exponent may be a negative integer (see the module doc)
    powers: tuple[Finding, ...] = ()
    makes_ints: bool = False  # the body calls something that gives integers
    #: casts to types that may be integer ones (:mod:`.risks`)
    int_casts: tuple[Finding, ...] = ()
    #: indexes that may be integer arrays whatever the arguments (see the module doc)
    index_arrays: tuple[Finding, ...] = ()
    #: (parameter, finding): indexes by a parameter, integer arrays for some calls
    index_params: tuple[tuple[str, Finding], ...] = ()
    #: positions of the returned tuple (None: the whole value) that NumPy may return as
    #: a 0-d *array* (made by np.array/asarray/where/... or .reshape/.copy)
    zero_d_arrays: frozenset = frozenset()
    #: parameters along whose axis 0 the work is independent and the result's rows are
    #: the pieces' rows: from the split proof, or ``return a @ b`` (rows of ``a``)
    row_split: tuple[str, ...] = ()
    row_split_ndim: int = 1  # the split arrays need at least this many axes (2: matmul)
    reason: str = ""  # why the body is not purely elementwise


#: findings by ``id(features)``; an entry goes when its features object dies
_FINDINGS = RUNTIME.cache("gpu.findings", maxsize=1024)


def gpu_findings(features: FunctionFeatures,
                 func: Callable[..., Any] | None = None) -> GpuFindings:
    """The findings for the function ``features`` describes, cached per features object.

    The backend protocol hands ``applies`` and ``estimate`` the features but not the
    function, so names are then resolved against the globals of the module the
    source came from (closure variables stay unresolved, which only ever makes the
    findings more cautious); ``prepare`` passes the function itself.
    """
    key = id(features)

    def analyze() -> GpuFindings:
        scope = unwrap_callable(func) if func is not None else module_scope(features)
        found = _analyze(scope, features)
        weakref.finalize(features, _FINDINGS.pop, key, None)
        return found

    return _FINDINGS.get_or_make(key, analyze)


def _analyze(func: Callable[..., Any], features: FunctionFeatures) -> GpuFindings:
    tree = features.source.tree
    if tree is None:
        return GpuFindings(reason=features.source.reason)
    ns = Namespace(func)
    walker = _Walker(ns)
    walker.visit_body(tree)
    proof = _ElementwiseProof(ns, set(features.params))
    elementwise, why = proof.check(tree)
    return GpuFindings(
        elementwise=elementwise and not features.mutated_params,
        element_loops=tuple(walker.element_loops), array_loops=tuple(walker.array_loops),
        ops=walker.ops, costly_ops=walker.costly, methods=tuple(sorted(walker.methods)),
        unstable_order=tuple(walker.unstable), floor_mod=tuple(walker.floor_mod),
        powers=tuple(walker.powers), makes_ints=walker.makes_ints,
        **indexes(tree, set(features.params)), int_casts=int_casts(tree),
        zero_d_arrays=_zero_d_positions(tree, ns),
        row_split=_row_split(tree, ns, features),
        row_split_ndim=1 if getattr(features, "split", None) is not None
        and features.split.kind == "rows" else 2,
        reason=why if not features.mutated_params else "it writes into an argument")


class _Walker(ast.NodeVisitor):
    """Loops, operation counts, method calls and order-unstable calls."""

    def __init__(self, ns: Namespace):
        self.ns = ns
        self.element_loops: list[Finding] = []
        self.array_loops: list[Finding] = []
        self.ops = self.costly = 0
        self.methods: set[str] = set()
        self.unstable: list[Finding] = []
        self.floor_mod: list[Finding] = []
        self.powers: list[Finding] = []
        self.makes_ints = False

    def visit_body(self, tree: ast.AST) -> None:
        for stmt in getattr(tree, "body", []):
            self.visit(stmt)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return None  # an inner function is not this body's work

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]
    visit_Lambda = visit_FunctionDef  # type: ignore[assignment]

    def _loop(self, node: ast.For | ast.While, counters: set[str]) -> None:
        if not counters and isinstance(node, ast.While):
            counters = {t.id for n in ast.walk(node) if isinstance(n, ast.AugAssign)
                        for t in [n.target] if isinstance(t, ast.Name)}
        indexed = any(isinstance(n, ast.Subscript) and any(
            isinstance(m, ast.Name) and m.id in counters for m in ast.walk(n.slice))
            for n in ast.walk(node))
        target = self.element_loops if indexed else self.array_loops
        target.append(Finding(node.lineno, "loop indexing arrays element by element"
                              if indexed else "loop repeating whole-array work"))
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._loop(node, {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)})

    def visit_While(self, node: ast.While) -> None:
        self._loop(node, set())

    def visit_BinOp(self, node: ast.BinOp) -> None:
        self.ops += 1
        self.costly += isinstance(node.op, ast.Pow)
        self._floor(node, node.op)
        if isinstance(node.op, ast.Pow):
            self._power(node, node.right, "`**`")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._floor(node, node.op)
        if isinstance(node.op, ast.Pow):
            self._power(node, node.value, "`**=`")
        self.generic_visit(node)

    def _power(self, node: ast.AST, exponent: ast.expr | None, what: str) -> None:
        if exponent is not None and safe_exponent(exponent):
            return
        self.powers.append(Finding(getattr(node, "lineno", 0), f"{what} with an exponent "
                                   "that may be a negative integer: NumPy raises ValueError "
                                   "for an integer base, CuPy returns 0, 1 or -1"))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _INT_MAKERS:
            self.makes_ints = True
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _INT_MAKERS:
            self.makes_ints = True

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg == "dtype":  # any dtype named in the body may be an integer one
            self.makes_ints = True
        self.generic_visit(node)

    def _literal(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        if any(isinstance(e, ast.Constant) and type(e.value) in (int, bool)
               for e in node.elts):  # np.array([1, 2, 3])
            self.makes_ints = True
        self.generic_visit(node)

    visit_List = visit_Tuple = visit_Set = _literal  # type: ignore[assignment]

    def _floor(self, node: ast.AST, op: ast.AST) -> None:
        if isinstance(op, _FLOOR_BINOPS):
            symbol = "//" if isinstance(op, ast.FloorDiv) else "%"
            self.floor_mod.append(Finding(getattr(node, "lineno", 0),
                                          _FLOOR_WHY.format(what=f"`{symbol}`")))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        self.ops += 1
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        self.ops += len(node.ops)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        leaf = ""
        if dotted and dotted.startswith("numpy."):
            leaf = dotted.rsplit(".", 1)[-1]
            self.ops += 1
            self.costly += leaf in COSTLY_UFUNCS
        elif isinstance(func, ast.Attribute) and dotted is None:
            leaf = func.attr
            self.methods.add(leaf)
            self.ops += 1
        elif isinstance(func, ast.Name) and func.id == "divmod":
            leaf = "divmod"  # the builtin calls np.divmod on arrays
        if leaf in FLOOR_UFUNCS:
            self.floor_mod.append(Finding(node.lineno, _FLOOR_WHY.format(what=f"{leaf}()")))
        if leaf in _POWER_UFUNCS or (isinstance(func, ast.Name) and func.id == "pow"):
            exponent = node.args[1] if len(node.args) > 1 else None
            self._power(node, exponent, f"{leaf or 'pow'}()")
        if leaf in _UNSTABLE_ORDER and not _stable_kind(node):
            what = f"{leaf}() leaves equal keys in an order that differs between NumPy " \
                   "and the GPU (pass kind='stable')" if "sort" in leaf else \
                   f"{leaf}() leaves the elements around the pivot in an unspecified order"
            self.unstable.append(Finding(node.lineno, what))
        self.generic_visit(node)


def _zero_d_positions(tree: ast.AST, ns: Namespace) -> frozenset:
    """Where a 0-d result could be an array in NumPy: the returned expressions (or the
    names they return) that come straight from np.array/asarray/where/... or
    .reshape/.copy. Arithmetic and reductions on arrays give NumPy scalars."""
    assigned: dict[str, list[ast.expr]] = {}
    returns: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.Return) and node.value is not None:
            returns.append(node.value)

    def maker(expr: ast.expr, depth: int = 0) -> bool:
        if isinstance(expr, ast.Name) and depth < 4:
            return any(maker(v, depth + 1) for v in assigned.get(expr.id, []))
        if not isinstance(expr, ast.Call):
            return False
        func = expr.func
        dotted = ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted is not None:
            return dotted.startswith("numpy.") and dotted.rsplit(".", 1)[-1] in _ZERO_D_ARRAYS
        return isinstance(func, ast.Attribute) and func.attr in _ZERO_D_METHODS

    out: set[int | None] = set()
    for value in returns:
        if isinstance(value, ast.Tuple):
            out.update(i for i, elt in enumerate(value.elts) if maker(elt))
        elif maker(value):
            out.add(None)
    return frozenset(out)


def _row_split(tree: Any, ns: Namespace, features: FunctionFeatures) -> tuple[str, ...]:
    """The parameters a piece of rows can be cut from (see :attr:`GpuFindings.row_split`)."""
    split = getattr(features, "split", None)
    if split is not None and split.kind == "rows" and split.output == "rows" and \
            split.split_params and not features.mutated_params and \
            all(split.params[p].axis == 0 for p in split.split_params):
        return tuple(split.split_params)
    body = [s for s in tree.body if not (isinstance(s, ast.Expr)
                                         and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return ()
    value = body[0].value
    pair: list[ast.expr] = []
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
        pair = [value.left, value.right]
    elif isinstance(value, ast.Call) and len(value.args) == 2 and not value.keywords:
        dotted = ns.dotted(value.func) if isinstance(value.func, (ast.Name, ast.Attribute)) \
            else None
        if dotted in ("numpy.matmul", "numpy.dot"):
            pair = list(value.args)
    params = set(features.params)
    if len(pair) == 2 and all(isinstance(p, ast.Name) and p.id in params for p in pair):
        return (pair[0].id,)  # type: ignore[attr-defined]
    return ()


def _stable_kind(call: ast.Call) -> bool:
    return any(kw.arg in ("kind", "stable") and isinstance(kw.value, ast.Constant)
               and kw.value.value in ("stable", "mergesort", True) for kw in call.keywords)


class _ElementwiseProof:
    """Proves a body purely elementwise: assignments to local names, then one return,
    built from ufuncs, arithmetic, single comparisons, constants and names."""

    def __init__(self, ns: Namespace, params: set[str]):
        self.ns = ns
        self.names = set(params)

    def check(self, tree: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[bool, str]:
        body = list(tree.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
            return False, "it does not end in one return of an expression"
        for stmt in body[:-1]:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                return False, f"line {stmt.lineno}: not a plain assignment"
            why = self._expr(stmt.value)
            if why:
                return False, why
            self.names.add(stmt.targets[0].id)
        why = self._expr(body[-1].value)  # type: ignore[arg-type]
        return (not why), why

    def _expr(self, node: ast.expr) -> str:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant):
            ok = isinstance(node.value, (int, float, complex, bool))
            return "" if ok else f"line {line}: a {type(node.value).__name__} constant"
        if isinstance(node, ast.Name):
            return "" if node.id in self.names else f"line {line}: reads {node.id!r}"
        if isinstance(node, ast.Attribute):
            dotted = self.ns.dotted(node)
            ok = dotted is not None and dotted.startswith("numpy.") and \
                dotted.rsplit(".", 1)[-1] in _NUMPY_CONSTANTS
            return "" if ok else f"line {line}: reads an attribute"
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _FUSABLE_BINOPS):
                return f"line {line}: operator {type(node.op).__name__}"
            return self._expr(node.left) or self._expr(node.right)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                return f"line {line}: operator {type(node.op).__name__}"
            return self._expr(node.operand)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1 or not isinstance(node.ops[0], _FUSABLE_CMPOPS):
                return f"line {line}: a chained comparison"
            return self._expr(node.left) or self._expr(node.comparators[0])
        if isinstance(node, ast.Call):
            return self._call(node)
        return f"line {line}: {type(node).__name__}"

    def _call(self, node: ast.Call) -> str:
        line = node.lineno
        dotted = self.ns.dotted(node.func) if isinstance(node.func, (ast.Name, ast.Attribute)) \
            else None
        if dotted is None or not dotted.startswith("numpy.") or dotted.count(".") != 1:
            return f"line {line}: calls something other than a NumPy ufunc"
        leaf = dotted.split(".", 1)[1]
        if leaf not in FUSABLE_UFUNCS:
            return f"line {line}: np.{leaf} is not elementwise"
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            return f"line {line}: np.{leaf} with keyword arguments"
        for arg in node.args:
            why = self._expr(arg)
            if why:
                return why
        return ""
