"""What scalar type a function returns, where its AST proves one.

Compiled code hands scalars back as Python numbers (Numba boxes a float64 as
``float``), while plain Python returns whatever its arithmetic made: often a NumPy
scalar (``total = 0.0; total += x[i]`` is an ``np.float64``). Verification learns
the repair on a checked call; this proof gives it where no call was checked (a
first call too large to verify), from the kinds inference of :mod:`.kinds`. The
Numba backend hands it to the core as ``Prepared.result_type``.
"""

from __future__ import annotations

import ast
from typing import Any

from ...analysis.scope import Namespace
from ...analysis.source import unwrap_callable
from ...core.runtime import RUNTIME
from .context import own_nodes
from .kinds import dtype_of, is_numpy, kinds_of, param_kinds
from .memo import per_call

__all__ = ["result_type"]

# The proven type, by function and argument types (worked out when a plan is built).
_proven = RUNTIME.cache("numba.result_types", maxsize=4096)


def result_type(func: Any, features: Any, signature: Any) -> type | None:
    """The NumPy scalar type (``np.float64``, …) every ``return`` of ``func`` gives for
    these arguments, or None when they do not all prove the same one."""
    tree = features.source.tree
    if tree is None:
        return None
    return per_call(_proven, features, signature,
                    lambda: _proven_type(tree, func, features, signature))


def _proven_type(tree: Any, func: Any, features: Any, signature: Any) -> type | None:
    returns = [node for node in own_nodes(tree) if isinstance(node, ast.Return)]
    if not returns or any(r.value is None for r in returns):
        return None
    kinds = kinds_of(tree, Namespace(unwrap_callable(func)),
                  param_kinds(signature, features.params))
    found: set[str] = set()
    for node in returns:
        found |= kinds.of(node.value)
    if len(found) != 1:
        return None
    (kind,) = found
    dtype = dtype_of(kind) if is_numpy(kind) else None
    return dtype.type if dtype is not None else None
