"""Two questions about a function body: what Numba cannot compile, and which
parameters the function writes in place."""

from __future__ import annotations

import ast

from .scope import Finding, Namespace, Scope
from .tables import IO_BUILTINS, IO_MODULES, MUTATING_ARRAY_METHODS, MUTATING_NUMPY, RANDOM_MODULES

__all__ = ["NumbaBlockers", "MutationFinder", "NUMBA_BAD_BUILTINS"]

#: Builtins Numba cannot compile, or whose meaning (I/O) must stay in Python.
NUMBA_BAD_BUILTINS = frozenset(
    "open input print eval exec compile globals locals vars dir getattr setattr delattr "
    "hasattr id super format repr breakpoint help memoryview bytearray __import__ "
    "callable issubclass object property classmethod staticmethod".split())
#: what writes into an argument array: its own methods, and the dunders called by hand
_MUTATING_METHODS = MUTATING_ARRAY_METHODS | {"__setitem__", "__iadd__"}


class NumbaBlockers(ast.NodeVisitor):
    """Constructs Numba's nopython mode cannot compile, with their lines."""

    def __init__(self, ns: Namespace, scope: Scope):
        self.ns, self.scope = ns, scope
        self.found: list[Finding] = []
        self.root: ast.AST | None = None

    def run(self, tree: ast.AST) -> list[Finding]:
        self.root = tree
        self.generic_visit(tree)
        return self.found

    def _add(self, node: ast.AST, what: str, detail: str = "") -> None:
        self.found.append(Finding(getattr(node, "lineno", 0), what, detail))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._add(node, "class definition")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is not self.root and node.decorator_list:
            self._add(node, "decorated inner function")
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._add(node, "async function")

    def visit_Yield(self, node: ast.Yield) -> None:
        self._add(node, "yield")

    visit_YieldFrom = visit_Yield  # type: ignore[assignment]

    def visit_Await(self, node: ast.Await) -> None:
        self._add(node, "await")

    def visit_With(self, node: ast.With) -> None:
        self._add(node, "with statement")
        self.generic_visit(node)

    visit_AsyncWith = visit_With  # type: ignore[assignment]

    def visit_Try(self, node: ast.Try) -> None:
        if node.finalbody:
            self._add(node, "try/finally")
        for handler in node.handlers:
            if handler.type is not None and not (
                    isinstance(handler.type, ast.Name) and handler.type.id == "Exception"):
                self._add(handler, "except with a specific exception type")
            if handler.name:
                self._add(handler, "except ... as name")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self._add(node, "global statement", ", ".join(node.names))

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._add(node, "nonlocal statement", ", ".join(node.names))

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node, "import inside the function")

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._add(node, "f-string")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                self._add(node, "attribute assignment", ast.unparse(target))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in NUMBA_BAD_BUILTINS \
                and not self.scope.is_local(func.id):
            self._add(node, f"{func.id}()", "I/O" if func.id in IO_BUILTINS else "builtin")
        if any(kw.arg is None for kw in node.keywords):
            self._add(node, "call with **kwargs")
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted:
            root = dotted.split(".", 1)[0]
            if root in IO_MODULES or root in RANDOM_MODULES \
                    or dotted.startswith("numpy.random"):
                self._add(node, f"{dotted}()", "random numbers" if "random" in dotted else "I/O")
        self.generic_visit(node)


class MutationFinder(ast.NodeVisitor):
    """Parameters the function writes in place (``x[i] = …``, ``x += …``, ``out=x``)."""

    def __init__(self, params: tuple[str, ...], ns: Namespace):
        self.params = set(params)
        self.ns = ns
        self.written: set[str] = set()

    def run(self, tree: ast.AST) -> set[str]:
        self.visit(tree)
        return self.written

    def _root(self, node: ast.expr) -> str | None:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return node.id if isinstance(node, ast.Name) and node.id in self.params else None

    def _store(self, target: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._store(elt)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            root = self._root(target)
            if root:
                self.written.add(root)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._store(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and node.target.id in self.params:
            self.written.add(node.target.id)  # in place when the argument is an array
        self._store(node.target)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _MUTATING_METHODS:
            root = self._root(func.value)
            if root:
                self.written.add(root)
        for kw in node.keywords:
            if kw.arg == "out":
                root = self._root(kw.value)
                if root:
                    self.written.add(root)
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted and dotted.startswith("numpy.") and dotted.rsplit(".", 1)[-1] in MUTATING_NUMPY:
            root = self._root(node.args[0]) if node.args else None
            if root:
                self.written.add(root)
        self.generic_visit(node)
