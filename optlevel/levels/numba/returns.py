"""What scalar type a function returns, where its AST proves one.

Compiled code hands scalars back as Python numbers (Numba boxes a float64 as
``float``), while plain Python returns whatever its arithmetic made: often a NumPy
scalar (``total = 0.0; total += x[i]`` is an ``np.float64``). Verification learns
the repair on a checked call; this proof gives it where no call was checked (a
first call too large to verify), from the kinds inference of :mod:`.kinds`.
"""

from __future__ import annotations

import ast
from typing import Any

from .kinds import Kinds, dtype_of, is_numpy, param_kinds
from ...analysis.scope import Namespace
from ...analysis.source import unwrap_callable

__all__ = ["returned_numpy_scalar"]


def _returns(tree: ast.AST) -> list[ast.Return]:
    """The function's own return statements (not those of nested functions)."""
    out: list[ast.Return] = []
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                             ast.ClassDef)):
            continue
        if isinstance(node, ast.Return):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def returned_numpy_scalar(func: Any, features: Any, signature: Any) -> type | None:
    """The NumPy scalar type (``np.float64``, …) every ``return`` of ``func`` gives for
    these arguments, or None when they do not all prove the same one."""
    tree = features.source.tree
    if tree is None:
        return None
    returns = _returns(tree)
    if not returns or any(r.value is None for r in returns):
        return None
    kinds = Kinds(tree, Namespace(unwrap_callable(func)),
                  param_kinds(signature, features.params))
    found: set[str] = set()
    for node in returns:
        found |= kinds.of(node.value)
    if len(found) != 1:
        return None
    (kind,) = found
    dtype = dtype_of(kind) if is_numpy(kind) else None
    return dtype.type if dtype is not None else None
