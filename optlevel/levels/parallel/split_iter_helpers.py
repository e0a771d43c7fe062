"""What a function the loop calls does, read from its source, for the iteration-space
proof (:mod:`.split_iter`): what pieces would lose (a global it changes, through a
local name too, I/O, ``global``, a call of something it cannot see into), and which of
its parameters it changes in place, so that the proof can tell whether an argument the
loop hands it may be an object other iterations see.

A helper may change only objects it made itself (a name bound only to a new list, dict
or set, a comprehension or a constructor call) and its own parameters; the callers
decide what those parameters may be. It may call pure builtins, pure modules'
functions, classes and Python functions (read the same way, three deep); any other
callable (an object with ``__call__``, a bound method kept in a global, a builtin
such as ``setattr``) cannot be seen into.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import operator
import sys
import textwrap
import types
from typing import Any

from ...analysis.scope import Namespace
from ...analysis.tables import IO_BUILTINS, MUTATING_NUMPY
from . import split_scan as scan
from .split_iter_facts import (
    MUTATING,
    PURE_BUILTINS,
    READING_METHODS,
    bindings,
    deep_fresh,
    defined,
    fresh,
)

__all__ = ["PURE_MODULES", "CHANGES_FIRST", "Helper", "helper_effect",
           "helper_facts", "changed_args", "callee_effects", "callable_risk", "resolve",
           "module_rooted", "new_iterator"]

#: Modules whose functions only read their arguments (NumPy's but MUTATING_NUMPY).
PURE_MODULES = ("numpy", "math", "cmath", "builtins", "operator", "string", "re",
                "itertools", "functools", "statistics", "unicodedata")
#: Builtins and ``operator`` functions that change their first argument.
CHANGES_FIRST = frozenset("next anext setattr delattr setitem delitem iadd iand iconcat "
                          "ifloordiv ilshift imod imul imatmul ior ipow irshift isub "
                          "itruediv ixor".split())


def helper_effect(func: Any, depth: int = 0) -> str | None:
    """What a Python helper the loop calls does that pieces would lose (a global it
    changes, I/O, ``global``, a call optlevel cannot see into), read from its source,
    helpers of helpers included; None when nothing such is seen (or it has no source
    to read)."""
    return helper_facts(func, depth).effect


@dataclasses.dataclass(frozen=True)
class Helper:
    """What a Python function does, read from its source (:func:`helper_facts`).

    ``effect``: what pieces would lose, or None; ``top``: its parameters it may change
    in place (``row.append(v)``, ``row[k] = v``, ``self.n += 1``); ``deep``: those below
    which it may change something (``row[0].append(v)``, an alias of one); ``known``:
    False where it has no source to read (any argument may change)."""

    effect: str | None = None
    top: frozenset[str] = frozenset()
    deep: frozenset[str] = frozenset()
    params: tuple[str, ...] = ()
    vararg: str | None = None
    kwarg: str | None = None
    kwonly: tuple[str, ...] = ()
    known: bool = True


def helper_facts(func: Any, depth: int = 0) -> Helper:
    """:class:`Helper` of a Python function (its own ``def`` or a lone lambda)."""
    if not isinstance(func, types.FunctionType) or depth > 3:
        return Helper(known=False)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return Helper(known=False)
    node: ast.AST | None = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        node = lambdas[0] if len(lambdas) == 1 and func.__name__ == "<lambda>" else None
    if node is None:
        return Helper(known=False)
    return _Reader(func, node, depth).read()


def changed_args(helper: Helper, call: ast.Call, skip: int = 0) -> list[tuple[ast.expr, bool]]:
    """The arguments of ``call`` that ``helper`` may change, each with True where it may
    change what the argument holds (``skip``: parameters bound before them, ``self``)."""
    every = [a.value if isinstance(a, ast.Starred) else a for a in call.args] \
        + [k.value for k in call.keywords]
    if not helper.known:
        return [(a, True) for a in every]
    changed = helper.top | helper.deep
    out: list[tuple[ast.expr, bool]] = []

    def add(arg: ast.expr, name: str | None) -> None:
        if name is None:  # where a starred argument or **kwargs lands: any parameter
            if changed:
                out.append((arg, bool(helper.deep) or bool(changed - set(helper.params))))
        elif name in (helper.vararg, helper.kwarg):
            if name in changed:  # args[0].append(v): the argument itself
                out.append((arg, True))
        elif name in changed:
            out.append((arg, name in helper.deep))

    unknown = False
    for k, arg in enumerate(call.args):
        unknown = unknown or isinstance(arg, ast.Starred)
        pos = k + skip
        name = None if unknown else helper.params[pos] if pos < len(helper.params) \
            else helper.vararg
        add(arg.value if isinstance(arg, ast.Starred) else arg, name)
    for kw in call.keywords:
        if kw.arg is None:
            add(kw.value, None)
        else:
            add(kw.value, kw.arg if kw.arg in helper.params or kw.arg in helper.kwonly
                else helper.kwarg)
    return out


def resolve(ns: Namespace, node: ast.expr) -> tuple[bool, Any]:
    """The object ``name`` or ``module.attr.attr`` names (attributes of modules and
    classes only: nothing of the user's runs to find it)."""
    if isinstance(node, ast.Name):
        return ns.lookup(node.id)
    if isinstance(node, ast.Attribute):
        found, value = resolve(ns, node.value)
        if found and isinstance(value, (types.ModuleType, type)) \
                and hasattr(value, node.attr):
            return True, getattr(value, node.attr)
    return False, None


def module_rooted(ns: Namespace, node: ast.expr) -> bool:
    """``np.linalg.norm``: an attribute path whose root name is a module."""
    while isinstance(node, ast.Attribute):
        node = node.value
    if not isinstance(node, ast.Name):
        return False
    found, value = ns.lookup(node.id)
    return found and isinstance(value, types.ModuleType)


def callee_effects(value: Any, dotted: str | None, call: ast.Call, depth: int = 0,
                   ) -> tuple[str | None, list[tuple[ast.expr, bool]]]:
    """What calling ``value`` (``dotted``: its module path) as ``call`` does: what pieces
    would lose (phrased to follow "which"), or None; and the arguments it may change in
    place (True: below them too). Pure builtins and pure modules' functions change
    nothing; a Python function or a class's ``__init__`` is read from its source;
    anything else (a callable object, a bound method, a builtin that is not known to
    only read) cannot be seen into."""
    module, last = (dotted.split(".", 1)[0], dotted.rsplit(".", 1)[-1]) if dotted \
        else ("", "")
    first = [(a, False) for a in call.args[:1] if not isinstance(a, ast.Starred)]
    if module in ("builtins", "operator") and last in CHANGES_FIRST:
        return None, first
    if module == "builtins" and last in IO_BUILTINS:
        return "does I/O", []
    if isinstance(value, type):
        if dataclasses.is_dataclass(value) and not hasattr(value, "__post_init__"):
            return None, []  # its generated __init__ (no source) only stores its arguments
        init = value.__dict__.get("__init__") if value.__module__ != "builtins" else None
        if init is None:
            init = next((k.__dict__["__init__"] for k in value.__mro__[1:]
                         if "__init__" in k.__dict__ and k.__module__ != "builtins"), None)
        if isinstance(init, types.FunctionType):
            facts = helper_facts(init, depth)
            return facts.effect, changed_args(facts, call, skip=1)
        return None, []
    if module in PURE_MODULES and type(value) not in _HIDDEN_CALLS \
            and (module != "builtins" or last in PURE_BUILTINS):
        return None, first if module == "numpy" and last in MUTATING_NUMPY else []
    if isinstance(value, types.FunctionType):
        facts = helper_facts(value, depth)
        return facts.effect, changed_args(facts, call)
    what = "builtin" if module == "builtins" else f"{type(value).__name__} object"
    return f"is a {what} optlevel cannot see into", []


def callable_risk(value: Any, dotted: str | None, depth: int = 0) -> str | None:
    """Why a callable handed to another call (``map(f, rows)``, ``key=f``) could change
    state the pieces would lose, or None: it may be called on anything there."""
    if isinstance(value, _DESCRIPTORS):
        return "changes its first argument" if value.__name__ in MUTATING else None
    if not callable(value) or isinstance(value, type):
        return None
    if isinstance(value, types.FunctionType) \
            and (dotted or "").split(".", 1)[0] not in PURE_MODULES:
        facts = helper_facts(value, depth)
        return facts.effect or ("changes its arguments" if facts.top or facts.deep else None)
    probe = ast.Call(ast.Name("f", ast.Load()), [ast.Name("x", ast.Load())], [])
    effect, changed = callee_effects(value, dotted, probe, depth)
    return effect or ("changes its argument" if changed else None)


#: Calls whose body runs code of the caller's choosing (a pure module's type of them).
_HIDDEN_CALLS = (functools.partial, operator.methodcaller)
#: Unbound methods of builtin types (``str.lower``, ``list.append``): they change nothing
#: but their first argument, and that only where the name says so (MUTATING).
_DESCRIPTORS = (types.MethodDescriptorType, types.WrapperDescriptorType)


class _Reader:
    """Reads one helper's source for :func:`helper_facts`."""

    def __init__(self, func: types.FunctionType, node: ast.AST, depth: int):
        self.func, self.depth, self.ns = func, depth, Namespace(func)
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        a = node.args
        self.params = tuple(x.arg for x in a.posonlyargs + a.args)
        self.kwonly = tuple(x.arg for x in a.kwonlyargs)
        self.vararg = a.vararg.arg if a.vararg else None
        self.kwarg = a.kwarg.arg if a.kwarg else None
        self.every_param = set(self.params) | set(self.kwonly) \
            | {n for n in (self.vararg, self.kwarg) if n}
        body: list[ast.stmt] = node.body if isinstance(node.body, list) \
            else [ast.Expr(node.body)]
        self.module = ast.Module(body=body, type_ignores=[])
        self.parents = scan.parents(self.module)
        self.binds = bindings(self.module)
        self.defs = defined(body)
        inner = {x.arg for n in ast.walk(self.module)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                 for x in n.args.posonlyargs + n.args.args + n.args.kwonlyargs
                 + [v for v in (n.args.vararg, n.args.kwarg) if v]}
        self.lambdas = {name for name, values in self.binds.items()
                        if values and all(isinstance(v, ast.Lambda) for v in values)}
        self.own = self.every_param | set(self.binds) | set(self.defs) | inner
        self.effect: str | None = None
        self.top: set[str] = set()
        self.deep: set[str] = set()

    def read(self) -> Helper:
        for node in ast.walk(self.module):
            if self.effect:
                break
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                self.effect = f"declares {type(node).__name__.lower()} {', '.join(node.names)}"
                break
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in MUTATING:
                self._change(node.func.value, False)
            elif isinstance(node, (ast.Subscript, ast.Attribute)) \
                    and isinstance(node.ctx, ast.Store):
                self._change(node.value, False)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                    and node.target.id in self.every_param \
                    and isinstance(node.value, _DISPLAYS):
                self._change(node.target, False)  # row += [v] extends the caller's list
            if isinstance(node, ast.Call):
                self._call(node)
        return Helper(self.effect, frozenset(self.top), frozenset(self.deep), self.params,
                      self.vararg, self.kwarg, self.kwonly)

    def _owner(self, node: ast.expr, seen: frozenset[str] = frozenset(),
               ) -> tuple[str, str, bool]:
        """Whose object ``node`` is, for a change made to it: ``("made", ...)`` one this
        function made, ``("param", name, below)``, ``("global", name, below)`` or
        ``("other", text, below)`` (a value it got from a call, a loop, ...)."""
        expr, below = node, False
        while isinstance(expr, (ast.Subscript, ast.Attribute)):
            expr, below = expr.value, True
        if not isinstance(expr, ast.Name):
            return "other", ast.unparse(node), below
        name = expr.id
        if name in self.every_param:
            return "param", name, below
        if name not in self.own:
            return "global", name, below
        values = self.binds.get(name) or [None]
        if name in seen or name in self.defs or None in values:
            return "other", ast.unparse(node), below
        if all(self._made(v) for v in values if v is not None):
            if not below or (isinstance(node, ast.Subscript) and node.value is expr
                             and deep_fresh(self.module, name, self.binds, self.parents)):
                return "made", name, below
            return "other", ast.unparse(node), below  # box[0]: what it holds may be given
        owners = []
        for value in values:  # an alias (c = CACHE; r = row[0]): whose object it is
            if not isinstance(value, (ast.Name, ast.Subscript, ast.Attribute)):
                return "other", ast.unparse(node), below
            owners.append(self._owner(value, seen | {name}))
        for kind in ("other", "global"):
            for found in owners:
                if found[0] == kind:
                    return kind, found[1], True
        return owners[0][0], owners[0][1], True

    def _made(self, value: ast.expr) -> bool:
        if fresh(value) or new_iterator(value, self.own):
            return True
        if isinstance(value, ast.Call):
            if isinstance(value.func, ast.Attribute) and value.func.attr in scan.CREATION_LIKE:
                return True
            if isinstance(value.func, (ast.Name, ast.Attribute)) and not (
                    isinstance(value.func, ast.Name) and value.func.id in self.own):
                found, made = resolve(self.ns, value.func)
                return found and isinstance(made, type)  # a constructor: a new object
        return False

    def _change(self, node: ast.expr, deep: bool, via: str = "") -> None:
        kind, name, below = self._owner(node)
        if kind == "made" and not deep:
            return
        if kind == "param":
            (self.deep if below or deep else self.top).add(name)
        elif kind == "global":
            self.effect = f"{via}changes the global {name!r}"
        else:
            self.effect = f"{via}changes {name}, which it did not make itself"

    def _call(self, node: ast.Call) -> None:
        func = node.func
        for arg in [a.value if isinstance(a, ast.Starred) else a for a in node.args] \
                + [k.value for k in node.keywords]:
            self._passed(arg, node)
        if isinstance(func, ast.Lambda):
            return  # its body is read with this function's
        if isinstance(func, ast.Attribute):
            if func.attr in MUTATING:
                return  # a change to its object (read)
            if not module_rooted(self.ns, func):
                if func.attr not in READING_METHODS:  # may change its object: x.step()
                    kind, name, below = self._owner(func.value)
                    if kind == "param":
                        (self.deep if below else self.top).add(name)
                return
            found, value = resolve(self.ns, func)
            if found:
                self._apply(value, self.ns.dotted(func), node, ast.unparse(func))
            return
        if not isinstance(func, ast.Name):
            self.effect = f"calls {ast.unparse(func)}(), which optlevel cannot see into"
            return
        name = func.id
        imported = self.defs.get(name, "def").lstrip(".").rpartition(".")
        if imported[0] in sys.modules and hasattr(sys.modules[imported[0]], imported[2]):
            value = getattr(sys.modules[imported[0]], imported[2])  # from math import sqrt
            self._apply(value, f"{imported[0]}.{imported[2]}", node, name)
            return
        if name in self.own:
            if name in self.lambdas or self.defs.get(name) == "def":
                return  # a function of its own: its body is read with this one's
            values = self.binds.get(name) or [None]
            if all(isinstance(v, ast.Attribute) and v.attr in READING_METHODS
                   for v in values):
                return  # starts = text.startswith: a reader, bound
            if name in self.every_param:  # a callback: it may change itself, and its arguments
                self.top.add(name)
                for arg in [a.value if isinstance(a, ast.Starred) else a for a in node.args] \
                        + [k.value for k in node.keywords]:
                    self._change(arg, True, f"passes {ast.unparse(arg)} to {name}(), which ")
                return
            self.effect = f"calls {name}(), which optlevel cannot see into"
            return
        if name in IO_BUILTINS:
            self.effect = f"calls {name}()"
            return
        found, value = self.ns.lookup(name)
        if found and value is not self.func:
            self._apply(value, self.ns.dotted(func), node, name)

    def _apply(self, value: Any, dotted: str | None, node: ast.Call, name: str) -> None:
        effect, changed = callee_effects(value, dotted, node, self.depth + 1)
        if effect:
            self.effect = f"calls {name}(), which {effect}"
            return
        for arg, deep in changed:
            self._change(arg, deep, f"passes {ast.unparse(arg)} to {name}(), which ")

    def _passed(self, arg: ast.expr, call: ast.Call) -> None:
        """A function handed to a call (``map(fill, rows)``) runs there on anything."""
        if isinstance(arg, ast.Attribute) and arg.attr in MUTATING:
            self._change(arg.value, False, f"passes {ast.unparse(arg)} on, which ")
        elif isinstance(arg, ast.Name) and arg.id not in self.own:
            found, value = self.ns.lookup(arg.id)
            risk = callable_risk(value, self.ns.dotted(arg), self.depth + 1) \
                if found and value is not self.func else None
            if risk:
                self.effect = f"passes {arg.id} to {ast.unparse(call.func)}(), and " \
                              f"{arg.id}() {risk}"


def new_iterator(value: ast.expr, local: set[str]) -> bool:
    """``iter(x)``, ``zip(a, b)``, ...: a new iterator (advancing it changes nothing else)."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
        and value.func.id in _ITERATORS and value.func.id not in local


_ITERATORS = frozenset("iter reversed enumerate zip map filter".split())
_DISPLAYS = (ast.List, ast.Tuple, ast.Set, ast.ListComp, ast.SetComp, ast.GeneratorExp)
