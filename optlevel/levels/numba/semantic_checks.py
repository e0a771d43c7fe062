"""The AST detectors of the catalogue (:mod:`.semantics`).

:func:`check` runs every detector over a function's AST once per set of
parameter kinds: at decoration (parameters unknown, so only what holds for every
call is found) and for each new argument-type signature. Each detector is a
small function ``(ctx) -> findings``; :class:`_Context` carries the AST, the
scalar kinds (:class:`~.kinds.Kinds`), loop-carried variables and the names
proven non-negative.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .kinds import (
    ARG,
    UNKNOWN,
    Kinds,
    dtype_of,
    is_numpy,
    numba_result,
    numpy_result,
    param_kinds,
    value_kind,
)
from ...analysis.scope import Namespace
from .semantics import SemanticFinding, finding

__all__ = ["check", "CHECKED_MATH", "shim_plan"]

#: math functions compiled with Python's error checks (SEM008), and whether an
#: infinite result from a finite argument is an OverflowError (else ValueError).
CHECKED_MATH: dict[str, bool] = {
    **dict.fromkeys("sqrt log log2 log10 log1p acos asin acosh atanh cos sin tan erf erfc "
                    "atan asinh tanh fabs gamma lgamma".split(), False),
    **dict.fromkeys("exp expm1 cosh sinh pow hypot ldexp".split(), True),
    "fmod": False,
}
_MATH_TO_INT = frozenset({"floor", "ceil", "trunc"})
_PAIRWISE = frozenset("sum mean var std nansum nanmean nanvar nanstd average".split())
_NARROW_FLOATS = frozenset({"float32", "complex64"})


class _Context:
    def __init__(self, func: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef,
                 params: tuple[str, ...], signature: Any):
        self.tree = tree
        self.ns = Namespace(func)
        self.kinds = Kinds(tree, self.ns, param_kinds(signature, params))
        self.resolved = signature is not None
        self.loops = [n for n in _walk(tree) if isinstance(n, (ast.For, ast.While))]
        self.carried = _carried(self.loops)
        self.loop_targets = {t.id for loop in self.loops if isinstance(loop, ast.For)
                             for t in ast.walk(loop.target) if isinstance(t, ast.Name)}
        self.nonneg = _nonneg_names(tree, self)
        self.parents = {child: node for node in _walk(tree)
                        for child in ast.iter_child_nodes(node)}

    def of(self, node: ast.expr) -> set[str]:
        return self.kinds.of(node)

    def var(self, name: str) -> set[str]:
        return set(self.kinds.env.get(name, set()))

    def builtin(self, node: ast.expr, name: str) -> bool:
        """Is ``node`` the builtin ``name`` (not shadowed by a local, global or cell)?"""
        return isinstance(node, ast.Name) and node.id == name and \
            not self.kinds._shadowed(name)

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.ns.dotted(node)
        return None


def check(func: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef, params: tuple[str, ...],
          signature: Any = None) -> list[SemanticFinding]:
    """Every catalogue finding in ``tree``; ``signature`` None means "for every call"."""
    ctx = _Context(func, tree, params, signature)
    found: list[SemanticFinding] = []
    for detector in _DETECTORS:
        found.extend(detector(ctx))
    unique = {(f.line, f.detail, f.what): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.detail))


# --- helpers -------------------------------------------------------------------------
def _walk(tree: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``tree``'s own body, not of functions or classes nested in it."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _updates(loop: ast.AST) -> Iterator[tuple[str, ast.expr, ast.stmt]]:
    """(variable, the expression of its new value, the statement) inside ``loop``;
    ``x op= v`` gives the expression ``x op v``."""
    for node in ast.walk(loop):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            binop = ast.BinOp(node.target, node.op, node.value)
            yield node.target.id, ast.copy_location(binop, node), node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = _pairs(target, node.value)
                for name, value in pairs:
                    yield name, value, node


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        return [p for t, v in zip(target.elts, value.elts) for p in _pairs(t, v)]
    return []


def _carried(loops: Sequence[ast.AST]) -> dict[str, set[str]]:
    """Loop-carried variables: assigned in a loop from values that (through other
    variables assigned in the same loop) depend on themselves. Maps each to what its
    new values read."""
    out: dict[str, set[str]] = {}
    for loop in loops:
        reads: dict[str, set[str]] = {}
        for name, value, _ in _updates(loop):
            reads.setdefault(name, set()).update(_names(value))
        changed = True
        while changed:
            changed = False
            for deps in reads.values():
                more = set().union(*(reads.get(d, set()) for d in deps)) - deps
                if more:
                    deps |= more
                    changed = True
        for name, deps in reads.items():
            if name in deps:
                out.setdefault(name, set()).update(deps)
    return out


def _python_int(kinds: set[str]) -> bool:
    """Only Python ints (or bools): unbounded in Python, int64 in Numba."""
    return bool(kinds) and kinds <= {"int", "bool"}


def _dtype_kind(kind: str) -> str:
    """The NumPy dtype kind letter of an ``np:``/``arr:`` kind ("" when unknown)."""
    dtype = dtype_of(kind)
    return dtype.kind if dtype is not None else ""


def _int_like(kinds: set[str]) -> bool:
    return any(k in ("int", "bool") or (is_numpy(k) and _dtype_kind(k) in tuple("biu"))
               for k in kinds)


def _settled(kinds: set[str]) -> bool:
    """Known for this call: no parameter-dependent or unknown part."""
    return bool(kinds) and ARG not in kinds and UNKNOWN not in kinds


def _const(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _const(node.operand)
        return None if inner is None else -inner
    return None


def _nonneg_names(tree: ast.AST, ctx: _Context) -> set[str]:
    """Names every binding of which is provably ≥ 0 (range indices from ≥ 0, len())."""
    bindings: dict[str, list[ast.AST]] = {}
    for node in _walk(tree):
        if isinstance(node, ast.For):
            for t in ast.walk(node.target):
                if isinstance(t, ast.Name):
                    bindings.setdefault(t.id, []).append(node)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Name):
                        bindings.setdefault(t.id, []).append(node)
    out: set[str] = set()
    for name, sites in bindings.items():
        if all(_nonneg_site(name, site, ctx, out) for site in sites):
            out.add(name)
    return out


def _nonneg_site(name: str, site: ast.AST, ctx: _Context, known: set[str]) -> bool:
    if isinstance(site, ast.For):
        it = site.iter
        if isinstance(site.target, ast.Name) and isinstance(it, ast.Call) and \
                ctx.builtin(it.func, "range") and 1 <= len(it.args) <= 3:
            start = it.args[0] if len(it.args) >= 2 else ast.Constant(0)
            step = _const(it.args[2]) if len(it.args) == 3 else 1
            return step is not None and step > 0 and _nonneg(start, ctx, known)
        return False
    if isinstance(site, ast.Assign) and isinstance(site.targets[0], ast.Name):
        return _nonneg(site.value, ctx, known)
    if isinstance(site, ast.AugAssign) and isinstance(site.op, (ast.Add, ast.Mult)):
        return _nonneg(site.value, ctx, known)
    return False


def _nonneg(node: ast.expr, ctx: _Context, known: set[str]) -> bool:
    value = _const(node)
    if value is not None:
        return not isinstance(value, complex) and value >= 0
    if isinstance(node, ast.Name):
        return node.id in known or node.id in getattr(ctx, "nonneg", set())
    if isinstance(node, ast.Call) and (ctx.builtin(node.func, "len")
                                       or ctx.builtin(node.func, "abs")):
        return True
    if isinstance(node, ast.Attribute) and node.attr in ("size", "ndim", "itemsize"):
        return True
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "shape":
        return True
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Add, ast.Mult, ast.FloorDiv)):
            return _nonneg(node.left, ctx, known) and _nonneg(node.right, ctx, known)
        if isinstance(node.op, ast.Mod):
            right = _const(node.right)
            return right is not None and right > 0
        if isinstance(node.op, ast.Pow):
            exp = _const(node.right)
            return (exp is not None and exp % 2 == 0) or _nonneg(node.left, ctx, known)
    return False


# --- detectors -----------------------------------------------------------------------
def _text(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM001: str() of anything but a str, an int or a bool."""
    fine = {"str", "int", "bool", "np:bool"}
    for node in _walk(ctx.tree):
        if isinstance(node, ast.Call) and ctx.builtin(node.func, "str") and node.args:
            kinds = ctx.of(node.args[0])
            if ARG in kinds:
                continue
            bad = {k for k in kinds if k not in fine and not (
                is_numpy(k) and _dtype_kind(k) in ("i", "u"))}
            if bad:
                yield finding("SEM001", node.lineno, f"str() of {_describe(bad)}: compiled "
                              "code gives '<object type:float64>'-like text instead of "
                              "the number's")


def _big_ints(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM002: Python ints that can outgrow 64 bits. A variable the loop's own
    ``while`` test compares (``while i < n: i = 2 * i + 1``) is bounded by it."""
    for loop in ctx.loops:
        bounded = {n.id for c in ast.walk(loop.test) if isinstance(c, ast.Compare)
                   for n in ast.walk(c) if isinstance(n, ast.Name)} \
            if isinstance(loop, ast.While) else set()
        for name, value, stmt in _updates(loop):
            if name not in ctx.carried or name in bounded or \
                    not _python_int(ctx.var(name)):
                continue
            why = _growth(name, value, ctx)
            if why:
                yield finding("SEM002", stmt.lineno, f"`{name}` is a Python int that {why}: "
                              "Python keeps every digit, compiled code wraps at 64 bits")
    for node in _walk(ctx.tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and \
                _const(node.right) is None and _python_int(ctx.of(node.left)) and \
                _python_int(ctx.of(node.right)):
            yield finding("SEM002", node.lineno, f"`{ast.unparse(node)}` raises a Python "
                          "int to a varying power: Python keeps every digit, compiled code "
                          "wraps at 64 bits")


def _growth(name: str, value: ast.expr, ctx: _Context) -> str | None:
    """Why the update ``name = value`` can outgrow 64 bits, or None."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Mod, ast.BitAnd)) and \
            name not in _names(value.right):
        return None  # reduced modulo a fixed value each time: bounded
    for node in ast.walk(value):
        if not isinstance(node, ast.BinOp):
            continue
        reads = _names(node)
        if isinstance(node.op, (ast.Mult, ast.Pow, ast.LShift)):
            factors = [_const(node.left), _const(node.right)]
            if name in reads and not (isinstance(node.op, ast.Mult)
                                      and any(f in (0, 1, -1) for f in factors)):
                return "is multiplied, raised to a power or shifted in a loop"
            if all(f is None for f in factors) and \
                    _python_int(ctx.of(node.left)) and _python_int(ctx.of(node.right)):
                return f"accumulates products of varying ints (`{ast.unparse(node)}`)"
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub)):
        others = (_names(value) - {name}) & set(ctx.carried) - ctx.loop_targets
        others = {o for o in others if _python_int(ctx.var(o))}
        if others:
            return (f"grows by another loop-carried int ({', '.join(sorted(others))}), "
                    "a recurrence that can grow exponentially")
    return None


def _neg_powers(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM003: int ** int with an exponent that may be negative."""
    for node in _binops(ctx, ast.Pow):
        base, exp = _operands(node)
        kb, ke = ctx.of(base), ctx.of(exp)
        if not (_settled(kb) and _settled(ke)) or not (_int_like(kb) and _int_like(ke)):
            continue
        if any(k in ("float", "complex") or (is_numpy(k) and _dtype_kind(k) in ("f", "c"))
               for k in kb | ke):
            continue
        if not _nonneg(exp, ctx, ctx.nonneg):
            yield finding("SEM003", node.lineno, f"`{ast.unparse(node)}` raises an int to "
                          "a power that may be negative: Python gives a float (NumPy ints "
                          "raise ValueError), compiled code an int (0 or 1)")


def _binops(ctx: _Context, *ops: type) -> Iterator[ast.BinOp]:
    """BinOps of ``ops``, with ``x op= v`` seen as ``x op v`` (line numbers kept)."""
    for node in _walk(ctx.tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            yield node
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ops):
            yield ast.copy_location(ast.BinOp(node.target, node.op, node.value), node)


def _operands(node: ast.BinOp) -> tuple[ast.expr, ast.expr]:
    return node.left, node.right


def _division(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM004/SEM005: division by a value that may be zero."""
    python: list[ast.expr] = []
    numpy: list[ast.expr] = []
    divisions: list[tuple[ast.expr, ast.expr, ast.expr]] = [
        (n, n.left, n.right) for n in _binops(ctx, ast.Div, ast.FloorDiv, ast.Mod)]
    divisions += [(n, n.args[0], n.args[1]) for n in _walk(ctx.tree)
                  if isinstance(n, ast.Call) and ctx.builtin(n.func, "divmod")
                  and len(n.args) == 2]
    for node, left, right in divisions:
        divisor = _const(right)
        if divisor is not None and divisor != 0:
            continue
        kl, kr = ctx.of(left), ctx.of(right)
        if "str" in kl or not (_settled(kl) and _settled(kr)):
            continue
        if any(is_numpy(k) for k in kr) or not kl & {"int", "float", "complex", "bool"}:
            numpy.append(node)
        else:
            python.append(node)
    if python and numpy:
        p, n = python[0], numpy[0]
        yield finding("SEM005", p.lineno, f"divides Python numbers here (Python raises "
                      f"ZeroDivisionError) and NumPy scalars on line {n.lineno} (NumPy "
                      "gives inf or nan): compiled code follows one rule for both")
        return
    for node in python:
        yield finding("SEM004", node.lineno, f"`{ast.unparse(node)}` divides Python "
                      "numbers: compiled with Python's ZeroDivisionError checks")


def _round_ndigits(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM006: round(x, ndigits) of Python numbers."""
    for node in _walk(ctx.tree):
        if isinstance(node, ast.Call) and ctx.builtin(node.func, "round") and node.args and \
                (len(node.args) == 2 or any(k.arg == "ndigits" for k in node.keywords)):
            kinds = ctx.of(node.args[0])
            if ARG in kinds:
                continue
            if kinds & {"int", "float", "bool", UNKNOWN}:
                yield finding("SEM006", node.lineno, f"`{ast.unparse(node)}` rounds a Python "
                              "number to ndigits: Python rounds correctly (round(2.675, 2) "
                              "is 2.67, round(125, -1) the int 120), compiled code like "
                              "NumPy (2.68, and a float)")


def _to_int(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM007: float → int conversions, checked by compiled replacements."""
    plan = shim_plan(ctx)
    for node in _walk(ctx.tree):
        if not isinstance(node, ast.Call) or len(node.args) != 1:
            continue
        name = _conversion(node, ctx)
        if name is None:
            continue
        kinds = ctx.of(node.args[0])
        if kinds and kinds <= {"int", "bool"}:
            continue
        if name in plan.blocked:
            yield finding("SEM007", node.lineno, f"`{ast.unparse(node)}` converts a float "
                          f"to an int (NaN or inf would give garbage), and `{name}` is also "
                          "used as something else than a call here, so optlevel cannot "
                          "check it", "decline")
        else:
            yield finding("SEM007", node.lineno, f"`{ast.unparse(node)}`: compiled with "
                          "Python's checks for NaN, inf and values beyond 64 bits")


def _conversion(node: ast.Call, ctx: _Context) -> str | None:
    if ctx.builtin(node.func, "int") or ctx.builtin(node.func, "round"):
        return node.func.id  # type: ignore[attr-defined]
    dotted = ctx.dotted(node.func)
    if dotted and dotted.startswith("math.") and dotted[5:] in _MATH_TO_INT:
        return dotted
    return None


def _math(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM008: math functions that raise in Python and give nan/inf compiled."""
    for node in _walk(ctx.tree):
        if isinstance(node, ast.Call):
            dotted = ctx.dotted(node.func)
            if dotted and dotted.startswith("math.") and dotted[5:] in CHECKED_MATH:
                yield finding("SEM008", node.lineno, f"`{dotted}()`: compiled with Python's "
                              "domain and range checks (ValueError, OverflowError)")


def _narrow(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM009: a Python number mixed with a narrower NumPy scalar (NEP 50)."""
    for node in _binops(ctx, *_ARITH):
        op: Any = type(node.op)
        for py, np_kind in _mixes(ctx.of(node.left), ctx.of(node.right)):
            python = numpy_result(py, np_kind, op)
            compiled = numba_result(py, np_kind, op)
            if python == compiled or "?" in (python, compiled):
                continue
            dt = dtype_of(np_kind)
            if dt is None:
                continue
            if dt.kind in "fc":
                if not _accumulates(node, ctx) or dt.name not in _NARROW_FLOATS:
                    continue
            elif isinstance(node.op, _NO_WRAP) or _stored_as(node, ctx, python):
                continue  # the result stays in the dtype's range, or wraps in both
            yield finding("SEM009", node.lineno, f"`{ast.unparse(node)}` mixes a Python "
                          f"{py} with {dt.name} values: NumPy 2 computes in "
                          f"{python[3:]} (NEP 50), compiled code in {compiled[3:]}")


_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift,
          ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)


#: integer operations whose result stays within the operand's range (no wrapping)
_NO_WRAP = (ast.Mod, ast.FloorDiv, ast.RShift, ast.BitAnd)


def _mixes(left: set[str], right: set[str]) -> Iterator[tuple[str, str]]:
    for a in left:
        for b in right:
            if a in ("int", "float", "complex", "bool") and is_numpy(b):
                yield a, b
            elif b in ("int", "float", "complex", "bool") and is_numpy(a):
                yield b, a


def _accumulates(node: ast.BinOp, ctx: _Context) -> bool:
    """Is ``node`` the update of a loop-carried variable (``s += x[i]``)?"""
    reads = _names(node)
    return any(name in reads and name in ctx.carried for name, value, _ in
               ((n, v, s) for loop in ctx.loops for n, v, s in _updates(loop))
               if value is node or _same(value, node))


def _same(a: ast.AST, b: ast.AST) -> bool:
    return getattr(a, "lineno", -1) == getattr(b, "lineno", -2) and \
        ast.dump(a) == ast.dump(b)


def _stored_as(node: ast.BinOp, ctx: _Context, dtype_kind: str) -> bool:
    """Is ``node`` stored straight into an array element of the dtype Python computes?"""
    parent = ctx.parents.get(node)
    if not isinstance(parent, ast.Assign) or parent.value is not node:
        return False
    targets = parent.targets
    if len(targets) != 1 or not isinstance(targets[0], ast.Subscript):
        return False
    return ctx.of(targets[0].value) == {"arr:" + dtype_kind[3:]}


def _np_bool(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM010: +, -, * of NumPy bools."""
    for node in _binops(ctx, ast.Add, ast.Sub, ast.Mult):
        kl, kr = ctx.of(node.left), ctx.of(node.right)
        if ("np:bool" in kl and kr & {"np:bool", "bool"}) or \
                ("np:bool" in kr and kl & {"np:bool", "bool"}):
            yield finding("SEM010", node.lineno, f"`{ast.unparse(node)}` does arithmetic on "
                          "NumPy bools: NumPy gives a bool (or TypeError for -), compiled "
                          "code an int")


def _invert_bool(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM011: ~ of a Python bool."""
    for node in _walk(ctx.tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert) and \
                "bool" in ctx.of(node.operand):
            yield finding("SEM011", node.lineno, f"`{ast.unparse(node)}` inverts a Python "
                          "bool: Python gives -2 or -1, compiled code False or True")


def _globals(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM012 (global scalars: guarded) and SEM014 (global arrays: declined)."""
    scope_locals = ctx.kinds.local_names | set(ctx.kinds.params)
    loads = sorted({n.id for n in _walk(ctx.tree) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load) and n.id not in scope_locals})
    lines: dict[str, int] = {}
    for n in sorted((n for n in _walk(ctx.tree) if isinstance(n, ast.Name)),
                    key=lambda n: n.lineno):
        lines.setdefault(n.id, n.lineno)
    for name in loads:
        found, value = ctx.ns.lookup(name)
        if not found or name in ctx.ns.closure:
            continue
        if isinstance(value, np.ndarray):
            yield finding("SEM014", lines[name], f"reads the global array {name!r}: Numba "
                          "would freeze its values at compile time, so later changes to it "
                          "would be ignored")
        elif value_kind(value) != UNKNOWN or isinstance(value, tuple):
            yield finding("SEM012", lines[name], f"reads the global {name!r}: its value is "
                          "checked before each call and the code rebuilt when it changes")
    for name in sorted(set(ctx.ns.closure) & {n.id for n in _walk(ctx.tree)
                                              if isinstance(n, ast.Name)}):
        yield finding("SEM013", lines.get(name, ctx.tree.lineno), f"reads the closure "
                      f"variable {name!r}: checked before each call, rebuilt when rebound")


def _float_pow(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM022: a Python float that may be negative, to a non-integer power."""
    for node in _binops(ctx, ast.Pow):
        kb, ke = ctx.of(node.left), ctx.of(node.right)
        if "float" not in kb or not _settled(kb) or not _settled(ke):
            continue
        exp = _const(node.right)
        integral = exp is not None and not isinstance(exp, complex) and float(exp).is_integer()
        if integral or (exp is None and ke <= {"int", "bool"}):
            continue
        if not _nonneg(node.left, ctx, ctx.nonneg):
            yield finding("SEM022", node.lineno, f"`{ast.unparse(node)}` raises a Python "
                          "float that may be negative to a non-integer power: Python gives "
                          "a complex number, compiled code nan")


def _shifts(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM023: shifts of Python ints by a varying count."""
    for node in _binops(ctx, ast.LShift, ast.RShift):
        count = _const(node.right)
        if count is not None and 0 <= count < 63:
            continue
        if _python_int(ctx.of(node.left)) and _settled(ctx.of(node.right)):
            yield finding("SEM023", node.lineno, f"`{ast.unparse(node)}` shifts a Python int "
                          "by a count that may be negative or ≥ 64: Python raises or keeps "
                          "every bit, compiled code does neither")


def _reductions(ctx: _Context) -> Iterator[SemanticFinding]:
    """SEM018: NumPy's pairwise sums of float32/complex64 arrays (verified). Only inside
    loops: a function without loops is not compiled by Numba (it would not pay)."""
    in_loops = {id(n) for loop in ctx.loops for n in ast.walk(loop)}
    for node in _walk(ctx.tree):
        if not isinstance(node, ast.Call) or id(node) not in in_loops:
            continue
        dotted = ctx.dotted(node.func)
        arrays: set[str] = set()
        if dotted and dotted.startswith("numpy.") and dotted[6:] in _PAIRWISE and node.args:
            arrays = ctx.of(node.args[0])
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PAIRWISE \
                and dotted is None:
            arrays = ctx.of(node.func.value)
        narrow = sorted(k[4:] for k in arrays if k.startswith("arr:") and k[4:] in
                        _NARROW_FLOATS)
        if narrow or ARG in arrays:
            dtype = f"a {narrow[0]} array" if narrow else "float32 or complex64 arrays"
            yield finding("SEM018", node.lineno, f"`{ast.unparse(node)}` in a loop: for "
                          f"{dtype} NumPy sums pairwise, compiled code sequentially (about "
                          "1e-5 apart), so the first compiled call is to be checked")


def _describe(kinds: set[str]) -> str:
    names = sorted(k.replace("np:", "a NumPy ").replace("?", "a value of unknown type")
                   for k in kinds)
    return "a " + names[0] if not names[0].startswith("a ") else names[0]


_DETECTORS: tuple[Callable[[_Context], Iterator[SemanticFinding]], ...] = (
    _text, _big_ints, _neg_powers, _division, _round_ndigits, _to_int, _math, _narrow,
    _np_bool, _invert_bool, _globals, _float_pow, _shifts, _reductions)


# --- compiled replacements (SEM007, SEM008) -----------------------------------------
class ShimPlan:
    """Which global names the Numba backend replaces with checked versions: the
    builtins ``int``/``round`` where they are only called, the math module, and
    math functions imported by name. ``blocked``: names that cannot be replaced."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # name in the function → what it stands for
        self.blocked: set[str] = set()


def shim_plan(ctx: _Context) -> ShimPlan:
    plan = ShimPlan()
    calls = {id(n.func) for n in _walk(ctx.tree) if isinstance(n, ast.Call)
             and len(n.args) == 1 and not n.keywords}
    uses: dict[str, list[bool]] = {}
    for node in _walk(ctx.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            uses.setdefault(node.id, []).append(id(node) in calls)
    for name in ("int", "round"):
        if name in uses and not ctx.kinds._shadowed(name):
            if all(uses[name]):
                plan.names[name] = f"builtins.{name}"
            else:
                plan.blocked.add(name)
    for name in uses:
        found, value = ctx.ns.lookup(name)
        if not found:
            continue
        if getattr(value, "__name__", None) == "math" and type(value).__name__ == "module":
            plan.names[name] = "math"
        elif getattr(value, "__module__", None) == "math" and callable(value):
            leaf = value.__name__
            if leaf in CHECKED_MATH or leaf in _MATH_TO_INT:
                plan.names[name] = f"math.{leaf}"
    return plan


def shim_names(func: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef,
               params: tuple[str, ...]) -> dict[str, str]:
    """The global names of ``func`` to replace with checked compiled versions."""
    return shim_plan(_Context(func, tree, params, None)).names


# --- functions without source: what the bytecode shows -------------------------------
def bytecode_findings(func: Any) -> list[SemanticFinding]:
    """The catalogue's findings a function's bytecode shows without its source: text
    conversions (SEM001), random numbers (SEM024) and I/O (SEM025). The rest of the
    catalogue needs the AST; such functions are verified instead (SEM026)."""
    import dis

    from ...analysis.scope import IO_MODULES, RANDOM_MODULES

    code = getattr(func, "__code__", None)
    if code is None:
        return []
    ns = Namespace(func)
    found: list[SemanticFinding] = []
    line, previous = code.co_firstlineno, None
    for ins in dis.get_instructions(code):
        positions = getattr(ins, "positions", None)
        line = positions.lineno if positions is not None and positions.lineno else line
        if ins.opname == "FORMAT_VALUE":
            found.append(finding("SEM001", line, "an f-string: compiled code formats "
                                 "floats as '<object type:float64>'"))
        elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
            ok, value = ns.lookup(ins.argval)
            module = getattr(value, "__name__", "") if isinstance(value, type(np)) else ""
            if value in (str, repr, format):
                found.append(finding("SEM001", line, f"{ins.argval}(): compiled code "
                                     "formats floats as '<object type:float64>'"))
            elif value in (print, open, input):
                found.append(finding("SEM025", line, f"I/O: {ins.argval}()"))
            elif module.split(".")[0] in RANDOM_MODULES:
                found.append(finding("SEM024", line, f"random numbers: {module}"))
            elif module.split(".")[0] in IO_MODULES:
                found.append(finding("SEM025", line, f"I/O or system call: {module}"))
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval == "random" and \
                previous is not None and getattr(previous, "__name__", "") == "numpy":
            found.append(finding("SEM024", line, "random numbers: numpy.random"))
        previous = ns.lookup(ins.argval)[1] if ins.opname == "LOAD_GLOBAL" and \
            isinstance(ins.argval, str) else None
    return found
