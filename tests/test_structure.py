"""The package's structure, enforced: no import cycles, a core that imports no level,
levels that use only each other's public names, a leaf contract, and modules and
functions of a readable size. Imports placed inside functions count like the others."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "optlevel"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, tuple[pathlib.Path, bool]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


MODULES = _modules()
#: compiled extensions (a C source each): leaves, they import nothing of optlevel
EXTENSIONS = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
              for p in PACKAGE.rglob("*.c")}


def _target(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for each optlevel import,
    at any depth of the module (inside functions too)."""
    path, is_pkg = MODULES[module]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _target(module, is_pkg, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.append((f"{target}.{alias.name}", None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return [(t, n, line) for t, n, line in found
            if t == "optlevel" or t.startswith("optlevel.")]


def _owner(target: str) -> str:
    while target not in MODULES and target not in EXTENSIONS and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


GRAPH = {m: {_owner(t) for t, _, _ in _imports(m)} - {m} for m in MODULES}
GRAPH.update({e: set() for e in EXTENSIONS})


def _layer(module: str) -> str:
    """``levels.<name>`` for a level's modules, else the top folder or module."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "levels":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def test_no_import_cycles():
    cycles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("low", ["optlevel.contract", "optlevel.core", "optlevel.analysis",
                                 "optlevel.arrays", "optlevel.errors", "optlevel.config",
                                 "optlevel.ladder"])
def test_lower_layers_import_no_level(low):
    bad = [(m, t) for m in MODULES if m == low or m.startswith(low + ".")
           for t in GRAPH[m] if t.startswith("optlevel.levels")]
    assert not bad, f"{low} must not import a level: {bad}"


def test_the_contract_is_a_leaf():
    assert GRAPH["optlevel.contract"] <= {"optlevel.errors"}, GRAPH["optlevel.contract"]


def test_the_core_imports_nothing_above_it():
    above = ("optlevel.api", "optlevel.explain", "optlevel.stats", "optlevel.cli",
             "optlevel.bench", "optlevel.device")
    bad = [(m, t) for m in MODULES if m.startswith("optlevel.core")
           for t in GRAPH[m] if t.startswith(above)]
    assert not bad, bad


def _private_uses(module: str) -> list[tuple[str, str, int]]:
    """Private names of another folder's module that ``module`` imports or reads
    through an imported module (``mod._name``)."""
    path, _ = MODULES[module]
    own = _layer(module)
    imports = _imports(module)
    bad = [(t, n, line) for t, n, line in imports
           if n and n.startswith("_") and not n.startswith("__") and _layer(t) != own]
    aliases = {}
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                target = f"{_target(module, MODULES[module][1], node)}.{alias.name}"
                if target in MODULES and _layer(target) != own:
                    aliases[alias.asname or alias.name] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            bad.append((aliases[node.value.id], node.attr, node.lineno))
    return bad


def test_no_private_names_across_folders():
    bad = {m: _private_uses(m) for m in MODULES}
    bad = {m: uses for m, uses in bad.items() if uses}
    assert not bad, f"private names used across folders: {bad}"


def test_modules_are_under_500_lines():
    long = {m: n for m, (p, _) in MODULES.items()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, long


def test_functions_are_under_80_lines():
    long = {}
    for module, (path, _) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length >= MAX_FUNCTION_LINES:
                    long[f"{module}.{node.name}"] = length
    assert not long, long


def test_importing_the_contract_or_the_registry_loads_no_backend():
    code = ("import sys, optlevel.contract, optlevel.core.registry as r; "
            "print(sorted(m for m in sys.modules if m.startswith('optlevel.levels')), "
            "r.BACKENDS.loaded())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[] []", out
