"""When level 1 must not run a function it could vectorize, and why.

The rewrite's first call per signature is checked against plain Python, run on
copies of the arguments (the backend's ``checks_first_call``), so that call runs
the function's work twice: a function that writes outside itself or calls code
with effects of its own is refused here, because the check would repeat them.
"""

from __future__ import annotations

import ast
import builtins

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from ...arrays import DEVICE_KINDS, ArgKind
from ...contract import YES, Code, Verdict
from ...core.preconditions import function_preconditions
from .names import MUTATING_METHODS, PURE_BUILTINS

__all__ = ["function_verdict", "argument_verdict", "writes_outside", "TINY_ELEMENTS",
           "largest_array", "hoists"]

#: Below this many elements the rewrite's fixed cost (30-45 µs measured) is more than a
#: loop's (40-100 ns an element), unless it hoists whole-array work out of the loop.
TINY_ELEMENTS = 256

_BUILTINS_OK = PURE_BUILTINS | {"range", "enumerate", "zip", "isinstance", "reversed"}
#: what writes into the object it is called on (``copyto`` by its name: ``np.copyto``)
_MUTATORS = MUTATING_METHODS | {"copyto"}


def function_verdict(features: FunctionFeatures) -> Verdict:
    """Whether the function itself rules level 1 out (YES when it does not)."""
    if features.vectorize.error:
        return Verdict(False, f"the level-1 analysis failed ({features.vectorize.error})",
                       code=Code.DECLINED)
    shared = function_preconditions(
        features, no_source=": nothing to vectorize",
        generator="generators and async functions run as written",
        global_writes=lambda names: f"it writes the global {names[0]}")
    if not shared:
        return shared
    outside = writes_outside(features)
    if outside:
        return Verdict(False, f"it changes {outside}, which is not its own: the first "
                              "call's check against plain Python would change it twice",
                       code=Code.KEPT_IN_PYTHON)
    for name in features.called_globals:
        if not _pure_callee(features, name):
            return Verdict(False, f"it calls {name}(), which the first call's check "
                                  "against plain Python would run twice",
                           code=Code.KEPT_IN_PYTHON)
    return YES


def writes_outside(features: FunctionFeatures) -> str:
    """The first name the function writes into (``G[i] = …``, ``G.fill(0)``,
    ``out=G``) that is neither a parameter nor its own local: module state."""
    tree = features.source.tree
    if tree is None:
        return ""
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
           and isinstance(n.ctx, ast.Store)} | set(features.params)
    for node in ast.walk(tree):
        for target in _written(node):
            root = target
            while isinstance(root, (ast.Subscript, ast.Attribute)):
                root = root.value
            if isinstance(root, ast.Name) and root.id not in own:
                return root.id
    return ""


def _written(node: ast.AST) -> list[ast.AST]:
    """What ``node`` writes into: a stored subscript or attribute, the object of a
    mutating method, an ``out=`` argument."""
    if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
            node.ctx, (ast.Store, ast.Del)):
        return [node]
    if not isinstance(node, ast.Call):
        return []
    targets: list[ast.AST] = []
    if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
        targets.append(node.func.value)
    return targets + [kw.value for kw in node.keywords if kw.arg == "out"]


def _pure_callee(features: FunctionFeatures, name: str) -> bool:
    func = getattr(features, "function", None)
    namespace = getattr(func, "__globals__", {}) or {}
    if name not in namespace:
        return name in _BUILTINS_OK and hasattr(builtins, name)
    value = namespace[name]
    module = getattr(value, "__module__", "") or ""
    return isinstance(value, np.ufunc) or module.split(".")[0] in ("numpy", "math")


def argument_verdict(signature: ArgSignature) -> Verdict:
    """Whether this call's arguments rule level 1 out: it rewrites loops over NumPy
    arrays, on the host."""
    for arg in signature.args:
        if arg.kind in DEVICE_KINDS:
            return Verdict(False, f"argument {arg.name!r} is a {arg.kind} array; level 1 "
                                  "vectorizes loops over NumPy arrays", code=Code.DECLINED)
    if not any(a.kind is ArgKind.NUMPY for a in signature.args):
        return Verdict(False, "no NumPy array argument: the rewrite runs on NumPy arrays",
                       code=Code.DECLINED)
    return YES


def largest_array(signature: ArgSignature) -> int:
    """The element count of the largest NumPy array argument (0 without one)."""
    return max((a.size for a in signature.args if a.kind is ArgKind.NUMPY), default=0)


def hoists(features: FunctionFeatures) -> bool:
    """Does the rewrite take whole-array work (x.mean()) out of a loop?"""
    return any(d.rule == "OL104" and d.rewrite for d in features.vectorize.diagnostics)
