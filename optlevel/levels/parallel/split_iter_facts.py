"""The AST facts the iteration-space proof (:mod:`.split_iter`) rests on: what a
loop body binds and to what, which writes reach a slot through a name, which names
hold objects of the iteration's own, and how long a loop runs (for the cost model).
What a helper the loop calls does is read in :mod:`.split_iter_helpers`."""

from __future__ import annotations

import ast
from typing import Any

from ...analysis.tables import MUTATING_ARRAY_METHODS, MUTATING_CONTAINER_METHODS
from . import split_scan as scan

__all__ = ["MUTATING", "READING_METHODS", "PURE_BUILTINS", "defined", "deep_fresh", "bindings",
           "slot_of", "changed_through", "directly_in", "length_name", "target_paths", "stored",
           "fresh", "op_symbol", "reduction_ops"]

MUTATING = MUTATING_ARRAY_METHODS | MUTATING_CONTAINER_METHODS
#: Methods that only read the object they are called on (str, bytes, list, dict, set,
#: tuple, NumPy arrays): the ones a loop may call on an object it did not make.
READING_METHODS = frozenset(
    "get keys values items count index copy lower upper strip lstrip rstrip split rsplit "
    "splitlines join replace startswith endswith find rfind format encode decode isdigit "
    "isalpha isspace isalnum isnumeric isdecimal islower isupper istitle title casefold "
    "partition rpartition zfill center ljust rjust expandtabs translate swapcase capitalize "
    "removeprefix removesuffix hex isdisjoint issubset issuperset union intersection "
    "difference symmetric_difference sum mean std var min max prod any all dot reshape "
    "ravel flatten tolist astype transpose argmax argmin argsort round clip nonzero cumsum "
    "cumprod item conjugate conj real imag view searchsorted trace diagonal take repeat "
    "squeeze swapaxes tobytes __len__ __getitem__ __contains__ isidentifier isprintable "
    "isascii format_map is_integer bit_length as_integer_ratio group groups groupdict span "
    "weekday isoweekday isoformat strftime timestamp toordinal".split())
#: Builtins that only read their arguments.
PURE_BUILTINS = frozenset(
    "abs all any ascii bin bool bytes callable chr complex dict divmod enumerate filter float "
    "format frozenset getattr hasattr hash hex int isinstance issubclass iter len list map max "
    "min oct ord pow range repr reversed round set slice sorted str sum tuple type zip".split())
#: Calls whose result is a new object (a private name bound to one may be changed).
FRESH_CALLS = frozenset("list dict set sorted tuple str int float bool complex bytes bytearray "
                         "frozenset len sum abs round".split())
FRESH_METHODS = frozenset("split rsplit splitlines copy lower upper strip lstrip rstrip "
                           "replace join casefold title encode decode tolist".split())


def defined(stmts: list[ast.stmt]) -> dict[str, str]:
    """Names bound by ``def``, ``class`` and ``import`` in ``stmts`` (outside nested
    functions) → ``"def"``, ``"class"`` or the imported module path (``math.sqrt``)."""
    out: dict[str, str] = {}
    todo: list[ast.AST] = list(stmts)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[stmt.name] = "def"
            continue
        if isinstance(stmt, ast.ClassDef):
            out[stmt.name] = "class"
            continue
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    out[alias.asname] = alias.name
                else:
                    out[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                out[alias.asname or alias.name] = f"{'.' * stmt.level}{stmt.module or ''}" \
                                                  f".{alias.name}"
        for field in ("body", "orelse", "handlers", "finalbody"):
            sub = getattr(stmt, field, None)
            if isinstance(sub, list):
                todo.extend(s for s in sub if isinstance(s, (ast.stmt, ast.excepthandler)))
    return out


def deep_fresh(body: ast.Module, name: str, binds: dict, parents: dict) -> bool:
    """``name`` is bound only to a new container of new containers (``[[0.0] * m for _
    in range(k)]``, ``[[], []]``), which nothing replaces, fills or hands on: changing
    ``name[k]`` changes an object of its own."""
    for value in binds.get(name) or [None]:
        if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            items = [value.elt]
        elif isinstance(value, ast.DictComp):
            items = [value.value]
        elif isinstance(value, (ast.List, ast.Tuple)):
            items = list(value.elts)
        elif isinstance(value, ast.Dict):
            items = list(value.values)
        else:
            return False
        if not all(item is not None and not isinstance(item, (ast.Name, ast.Starred))
                   and fresh(item) for item in items):
            return False
    for node in ast.walk(body):
        if isinstance(node, ast.AugAssign) and scan.is_var(node.target, name):
            return False  # name += [row]
        if not (isinstance(node, ast.Name) and node.id == name
                and isinstance(node.ctx, ast.Load)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, ast.Store):
                return False  # name[k] = v: what it holds is no longer its own
            continue
        if isinstance(parent, ast.Attribute) and parent.attr in READING_METHODS:
            continue
        if isinstance(parent, ast.Call) and node in parent.args \
                and isinstance(parent.func, ast.Name) and parent.func.id in PURE_BUILTINS:
            continue  # len(grid), sum(map(sum, grid)): read
        return False
    return True


def bindings(body: ast.Module) -> dict[str, list[ast.expr | None]]:
    """Each name the body binds → the values bound (None where not known: a for
    target, an unpacked value). ``x += e`` binds nothing new: x stays what it was."""
    binds: dict[str, list[ast.expr | None]] = {}
    for node in ast.walk(body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                pairs: list[tuple[ast.expr, ast.expr | None]] = [(target, node.value)]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) \
                        and len(target.elts) == len(node.value.elts) \
                        and not any(isinstance(e, ast.Starred) for e in target.elts):
                    pairs = list(zip(target.elts, node.value.elts))
                for tgt, value in pairs:
                    for n in ast.walk(tgt):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            binds.setdefault(n.id, []).append(
                                value if isinstance(tgt, ast.Name) else None)
        elif isinstance(node, (ast.For, ast.comprehension, ast.NamedExpr, ast.AnnAssign)):
            for n in ast.walk(node.target):
                if isinstance(n, ast.Name):
                    binds.setdefault(n.id, []).append(None)
    return binds


def slot_of(value: ast.expr | None, targets: dict[str, tuple[int, ...]],
             outer: set[str]) -> tuple[str, str] | None:
    """``C[key]`` → (C, key) for a container ``C`` of the function."""
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
            and value.value.id in outer and isinstance(value.slice, ast.Name) \
            and value.slice.id in targets:
        return value.value.id, value.slice.id
    return None


def changed_through(body: ast.Module, name: str) -> bool:
    """Does the loop store into ``name[...]`` or call a mutating method on it?"""
    for node in ast.walk(body):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            base = scan.base_name(node)[0]
            if base is not None and base.id == name:
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MUTATING and scan.is_var(node.func.value, name):
            return True
    return False


def directly_in(inner: ast.For, outer: ast.For) -> bool:
    """``inner`` is nested in ``outer`` with no other ``for`` between them."""
    def walk(stmts: list[ast.stmt]) -> bool:
        for stmt in stmts:
            if stmt is inner:
                return True
            if isinstance(stmt, ast.For):
                continue
            for field in ("body", "orelse", "handlers", "finalbody"):
                sub = getattr(stmt, field, None)
                if isinstance(sub, list) and walk([s for s in sub if isinstance(s, ast.stmt)]):
                    return True
        return False
    return walk(outer.body)


def length_name(node: ast.expr, lengths: dict[str, str], params: tuple[str, ...],
                 items: bool = False) -> str | None:
    """The parameter whose length ``node`` is (``len(p)``, ``n - 1`` with ``n = len(p)``,
    ``len(p[0])`` for a square-ish nest), or None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) \
            and isinstance(node.right, ast.Constant):
        return length_name(node.left, lengths, params)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Subscript):
        return length_name(ast.Call(node.func, [scan.base_name(node.args[0])[0] or node.args[0]],
                                     []), lengths, params)
    if isinstance(node, ast.Name):
        if items and node.id in params:
            return node.id
        return lengths.get(node.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Name) \
            and node.args[0].id in params:
        return node.args[0].id
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "shape" and isinstance(node.value.value, ast.Name) \
            and node.value.value.id in params:
        return node.value.value.id
    return None


def target_paths(target: ast.expr) -> dict[str, tuple[int, ...]] | None:
    """Each name the loop target binds → its path in the item; None for other targets."""
    if isinstance(target, ast.Name):
        return {target.id: ()}
    if isinstance(target, (ast.Tuple, ast.List)):
        out: dict[str, tuple[int, ...]] = {}
        for k, elt in enumerate(target.elts):
            inner = target_paths(elt)
            if inner is None:
                return None
            out.update({name: (k,) + path for name, path in inner.items()})
        return out
    return None


def stored(sub: ast.Subscript, parents: dict) -> bool:
    """Is ``sub`` (``C[k]``) only the start of a store target (``C[k] = ``, ``C[k][j] = ``)?"""
    node: Any = sub
    while isinstance(parents.get(node), ast.Subscript) and parents[node].value is node:
        node = parents[node]
    return isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
        and not isinstance(parents.get(node), ast.AugAssign)


def fresh(value: ast.expr) -> bool:
    if isinstance(value, (ast.Constant, ast.List, ast.Dict, ast.Set, ast.Tuple, ast.ListComp,
                          ast.DictComp, ast.SetComp, ast.BinOp, ast.UnaryOp, ast.Compare,
                          ast.JoinedStr, ast.GeneratorExp)):
        return True
    if isinstance(value, ast.IfExp):
        return fresh(value.body) and fresh(value.orelse)
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Name):
            return func.id in FRESH_CALLS or func.id in scan.CREATION
        if isinstance(func, ast.Attribute):
            return func.attr in FRESH_METHODS or func.attr in scan.CREATION
    return False


def op_symbol(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}.get(type(op), "op")


def reduction_ops(loop: ast.For, name: str) -> set[str] | None:
    """The operators of ``name``'s updates if every use of it in the loop is one."""
    ops: set[str] = set()
    updates: set[ast.AST] = set()
    aug = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
    body = ast.Module(body=loop.body, type_ignores=[])
    for node in ast.walk(body):
        if isinstance(node, ast.AugAssign) and scan.is_var(node.target, name):
            op = aug.get(type(node.op))
            if op is None or name in {n.id for n in scan.loads(node.value)}:
                return None
            ops.add(op)
            updates.add(node.target)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and scan.is_var(node.targets[0], name):
            value = node.value
            if isinstance(value, ast.BinOp) and scan.is_var(value.left, name) \
                    and type(value.op) in aug \
                    and name not in {n.id for n in scan.loads(value.right)}:
                ops.add(aug[type(value.op)])  # s = s + e: the same reduction as s += e
                updates |= {node.targets[0], value.left}
                continue
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                    and value.func.id in ("min", "max") and len(value.args) == 2
                    and not value.keywords):
                return None
            a, b = value.args
            own, other, late = (a, b, "") if scan.is_var(a, name) else (b, a, "<")
            if not scan.is_var(own, name) or name in {n.id for n in scan.loads(other)}:
                return None
            ops.add(value.func.id + late)
            updates |= {node.targets[0], own}
    uses = [n for n in ast.walk(body) if isinstance(n, ast.Name) and n.id == name]
    if not ops or any(n not in updates for n in uses):
        return None
    return ops
