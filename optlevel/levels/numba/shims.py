"""Which names of a function level 2 replaces with checked compiled versions.

Numba's ``int()``, ``round()`` and ``math.floor/ceil/trunc`` of NaN or inf give
garbage, and its ``math`` functions nan or inf where CPython raises (catalogue
SEM007, SEM008). The builder (:mod:`.helpers`) hands the compiled function checked
replacements (:mod:`.checked`) under the names this module finds: the builtins
``int``/``round`` where they are only called, the ``math`` module, and ``math``
functions imported by name.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from .context import Context

__all__ = ["CHECKED_MATH", "MATH_TO_INT", "INEXACT_UFUNCS", "EXACT_ON_INTS", "NUMPY_SUMS",
           "SUM_METHODS", "ShimPlan",
           "shim_plan", "shim_names"]

#: math functions compiled with Python's error checks (SEM008): where one leaves
#: CPython's rule, the call replays, and plain Python raises its own ValueError or
#: OverflowError. ``erf erfc atan asinh tanh fabs`` are not here: CPython raises only
#: for nan from a non-nan argument or inf from a finite one, which none of them can
#: give, so Numba's own serve them (each checked one was compiled as a function of its
#: own: 40-50 ms of Black-Scholes' first call went to a checked erf).
CHECKED_MATH = frozenset("sqrt log log2 log10 log1p acos asin acosh atanh cos sin tan "
                         "gamma lgamma exp exp2 expm1 cosh sinh pow hypot ldexp fmod".split())
MATH_TO_INT = frozenset({"floor", "ceil", "trunc"})
#: NumPy ufuncs whose results are not fixed by IEEE 754 (or differ at their edges):
#: NumPy runs its own loops for them, vectorized per CPU, and compiled code the C
#: library's functions (SEM030). The rest (+ - * /, sqrt, abs, floor, ceil, trunc,
#: rint, minimum, maximum, fmin, fmax, copysign, fmod, nextafter, comparisons, tests,
#: bit operations) are exactly rounded or exact, alike in both.
INEXACT_UFUNCS = frozenset(
    "sin cos tan arcsin arccos arctan arctan2 asin acos atan atan2 sinh cosh tanh "
    "arcsinh arccosh arctanh asinh acosh atanh exp exp2 expm1 log log2 log10 log1p "
    "logaddexp logaddexp2 cbrt power pow float_power hypot sign spacing floor_divide "
    "remainder mod divmod heaviside ldexp frexp".split())
#: ... of which these are exact on integers (the call is found only for floats)
EXACT_ON_INTS = frozenset("power pow sign floor_divide remainder mod divmod".split())
#: NumPy's pairwise sums compiled as NumPy's own (SEM031, :mod:`.npreduce`): these
#: functions of one array (``np.sum(a)``), and those of them arrays have as methods
NUMPY_SUMS = ("sum", "mean", "var", "std", "nansum", "nanmean")
SUM_METHODS = ("sum", "mean", "var", "std")


class ShimPlan:
    """Which global names the Numba backend replaces with checked versions: the
    builtins ``int``/``round`` where they are only called, the math module, and
    math functions imported by name. ``blocked``: names that cannot be replaced."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # name in the function → what it stands for
        self.blocked: set[str] = set()


def shim_plan(ctx: Context) -> ShimPlan:
    plan = ShimPlan()
    calls = {id(n.func) for n in ctx.nodes if isinstance(n, ast.Call)
             and len(n.args) == 1 and not n.keywords}
    uses: dict[str, list[bool]] = {}
    for node in ctx.nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            uses.setdefault(node.id, []).append(id(node) in calls)
    inexact_owners = {n.value.id for n in ctx.nodes if isinstance(n, ast.Attribute)
                      and isinstance(n.value, ast.Name) and n.attr in INEXACT_UFUNCS}
    for name in ("int", "round"):
        if name in uses and not ctx.kinds.shadowed(name):
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
        elif value is np and name in inexact_owners:
            plan.names[name] = "numpy"  # SEM030: NumPy's own loops for those calls
        elif isinstance(value, np.ufunc) and value.__name__ in INEXACT_UFUNCS:
            plan.names[name] = f"numpy.{value.__name__}"
        elif getattr(value, "__module__", None) == "math" and callable(value):
            leaf = value.__name__
            if leaf in CHECKED_MATH or leaf in MATH_TO_INT:
                plan.names[name] = f"math.{leaf}"
    return plan


def shim_names(func: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef,
               params: tuple[str, ...]) -> dict[str, str]:
    """The global names of ``func`` to replace with checked compiled versions."""
    return shim_plan(Context(func, tree, params, None)).names
