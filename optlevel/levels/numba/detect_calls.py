"""The catalogue's detectors of calls and names that compiled code means differently.

Each detector is a function ``(ctx) -> findings`` over a
:class:`~.context.Context`: SEM001 (``str()`` of numbers), SEM006 (``round`` to
ndigits), SEM007 (float to int, checked by compiled replacements: :mod:`.shims`),
SEM008 (``math`` domain and range errors), SEM012–SEM014 (globals and closure
cells frozen at compile time) and SEM018 (pairwise sums of float32 arrays).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import numpy as np

from .catalogue import SemanticFinding, finding
from .context import NARROW_FLOATS, Context, dtype_kind
from .kinds import ARG, UNKNOWN, is_numpy, value_kind
from .shims import (
    CHECKED_MATH,
    EXACT_ON_INTS,
    INEXACT_UFUNCS,
    MATH_TO_INT,
    NUMPY_SUMS,
    SUM_METHODS,
    shim_plan,
)
from .ufunc_loops import float64_loop

__all__ = ["text", "round_ndigits", "to_int", "math_errors", "own_algorithms",
           "numpy_math", "globals_read", "reductions"]

#: NumPy reductions that sum pairwise (compiled code sums sequentially)
_PAIRWISE = frozenset("sum mean var std nansum nanmean nanvar nanstd average".split())


def text(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM001: str() of anything but a str, an int or a bool."""
    fine = {"str", "int", "bool", "np:bool"}
    for node in ctx.nodes:
        if isinstance(node, ast.Call) and ctx.builtin(node.func, "str") and node.args:
            kinds = ctx.of(node.args[0])
            if ARG in kinds:
                continue
            bad = {k for k in kinds if k not in fine and not (
                is_numpy(k) and dtype_kind(k) in ("i", "u"))}
            if bad:
                yield finding("SEM001", node.lineno, f"str() of {_describe(bad)}: compiled "
                              "code gives '<object type:float64>'-like text instead of "
                              "the number's")


def round_ndigits(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM006: round(x, ndigits) of Python numbers."""
    for node in ctx.nodes:
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


def to_int(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM007: float → int conversions, checked by compiled replacements."""
    plan = shim_plan(ctx)
    for node in ctx.nodes:
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


def _conversion(node: ast.Call, ctx: Context) -> str | None:
    if ctx.builtin(node.func, "int") or ctx.builtin(node.func, "round"):
        return node.func.id  # type: ignore[attr-defined]
    dotted = ctx.dotted(node.func)
    if dotted and dotted.startswith("math.") and dotted[5:] in MATH_TO_INT:
        return dotted
    return None


def math_errors(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM008: math functions that raise in Python and give nan/inf compiled."""
    for node in ctx.nodes:
        if isinstance(node, ast.Call):
            dotted = ctx.dotted(node.func)
            if dotted and dotted.startswith("math.") and dotted[5:] in CHECKED_MATH:
                yield finding("SEM008", node.lineno, f"`{dotted}()`: compiled with Python's "
                              "domain and range checks (ValueError, OverflowError)")


def own_algorithms(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM028, SEM029: math functions CPython computes by its own algorithm (gamma
    and lgamma compiled as CPython's; hypot declined)."""
    for node in ctx.nodes:
        if not isinstance(node, ast.Call):
            continue
        dotted = ctx.dotted(node.func)
        if dotted in ("math.gamma", "math.lgamma"):
            yield finding("SEM028", node.lineno, f"`{dotted}()`: compiled as CPython's own "
                          "algorithm, not the C library's (equal bit for bit)")
        elif dotted == "math.hypot":
            yield finding("SEM029", node.lineno, "`math.hypot()`: CPython computes it with "
                          "its own algorithm, compiled code with the C library's hypot, "
                          "and they differ in the last bit")


def numpy_math(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM030: NumPy ufuncs that NumPy computes with its own vectorized loops. Compiled
    code calls that loop (guarded) where NumPy would pick its float64 loop for the
    arguments; any other call is declined."""
    for node in ctx.nodes:
        if not isinstance(node, ast.Call):
            continue
        dotted = ctx.dotted(node.func)
        if not dotted or not dotted.startswith("numpy.") or dotted[6:] not in INEXACT_UFUNCS:
            continue
        name = dotted[6:]
        kinds = [ctx.of(a) for a in node.args]
        if name in EXACT_ON_INTS and kinds and all(_integral(k) for k in kinds):
            continue
        loop = float64_loop(name)
        if loop is not None and len(kinds) == loop.nin and not node.keywords and all(
                k and k <= _FLOAT64_LOOP for k in kinds):
            yield finding("SEM030", node.lineno, f"`{ast.unparse(node.func)}()`: compiled as a "
                          f"call of NumPy's own {name} loop (equal bit for bit)", "guard")
            continue
        same = _MATH.get(name, name)
        hint = f" (math.{same}() of a number compiles: the C library's in Python too)" \
            if same in _MATH_COMPILED else ""
        yield finding("SEM030", node.lineno, f"`{ast.unparse(node)}`: NumPy computes "
                      f"{name} with its own vectorized loops, and compiled code calls them "
                      "only for float64 numbers and 32- or 64-bit integers, one at a time; "
                      f"for these arguments it would call the C library's{hint}",
                      "decline")


#: the kinds of a value NumPy's float64 loop takes as it is (ARG: not known before a
#: call; each call checks again with its own)
_FLOAT64_LOOP = frozenset({"float", "int", "np:float64", "np:int64", "np:int32",
                           "np:uint64", "np:uint32", ARG})


#: the math module's name of a NumPy ufunc, where it differs
_MATH = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2",
         "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "power": "pow",
         "float_power": "pow"}
#: math functions that are the C library's both in CPython and compiled
_MATH_COMPILED = frozenset("sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh "
                           "atanh exp exp2 expm1 log log2 log10 log1p pow".split())


def _integral(kinds: set[str]) -> bool:
    """Are these kinds all known integers or bools (Python's or NumPy's, arrays too)?"""
    return bool(kinds) and all(k in ("int", "bool") or dtype_kind(k) in ("i", "u", "b")
                               for k in kinds)


def globals_read(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM012 (global scalars: guarded) and SEM014 (global arrays: declined)."""
    scope_locals = ctx.kinds.local_names | set(ctx.kinds.params)
    loads = sorted({n.id for n in ctx.nodes if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load) and n.id not in scope_locals})
    lines: dict[str, int] = {}
    for n in sorted((n for n in ctx.nodes if isinstance(n, ast.Name)),
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
    for name in sorted(set(ctx.ns.closure) & {n.id for n in ctx.nodes
                                              if isinstance(n, ast.Name)}):
        yield finding("SEM013", lines.get(name, ctx.tree.lineno), f"reads the closure "
                      f"variable {name!r}: checked before each call, rebuilt when rebound")


def reductions(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM031: a whole array's ``np.sum``/``np.mean``/``np.var``/``np.std`` (or method), compiled as
    NumPy's own pairwise sum (guarded: the checked rewrite calls :mod:`.npreduce`).
    SEM018: NumPy's other pairwise sums of float32/complex64 arrays (verified). Only
    inside loops: a function without loops is not compiled by Numba (it would not
    pay)."""
    in_loops = {id(n) for loop in ctx.loops for n in ast.walk(loop)}
    for node in ctx.nodes:
        if not isinstance(node, ast.Call) or id(node) not in in_loops:
            continue
        dotted = ctx.dotted(node.func)
        summed = _whole_sum(node, dotted)
        if summed is not None:
            kinds = ctx.of(summed)
            if ARG in kinds or any(k.startswith("arr:float") for k in kinds):
                yield finding("SEM031", node.lineno, f"`{ast.unparse(node)}`: compiled as "
                              "NumPy's own pairwise sum, bit for bit")
            continue
        arrays: set[str] = set()
        if dotted and dotted.startswith("numpy.") and dotted[6:] in _PAIRWISE and node.args:
            arrays = ctx.of(node.args[0])
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PAIRWISE \
                and dotted is None:
            arrays = ctx.of(node.func.value)
        narrow = sorted(k[4:] for k in arrays if k.startswith("arr:") and k[4:] in
                        NARROW_FLOATS)
        if narrow or ARG in arrays:
            dtype = f"a {narrow[0]} array" if narrow else "float32 or complex64 arrays"
            yield finding("SEM018", node.lineno, f"`{ast.unparse(node)}` in a loop: for "
                          f"{dtype} NumPy sums pairwise, compiled code sequentially (about "
                          "1e-5 apart), so the first compiled call is to be checked")


def _whole_sum(node: ast.Call, dotted: str | None) -> ast.expr | None:
    """The array of ``np.sum(a)``, ``a.sum()`` (``mean``, ``var``, ``std`` alike: the
    forms the checked rewrite makes NumPy's own, :func:`.rewrite.sum_call`), else None."""
    func = node.func
    if node.keywords or not isinstance(func, ast.Attribute) or func.attr not in NUMPY_SUMS:
        return None
    if dotted == f"numpy.{func.attr}":
        one = len(node.args) == 1 and not isinstance(node.args[0], ast.Starred)
        return node.args[0] if one else None
    methods = func.attr in SUM_METHODS
    return func.value if dotted is None and not node.args and methods else None


def _describe(kinds: set[str]) -> str:
    names = sorted(k.replace("np:", "a NumPy ").replace("?", "a value of unknown type")
                   for k in kinds)
    return "a " + names[0] if not names[0].startswith("a ") else names[0]

