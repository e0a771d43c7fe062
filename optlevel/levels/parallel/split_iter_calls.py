"""The iteration-space proof's checks of the calls in a loop (:mod:`.split_iter`): what
a call may change that other iterations see, or that the pieces, each on its own copy,
would lose.

* A function called by name or by its module path is read from its source
  (:mod:`.split_iter_helpers`): what it changes beyond its arguments refuses the loop,
  and an argument it may change must be an object the iteration made (``fill(row, v)``
  with ``row = []``, not ``fill(rows[i], v)``). Pure builtins and pure modules'
  functions pass; a callable optlevel cannot see into (an object with ``__call__``, a
  bound method kept in a global) refuses the loop.
* A callable bound in the function (a parameter, a name bound before the loop such as
  ``app = out.append`` or a nested ``def``, an item of the loop) is refused: what it
  changes is not read. A lambda the loop binds itself is proved with the loop.
* A method of an object the iteration did not make must be a known reader
  (``rng.random()``, ``item.step()`` are refused); a mutating one is checked against
  the slots and appends (:meth:`.split_iter._Proof._mutations`).
* A function handed to a call (``map(fill, rows)``, ``key=f``) must change nothing.
"""

from __future__ import annotations

import ast
import sys
import types

from ...analysis.scope import Namespace
from ...analysis.tables import MUTATING_NUMPY
from .split_iter_facts import MUTATING, READING_METHODS, deep_fresh, fresh
from .split_iter_helpers import (
    CHANGES_FIRST,
    PURE_MODULES,
    callable_risk,
    callee_effects,
    module_rooted,
    new_iterator,
    resolve,
)
from .split_proofs import NoProof

__all__ = ["CallChecks", "arguments"]

#: Where a value an argument holds may come from (:meth:`CallChecks._origin`), from safest:
#: nothing another iteration holds (an int key, a constant), an object the iteration
#: made (whose items may be shared), a call's result, and maybe a shared object.
_NONE, _MADE, _COMPUTED, _SHARED = range(4)
#: Values of a global that an argument holding them cannot change.
_INERT = (int, float, complex, str, bytes, bool, type(None), range, frozenset, type,
          types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


class CallChecks:
    """The call checks of :class:`.split_iter._Proof`, which sets what they read: ``ns``,
    ``loop``, ``parents``, ``params``, ``local``, ``outer``, ``before``, ``freevars``,
    ``defs`` (def, class and import before the loop), ``callables``, ``binds`` (the
    loop body's), ``targets``, ``int_keys``, ``private`` and ``fresh``."""

    ns: Namespace
    loop: ast.For
    parents: dict[ast.AST, ast.AST]
    params: tuple[str, ...]
    local: set[str]
    outer: set[str]
    before: set[str]
    freevars: set[str]
    defs: dict[str, str]
    callables: set[str]
    binds: dict[str, list[ast.expr | None]]
    targets: dict[str, tuple[int, ...]]
    int_keys: set[str]
    private: set[str]
    fresh: set[str]

    def _own_item(self, node: ast.expr) -> bool:
        """``grid[k]`` of a private ``grid`` made of new rows only (:func:`deep_fresh`)."""
        return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in self.fresh and deep_fresh(
                ast.Module(body=self.loop.body, type_ignores=[]), node.value.id, self.binds,
                self.parents)

    def _imported_module(self, name: str) -> bool:
        """``import math as m`` before the loop, in the function."""
        kind = self.defs.get(name, "def").lstrip(".")
        return isinstance(sys.modules.get(kind), types.ModuleType)

    def _calls(self, body: ast.Module, private: set[str]) -> None:
        """What a call may change: a function is read from its source (what it changes
        beyond its arguments refuses the loop; an argument it changes must be an object
        the iteration made), a method of an object the iteration did not make must be a
        known reader, and a callable bound in the function cannot be seen into."""
        shared = self.outer - private
        for node in ast.walk(body):
            if not isinstance(node, ast.Call):
                continue
            if any(kw.arg == "out" for kw in node.keywords):
                raise NoProof(node.lineno, "a call with out=")
            func = node.func
            for arg in arguments(node):
                self._handed(arg, node)
            if isinstance(func, ast.Lambda):
                continue  # its body is the loop's, proved with it
            if isinstance(func, ast.Attribute) and not self._module_call(func):
                self._method(func, node.lineno)
                continue
            if not isinstance(func, (ast.Name, ast.Attribute)):
                raise NoProof(node.lineno, f"calls {ast.unparse(func)}(), which optlevel "
                                           "cannot see into")
            name = ast.unparse(func)
            if isinstance(func, ast.Name) and func.id in self.local \
                    and func.id not in self.freevars:
                self._local_call(func.id, node.lineno)
                continue
            found, value = resolve(self.ns, func)
            dotted = self.ns.dotted(func)
            if not found:  # nothing to read (a name optlevel check cannot look up)
                for arg in arguments(node):
                    if isinstance(arg, ast.Name) and arg.id in shared:
                        raise NoProof(node.lineno, f"passes {arg.id!r} whole to {name}(), "
                                                   "which might change it")
                continue
            if dotted is not None and dotted.split(".", 1)[0] in PURE_MODULES \
                    and dotted.rsplit(".", 1)[-1] in MUTATING_NUMPY:
                raise NoProof(node.lineno, f"{dotted}() writes an array")
            effect, changed = callee_effects(value, dotted, node)
            if effect:
                raise NoProof(node.lineno, f"calls {name}(), which {effect}")
            for arg, deep in changed:
                self._changed_arg(arg, deep, name, node.lineno, shared)

    def _changed_arg(self, arg: ast.expr, deep: bool, name: str, line: int,
                     shared: set[str]) -> None:
        """A call may change ``arg`` (``deep``: what it holds too): it must be an object
        the iteration made (holding only objects it made, where ``deep``)."""
        origin = self._origin(arg)
        if origin == _NONE or (origin == _MADE and (not deep or self._own_item(arg))):
            return
        if isinstance(arg, ast.Name) and arg.id in shared:
            raise NoProof(line, f"passes {arg.id!r} whole to {name}(), which might change it")
        what = "what it holds" if origin == _MADE else "it"
        raise NoProof(line, f"passes {ast.unparse(arg)} to {name}(), which might change "
                            f"{what}: it may be an object other iterations see")

    def _local_call(self, name: str, line: int) -> None:
        """A callable the function binds (a parameter, ``app = out.append``, a nested
        ``def``, an item of the loop) may change anything it reaches, and is not read."""
        kind = self.defs.get(name, "")
        if kind.split(".", 1)[0] in PURE_MODULES \
                and kind.rsplit(".", 1)[-1] not in MUTATING_NUMPY | CHANGES_FIRST:
            return  # from math import sqrt, in the function
        values = self.binds.get(name, [])
        if name in self.private and values and all(isinstance(v, ast.Lambda) for v in values):
            return  # a lambda of the loop's own: its body is proved with the loop
        if name in self.params:
            where = "a parameter"
        elif name in self.targets:
            where = "an item of the loop"
        elif name in self.private:
            where = "bound in the loop"
        elif name in self.before:
            where = "bound in the function before the loop"
        else:
            where = "bound in the function"
        raise NoProof(line, f"calls {name}(), {where}: optlevel cannot see what it changes")

    def _handed(self, arg: ast.expr, call: ast.Call) -> None:
        """A function handed to a call (``map(fill, rows)``, ``key=f``) runs there on
        anything: it must change nothing (bound methods: of an object the iteration
        made)."""
        to = ast.unparse(call.func)
        if isinstance(arg, ast.Attribute) and arg.attr in MUTATING:
            if not (isinstance(arg.value, ast.Name) and arg.value.id in self.fresh):
                raise NoProof(call.lineno, f"passes {ast.unparse(arg)} to {to}(), which "
                                           f"changes {ast.unparse(arg.value)}")
        elif isinstance(arg, ast.Name) and arg.id in self.callables:
            raise NoProof(call.lineno, f"passes {arg.id} to {to}(): {arg.id} is bound in the "
                                       "function before the loop and optlevel cannot see "
                                       "what it changes")
        elif isinstance(arg, ast.Name) and (arg.id not in self.local or arg.id in self.freevars):
            found, value = self.ns.lookup(arg.id)
            risk = callable_risk(value, self.ns.dotted(arg)) if found else None
            if risk:
                raise NoProof(call.lineno, f"passes {arg.id} to {to}(), and {arg.id}() {risk}")

    def _module_call(self, func: ast.Attribute) -> bool:
        """``math.sqrt(x)``, ``helpers.fill(row)``: a module's function, called by its path."""
        root: ast.expr = func
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id not in self.local \
            and module_rooted(self.ns, func)

    def _method(self, func: ast.Attribute, line: int) -> None:
        """A method of an object the iteration did not make may change state the pieces
        would each copy (``rng.random()``, ``it.__next__()``, ``item.step()``): only
        known readers pass."""
        root: ast.expr = func.value
        while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if not isinstance(root, ast.Name) or func.attr in READING_METHODS \
                or func.attr in MUTATING:
            return  # (mutating methods were checked against what they may change)
        if root.id in self.int_keys or self._imported_module(root.id):
            return  # an int; a module (``import math as m`` in the function: refused later)
        if root.id in self.private or root.id in self.targets:
            if self._origin(func.value) != _SHARED:
                return  # an object the iteration made, or a call's result
        elif root.id not in self.local:
            found, value = self.ns.lookup(root.id)
            if found and isinstance(value, types.ModuleType):
                return  # a module's function: like a call by name
        raise NoProof(line, f"calls {ast.unparse(func)}(), which may change the state of "
                            f"{root.id!r} (each piece would change its own copy)")

    def _origin(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> int:
        """Where the value of ``node`` may come from: ``_NONE``, ``_MADE``, ``_COMPUTED``
        or ``_SHARED`` (an item of a container is always maybe shared: ``box = [row]``)."""
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.Compare, ast.Lambda)):
            return _NONE
        if isinstance(node, (ast.Starred, ast.NamedExpr)):
            return self._origin(node.value, seen)
        if isinstance(node, ast.IfExp):
            return max(self._origin(node.body, seen), self._origin(node.orelse, seen))
        if isinstance(node, ast.BoolOp):  # `a or b` is one of them
            return max(self._origin(v, seen) for v in node.values)
        if isinstance(node, ast.Name):
            name = node.id
            if name in self.int_keys:
                return _NONE
            if name in self.private and name not in seen:
                values = self.binds.get(name) or [None]
                return max(_SHARED if v is None else self._origin(v, seen | {name})
                           for v in values)
            if name in self.local:  # a parameter, a name bound before the loop, an item
                return _SHARED
            found, value = self.ns.lookup(name)
            plain = found and (isinstance(value, _INERT) or type(value) is tuple
                               and all(isinstance(v, _INERT) for v in value))
            return _NONE if plain else _SHARED
        if fresh(node) or new_iterator(node, self.local):
            return _MADE
        if isinstance(node, ast.Call):
            inputs = arguments(node)
            if isinstance(node.func, ast.Attribute):
                inputs.append(node.func.value)
            return _SHARED if any(self._origin(a, seen) == _SHARED for a in inputs) \
                else _COMPUTED
        return _SHARED


def arguments(call: ast.Call) -> list[ast.expr]:
    """Every argument of ``call`` (a starred one's value)."""
    return [a.value if isinstance(a, ast.Starred) else a for a in call.args] \
        + [k.value for k in call.keywords]
