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
from .kinds import PY_NUMBERS, dtype_of, is_numpy, kinds_of, param_kinds
from .memo import per_call

__all__ = ["result_type", "starting_values", "undecided_type"]

# The proven type, by function and argument types (worked out when a plan is built).
_proven = RUNTIME.cache("numba.result_types", maxsize=4096)
_starting = RUNTIME.cache("numba.starting_values", maxsize=4096)


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


_UNDECIDED = "undecided"


def undecided_type(func: Any, features: Any, signature: Any) -> str | None:
    """Why level 2 cannot return plain Python's type for these arguments, or None: the
    returned variable holds a Python number on some paths and a NumPy scalar on others,
    and its values cannot tell which (``r = r + 1`` beside ``r = a[i]``), or a returned
    tuple holds such a variable (``return (total, count)``)."""
    tree = features.source.tree
    if tree is None:
        return None
    found = per_call(_starting, features, signature,
                     lambda: _starting_values(tree, func, features, signature))
    if found != _UNDECIDED:
        return None
    return ("the type of what it returns depends on the branches a call takes (a Python "
            "number on some, a NumPy scalar on others), which compiled code does not "
            "follow [SEM027]")


def starting_values(func: Any, features: Any, signature: Any) -> tuple[tuple, type] | None:
    """Where the returned value's type depends on the path a call takes: the Python
    numbers it starts with, and the NumPy scalar type every other value it can take is.

    ``total = 0`` then ``if x[i] > t: total += x[i]``: plain Python returns the int 0
    when no element passes, an ``np.float64`` otherwise; compiled code returns a float
    either way, so no one repair of its type is right (a check learned one from its
    first call and forced it on every later one). When every Python-typed value the
    returned name can hold is a constant it is given (``0``, ``0.0``, ``-1``,
    ``-math.inf``) and every other binding gives a NumPy scalar (``total += x[i]``,
    ``m = max(m, x[i])``, ``v = x[i]``), a compiled result equal to one of those
    constants is ambiguous (the call runs in plain Python), and any other result is
    that NumPy type. None where the type does not depend on the path, or where the
    values cannot tell it (then nothing changes)."""
    tree = features.source.tree
    if tree is None:
        return None
    found = per_call(_starting, features, signature,
                     lambda: _starting_values(tree, func, features, signature))
    return None if found == _UNDECIDED else found


def _starting_values(tree: Any, func: Any, features: Any, signature: Any) -> Any:
    returns = [node for node in own_nodes(tree) if isinstance(node, ast.Return)]
    if not returns:
        return None
    kinds = kinds_of(tree, Namespace(unwrap_callable(func)),
                     param_kinds(signature, features.params))
    if any(isinstance(r.value, ast.Tuple) for r in returns):
        # a tuple's parts are not repaired one by one: a part whose type a branch
        # decides is undecided
        parts = [e for r in returns if isinstance(r.value, ast.Tuple) for e in r.value.elts]
        return _UNDECIDED if any(_mixed(kinds.of(e)) and (
            not isinstance(e, ast.Name) or _branchy(tree, _bindings(tree, e.id)))
            for e in parts) else None
    if not all(isinstance(r.value, ast.Name) for r in returns):
        return None
    names = {r.value.id for r in returns}  # type: ignore[union-attr]
    if len(names) != 1 or (name := names.pop()) in features.params:
        return None
    found = kinds.of(ast.Name(id=name, ctx=ast.Load()))
    numpy = {k for k in found if is_numpy(k)}
    if len(numpy) != 1:  # (its other kinds are the constants', each binding checked below)
        return None
    # where no binding of it sits in a branch, only whether the loops ran decides (an
    # empty array has its own plan, whose check learns that type)
    bound = _bindings(tree, name)
    undecided = _UNDECIDED if found & PY_NUMBERS and _branchy(tree, bound) else None
    dtype = dtype_of(next(iter(numpy)))
    if dtype is None:
        return None
    constants: list[Any] = []
    for node in bound:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name) \
                    or node.value is None:
                return undecided  # unpacked into: not followed
            value = _constant(node.value, kinds)
            if value is not _NONE:
                constants.append(value)
            elif not (_numpy(kinds.of(node.value)) or _keeps(node.value, name, kinds)):
                return undecided
        elif isinstance(node, ast.AugAssign):
            if not _numpy(kinds.of(node.value)):  # a NumPy operand makes a NumPy scalar
                return undecided
        else:  # a loop's target, a walrus
            return undecided
    if not constants:
        return None
    return tuple(constants), dtype.type


def _bindings(tree: Any, name: str) -> list[ast.AST]:
    """The statements of the function that bind ``name``."""
    found: list[ast.AST] = []
    for node in own_nodes(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(name in {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
                   for t in targets):
                found.append(node)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            found.append(node)
        elif isinstance(node, (ast.For, ast.NamedExpr)) and name in {
                n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}:
            found.append(node)
    return found


def _branchy(tree: Any, bound: list[ast.AST]) -> bool:
    """Is one of the bindings ``bound`` inside an ``if``, ``while``, ``try`` or a
    conditional expression (so that which ones ran depends on the values)?"""
    parents = {child: node for node in own_nodes(tree) for child in ast.iter_child_nodes(node)}
    for node in bound:
        up = parents.get(node)
        while up is not None and up is not tree:
            if isinstance(up, (ast.If, ast.While, ast.Try, ast.IfExp, ast.match_case)):
                return True
            up = parents.get(up)
        if isinstance(node, ast.NamedExpr):
            return True
    return False


_NONE = object()


def _constant(node: ast.expr, kinds: Any) -> Any:
    """The Python number a literal (``0``, ``-1.5``, ``math.inf``, ``-np.inf``) is, or
    ``_NONE``."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, complex, bool):
        return node.value if sign == 1 else -node.value
    if isinstance(node, ast.Attribute) and node.attr in ("inf", "nan"):
        dotted = kinds.ns.dotted(node)
        if dotted in ("math.inf", "math.nan"):
            return sign * (float("inf") if node.attr == "inf" else float("nan"))
    return _NONE


def _keeps(node: ast.expr, name: str, kinds: Any) -> bool:
    """``max(v, e)``, ``min(e, v)``, ``e if c else v``: the old value or a NumPy one."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in ("min", "max") and not kinds.shadowed(node.func.id) \
            and len(node.args) == 2 and not node.keywords:
        parts = node.args
    elif isinstance(node, ast.IfExp):
        parts = [node.body, node.orelse]
    else:
        return False
    return all((isinstance(p, ast.Name) and p.id == name) or _numpy(kinds.of(p))
               for p in parts)


def _mixed(found: set[str]) -> bool:
    """A Python number on some paths, a NumPy scalar on others."""
    return bool(found & PY_NUMBERS) and any(is_numpy(k) for k in found)


def _numpy(found: set[str]) -> bool:
    """Only NumPy scalars (of any dtype: with a Python number they stay NumPy's)."""
    return bool(found) and all(is_numpy(k) for k in found)
