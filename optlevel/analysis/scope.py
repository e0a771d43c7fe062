"""Shared pieces of the AST analyses: findings, name resolution, and scopes."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import sys
import types
from collections.abc import Iterator
from typing import Any

from .tables import IO_BUILTINS, IO_MODULES, NUMPY_CLASSES, RANDOM_MODULES

__all__ = ["Finding", "Namespace", "Scope", "module_scope", "own_nodes", "NUMPY_CLASSES",
           "IO_BUILTINS", "IO_MODULES", "RANDOM_MODULES"]

@dataclasses.dataclass(frozen=True)
class Finding:
    """One fact about one line: ``line``, a short ``what``, and ``detail``."""

    line: int
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}" + (f" ({self.detail})" if self.detail else "")


class Namespace:
    """Resolves a dotted name (``np.linalg.norm``) against the function's globals."""

    def __init__(self, func: Any):
        self.globals: dict[str, Any] = getattr(func, "__globals__", {}) or {}
        closure = getattr(func, "__closure__", None) or ()
        freevars = getattr(getattr(func, "__code__", None), "co_freevars", ())
        self.closure: dict[str, Any] = {}
        for var, cell in zip(freevars, closure):
            try:
                self.closure[var] = cell.cell_contents
            except ValueError:  # an empty cell
                pass

    def lookup(self, name: str) -> tuple[bool, Any]:
        if name in self.closure:
            return True, self.closure[name]
        if name in self.globals:
            return True, self.globals[name]
        if hasattr(builtins, name):
            return True, getattr(builtins, name)
        return False, None

    def dotted(self, node: ast.expr) -> str | None:
        """``np.fft.fft`` → ``'numpy.fft.fft'`` when its root resolves to a module."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        found, value = self.lookup(node.id)
        if not found:
            return None
        if isinstance(value, types.ModuleType):
            root = value.__name__
        else:
            module = getattr(value, "__module__", None) or ""
            if not module:
                return None
            root = f"{module}.{getattr(value, '__name__', node.id)}"
        return ".".join([root] + parts[::-1])


class Scope(ast.NodeVisitor):
    """Local names, names declared global, and free names the function loads."""

    def __init__(self, tree: ast.AST, params: tuple[str, ...]):
        self.locals: set[str] = set(params)
        self.global_decls: set[str] = set()
        self.global_writes: set[str] = set()
        loads: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                self.global_decls.update(node.names)
            elif isinstance(node, ast.Name):
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    self.locals.add(node.id)
                else:
                    loads.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node is not tree:
                self.locals.add(node.name)
            elif isinstance(node, ast.arg):
                self.locals.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.locals.update((a.asname or a.name).split(".")[0] for a in node.names)
        self.global_writes = self.global_decls & self.locals
        self.locals -= self.global_decls
        self.free_loads = frozenset(loads - self.locals)

    def is_local(self, name: str) -> bool:
        return name in self.locals


def lookup_name(func: Any, name: str, *, builtins_too: bool = True) -> tuple[bool, Any]:
    """``(found, value)`` of ``name`` as ``func`` sees it now: a closure cell, a global,
    or (with ``builtins_too``) a builtin."""
    code = func.__code__
    if name in code.co_freevars and func.__closure__:
        cell = func.__closure__[code.co_freevars.index(name)]
        try:
            return True, cell.cell_contents
        except ValueError:  # an empty cell
            return False, None
    if name in func.__globals__:
        return True, func.__globals__[name]
    if builtins_too:
        table = func.__globals__.get("__builtins__", {})
        table = table if isinstance(table, dict) else vars(table)
        if name in table:
            return True, table[name]
    return False, None


def with_names(func: Any, replacements: dict[str, Any]) -> Any:
    """A copy of ``func`` whose globals and closure cells name ``replacements``."""
    code = func.__code__
    closure = func.__closure__
    if closure:
        cells = list(closure)
        for i, var in enumerate(code.co_freevars):
            if var in replacements:
                cells[i] = types.CellType(replacements[var])
        closure = tuple(cells)
    new_globals = dict(func.__globals__)
    new_globals.update({k: v for k, v in replacements.items() if k not in code.co_freevars})
    clone = types.FunctionType(code, new_globals, func.__name__, func.__defaults__, closure)
    clone.__qualname__ = func.__qualname__
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__module__ = func.__module__
    return clone


def module_scope(features: Any) -> Any:
    """A stand-in with the ``__globals__`` of the module that holds the source file of
    the function ``features`` describes (closure variables stay unresolved, which only
    makes an analysis more cautious)."""
    filename = features.source.filename
    for module in list(sys.modules.values()):
        if filename and getattr(module, "__file__", None) == filename:
            return types.SimpleNamespace(__globals__=vars(module))
    return types.SimpleNamespace(__globals__={})


def own_nodes(tree: ast.AST, annotations: bool = True) -> Iterator[ast.AST]:
    """The nodes of ``tree``'s own body, not of functions or classes nested in it;
    without ``annotations``, not the type annotations either (``tuple[str, int]`` is a
    subscript that indexes nothing at run time)."""
    stack = list(_children(tree, annotations))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(_children(node, annotations))


def _children(node: ast.AST, annotations: bool) -> Iterator[ast.AST]:
    if annotations:
        yield from ast.iter_child_nodes(node)
        return
    for field, value in ast.iter_fields(node):
        if field in ("annotation", "returns"):
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield child
