"""The whole function, with each safe kernel loop replaced by its vectorized block
(:mod:`.codegen`), compiled into a new function that shares the original's globals,
defaults and closure cells.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import types
from collections.abc import Callable
from typing import Any

from ...core.runtime import RUNTIME
from . import runtime
from .codegen import KernelCode
from .loops import LoopRules
from .names import Names

__all__ = ["Rewrite", "build_rewrite", "compile_rewrite", "rewrite_for", "SUM_ORDERS"]

#: How a rewritten reduction adds its terms: "auto" and "loop" (the loop's order:
#: bit for bit its result) or "pairwise" (like np.sum: faster, the last bits may
#: differ).
SUM_ORDERS = ("auto", "loop", "pairwise")
#: (the function's SourceInfo, sum order) → its Rewrite; a SourceInfo hashes by its
#: tree's identity, and is held only while it is among the newest few hundred
_rewrites = RUNTIME.cache("vectorize.rewrites", maxsize=256)


@dataclasses.dataclass(frozen=True)
class Rewrite:
    """The rewritten function's AST and source, the loops it vectorizes (line, rule),
    or why there is nothing to rewrite."""

    tree: ast.FunctionDef | None
    source: str
    loops: tuple[tuple[int, str], ...]
    reason: str = ""
    #: a vectorized loop sits inside another loop: its fixed cost is paid per outer
    #: iteration, so whether it pays depends on sizes the analysis cannot see
    nested: bool = False

    @property
    def ok(self) -> bool:
        return self.tree is not None


def build_rewrite(tree: ast.FunctionDef | ast.AsyncFunctionDef, names: Names,
                  order: str = "auto") -> Rewrite:
    """Rewrite every kernel of ``tree`` that level 1 can run (``Diagnostic.rewrite``);
    ``order`` is how reductions add their terms (:data:`SUM_ORDERS`)."""
    work = copy.deepcopy(tree)
    finder = LoopRules(names)
    found = finder.run(work)
    kernels = [f for f in found if f.diagnostic.rewrite]
    if not kernels:
        reasons = [f"line {f.diagnostic.line}: {f.diagnostic.why_not}" for f in found]
        return Rewrite(None, "", (), "; ".join(reasons) or "no loop with a vectorized form")
    if not isinstance(work, ast.FunctionDef):
        return Rewrite(None, "", (), "async functions are not rewritten")
    nested = _inside_loops(work, [f.kernel.loop for f in kernels])
    for k, finding in enumerate(kernels):
        block = KernelCode(finding.kernel, k, order).statements()
        _replace(work, finding.kernel.loop, block)
    ast.fix_missing_locations(work)
    loops = tuple((f.diagnostic.line, f.diagnostic.rule) for f in kernels)
    return Rewrite(work, ast.unparse(work), loops, nested=nested)


def _inside_loops(tree: ast.AST, loops: list[ast.For]) -> bool:
    """Is any of ``loops`` the body (at any depth) of another loop in ``tree``?"""
    wanted = {id(loop) for loop in loops}
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.While)) and id(node) not in wanted:
            if any(id(inner) in wanted for inner in ast.walk(node) if inner is not node):
                return True
    return False


def rewrite_for(features: Any, order: str = "auto") -> Rewrite:
    """The rewrite of a decorated function (``FunctionFeatures``), built once per
    function and ``order``."""
    source, names = features.source, features.vectorize.names
    if source.tree is None or names is None:
        return Rewrite(None, "", (), features.vectorize.error or source.reason
                       or "no source")
    key = (source, order)
    found = _rewrites.get(key)
    if found is None:  # built outside the lock (tens of ms); the first one built is kept
        found = _rewrites.setdefault(key, build_rewrite(source.tree, names, order))
    return found


def _replace(tree: ast.AST, old: ast.stmt, new: list[ast.stmt]) -> None:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and any(s is old for s in stmts):
                at = next(i for i, s in enumerate(stmts) if s is old)
                stmts[at:at + 1] = new
                return
    raise ValueError("the loop to replace is not in the tree")  # a bug in this module


def compile_rewrite(rewrite: Rewrite, func: Callable[..., Any]) -> Callable[..., Any]:
    """A new function from ``rewrite``, with ``func``'s globals, defaults and closure.

    The rewritten ``def`` is compiled inside a factory whose locals are the
    original's free variables and ``_ol`` (the runtime helpers), so the new function
    reads the original's closure cells (live) and the module's globals (live), and
    nothing is added to the module. Line numbers are the original file's.
    """
    assert rewrite.tree is not None  # callers check rewrite.ok
    code = func.__code__
    freevars = list(code.co_freevars) + ["_ol"]
    factory = ast.FunctionDef(
        name="_ol_factory", args=ast.arguments([], [], None, [], [], None, []),
        body=[*(ast.Assign([ast.Name(v, ast.Store())], ast.Constant(None)) for v in freevars),
              copy.deepcopy(rewrite.tree), ast.Return(ast.Name(rewrite.tree.name, ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    module = ast.Module([factory], [])
    ast.fix_missing_locations(module)
    compiled = compile(module, code.co_filename, "exec")
    factory_code = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in factory_code.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == rewrite.tree.name)
    cells = dict(zip(code.co_freevars, func.__closure__ or ()))
    cells["_ol"] = types.CellType(runtime)
    closure = tuple(cells[name] for name in inner.co_freevars)
    fn = types.FunctionType(inner, func.__globals__, func.__name__, func.__defaults__,
                            closure or None)
    fn.__kwdefaults__ = copy.copy(func.__kwdefaults__)
    fn.__qualname__ = func.__qualname__
    fn.__module__ = func.__module__
    fn.__doc__ = func.__doc__
    return fn
