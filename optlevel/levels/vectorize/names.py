"""Which names mean NumPy: resolved from a function's globals (at run time) or from a
module's import statements (``optlevel check``, which never imports the module)."""

from __future__ import annotations

import ast
import builtins
import math
from typing import Any, Protocol

import numpy as np

from ...analysis.scope import Namespace, Scope
from ...analysis.tables import MUTATING_ARRAY_METHODS, MUTATING_CONTAINER_METHODS

__all__ = ["Names", "RuntimeNames", "ImportNames", "numpy_object", "is_ufunc",
           "MATH_TO_NUMPY", "PURE_BUILTINS", "REDUCTION_METHODS", "MUTATING_METHODS"]

#: math functions with a NumPy ufunc of the same meaning on finite, in-domain input
#: (outside the domain math raises ValueError where NumPy returns nan).
MATH_TO_NUMPY = {name: name for name in (
    "sin cos tan asin acos atan sinh cosh tanh exp expm1 log log2 log10 log1p sqrt "
    "floor ceil trunc fabs hypot atan2 degrees radians isnan isinf isfinite".split())}
MATH_TO_NUMPY.update({"asin": "arcsin", "acos": "arccos", "atan": "arctan",
                      "atan2": "arctan2", "pow": "power"})
#: builtins that only compute (no I/O, no state): calling them with invariant
#: arguments inside a loop gives the same value every time.
PURE_BUILTINS = frozenset("len abs min max sum round float int complex bool".split())
#: ndarray methods that reduce the whole array and change nothing.
REDUCTION_METHODS = frozenset(
    "sum mean std var min max prod any all argmin argmax ptp trace".split())
#: methods that change the array, list or dict they are called on, told by name alone
#: (a set's add and discard are left out: ``np.add(a, b)`` reads the same way)
MUTATING_METHODS = MUTATING_ARRAY_METHODS | (MUTATING_CONTAINER_METHODS - {"add", "discard"})


class Names(Protocol):
    def dotted(self, node: ast.expr) -> str | None: ...

    def is_local(self, name: str) -> bool: ...


class RuntimeNames:
    """Resolution against a live function's globals and closure (decoration time)."""

    def __init__(self, namespace: Namespace, scope: Scope):
        self.namespace, self.scope = namespace, scope

    def is_local(self, name: str) -> bool:
        return self.scope.is_local(name)

    def dotted(self, node: ast.expr) -> str | None:
        root = _root(node)
        if root is None or self.scope.is_local(root):
            return None
        return self.namespace.dotted(node)


class ImportNames:
    """Resolution from a module's ``import`` statements, without importing anything.

    ``import numpy as np`` makes ``np.sin`` mean ``numpy.sin``; ``from numpy import
    sin`` makes ``sin`` mean it; ``math`` likewise. Names a function assigns locally
    shadow the imports (see :meth:`for_function`).
    """

    def __init__(self, module: ast.Module):
        self.aliases: dict[str, str] = {}
        for node in ast.walk(module):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.locals: frozenset[str] = frozenset()

    def for_function(self, tree: ast.AST, scope: Scope) -> ImportNames:
        """The same imports, with the local names of ``tree`` (``scope``) shadowing
        them, except the names the function binds by importing."""
        imported = {(a.asname or a.name).split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
        out = ImportNames.__new__(ImportNames)
        out.aliases, out.locals = self.aliases, frozenset(scope.locals - imported)
        return out

    def is_local(self, name: str) -> bool:
        return name in self.locals

    def dotted(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id in self.locals:
            return None
        base = self.aliases.get(node.id)
        if base is None:  # not imported: a builtin, or a name the module defines
            return f"builtins.{node.id}" if not parts and hasattr(builtins, node.id) else None
        return ".".join([base] + parts[::-1])


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def numpy_object(dotted: str | None) -> Any:
    """The object ``numpy.a.b`` names (``None`` when it is not a NumPy name)."""
    if not dotted or not dotted.startswith("numpy."):
        return None
    obj: Any = np
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def is_ufunc(dotted: str | None) -> bool:
    """True when ``dotted`` names a NumPy ufunc (elementwise on scalars and arrays)."""
    return isinstance(numpy_object(dotted), np.ufunc)


def is_numpy_constant(dotted: str | None) -> bool:
    """``numpy.pi``, ``numpy.e``, ``numpy.inf``, ``numpy.nan``..."""
    value = numpy_object(dotted)
    return isinstance(value, float) or dotted in ("math.pi", "math.e", "math.inf",
                                                  "math.nan", "math.tau")


def math_function(dotted: str | None) -> str | None:
    """The NumPy name of a ``math`` function (``math.sqrt`` → ``sqrt``), if any."""
    if dotted and dotted.startswith("math.") and callable(getattr(math, dotted[5:], None)):
        return MATH_TO_NUMPY.get(dotted[5:])
    return None
