"""Robust source and AST retrieval.

Never raises: a function whose source cannot be had (builtins, C functions,
``exec``-defined code, REPL input, lambdas) gets a :class:`SourceInfo` with
``tree=None`` and a reason, and runs at level 0.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import types
from typing import Any

__all__ = ["SourceInfo", "get_source", "unwrap_callable"]


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """The function's AST (``tree``) or why there is none (``reason``)."""

    tree: ast.FunctionDef | ast.AsyncFunctionDef | None
    filename: str | None
    firstlineno: int
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.tree is not None


def unwrap_callable(obj: Any) -> Any:
    """Peel ``staticmethod``/``classmethod`` and ``functools.wraps`` layers."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    try:
        return inspect.unwrap(obj)
    except ValueError:  # a __wrapped__ cycle
        return obj


def get_source(func: Any) -> SourceInfo:
    """Return the function's AST with line numbers of its file, or the reason it has none."""
    func = unwrap_callable(func)
    if not isinstance(func, types.FunctionType):
        kind = type(func).__name__
        return SourceInfo(None, None, 0, f"not a Python function ({kind}): no source to read")
    code = func.__code__
    if func.__name__ == "<lambda>":
        return SourceInfo(None, code.co_filename, code.co_firstlineno,
                          "a lambda: its source is part of a line, not a function")
    try:
        lines, start = inspect.getsourcelines(func)
    except (OSError, TypeError):
        where = code.co_filename
        return SourceInfo(None, where, code.co_firstlineno,
                          f"no source available (defined in {where}, e.g. by exec or a REPL)")
    text = textwrap.dedent("".join(lines))
    try:
        module = ast.parse(text)
    except SyntaxError as exc:
        return SourceInfo(None, code.co_filename, start,
                          f"source could not be parsed ({exc.msg}, line {exc.lineno})")
    node = _find_def(module, func.__name__)
    if node is None:
        return SourceInfo(None, code.co_filename, start,
                          f"source of {func.__name__!r} not found where Python says it is")
    ast.increment_lineno(node, start - 1)
    node.decorator_list = []  # decorators ran at definition; they are not the body
    return SourceInfo(node, code.co_filename, start)


def _find_def(module: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None
