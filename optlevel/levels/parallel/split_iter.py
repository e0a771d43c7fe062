"""The iteration-space proof: a top-level ``for`` loop whose iterations are independent,
so its iterations may run in pieces on worker processes and the pieces' effects be
merged in the parent (:mod:`.iterrun`).

The proof looks at the loop, not at the data. What comes before the loop runs once in
the parent as written (``n = len(A)``, ``C = [[0.0] * n for _ in range(n)]``), what
comes after it too; the loop's pieces see those values. An iteration may

* write its own slot of a container made before the loop: ``C[i] = ...``,
  ``C[i][j] = ...``, ``out[i, k] = ...``, ``C[i].append(...)``, ``d[key] = ...``,
  where the first index is the loop's key (the ``range`` value, ``enumerate``'s index,
  a dict's key, or an item: items may repeat, so then the container is never read);
  a write below the slot (``C[i][j] = ...``, a mutating method on ``C[i]``) brings the
  row back whole, copied into the caller's row in place, so its key must never repeat;
* accumulate into a name bound before the loop: ``s += e``, ``s = s + e``, ``s -= e``,
  ``s *= e``, ``s = min(s, e)``, ``s = max(s, e)`` (not read otherwise in the loop);
* append to a list made before the loop, in order: ``out.append(e)``, ``out.extend(e)``;
* bind names of its own (fresh in each iteration, not read after the loop) and
  change objects it made itself (``words = []``; ``words.append(w)``; the rows of
  ``grid = [[0] * m for _ in range(k)]``), by hand or through a helper;
* read anything else, and call what optlevel can read (:mod:`.split_iter_calls`):
  pure builtins, pure modules' functions, classes, and Python functions whose source
  shows they change nothing but objects the iteration made, handed to them.

Refused, with the line and the reason: a value carried from one iteration to the
next, a write to a slot other iterations may touch, a write below a slot whose key
may repeat, ``break``/``return``/``yield``, ``with``, ``del``, ``global``, a mutating
method on a shared object or on an item of a container the iteration made (``box =
[rows[i]]; box[0].append(v)``: the item may be shared), a method that is not a known
reader on an object that may be shared (``item.step()``), a value that may be
shared handed to a function that may change it (``fill(rows[i], v)``, ``fill(LOG,
v)``), a helper that changes a global (through a local name too: ``c = CACHE; c[k] =
v``) or does I/O, a call of a callable bound in the function (a parameter, ``app =
out.append``, a nested ``def``, an item of the loop) or of an object optlevel cannot
see into (an instance with ``__call__``, a bound method kept in a global), and such a
callable handed to a call (``map(app, xs)``).
"""

from __future__ import annotations

import ast
import dataclasses

from ...analysis.scope import Namespace
from . import split_scan as scan
from .split_iter_calls import CallChecks
from .split_iter_facts import (
    MUTATING,
    bindings,
    changed_through,
    defined,
    directly_in,
    fresh,
    length_name,
    op_symbol,
    reduction_ops,
    slot_of,
    stored,
    target_paths,
)
from .split_proofs import NoProof

__all__ = ["IterProof", "prove_iterations"]

_FORBIDDEN = (ast.Return, ast.Global, ast.Nonlocal, ast.FunctionDef, ast.AsyncFunctionDef,
              ast.ClassDef, ast.Yield, ast.YieldFrom, ast.Await, ast.Delete, ast.With,
              ast.AsyncWith, ast.AsyncFor)


@dataclasses.dataclass(frozen=True)
class IterProof:
    """A top-level ``for`` loop (``index`` in the function body) whose iterations are
    independent.

    ``iter_kind``: ``range``, ``enumerate``, ``zip`` or ``iter`` (any other object);
    ``slots``: ``(container, deep, key path)``: written at its loop-key slot only
    (``deep`` when below the slot: ``C[i][j]``), the key at that path of each item;
    ``unique``: keys never repeat (``range``, ``enumerate``, a dict's keys);
    ``appends``: lists appended to in order; ``reductions``: ``(name, op)`` with op
    ``+``, ``*``, ``min``, ``max`` (``min<``/``max<`` when written ``min(e, s)``);
    ``env``: the function's names the loop reads; ``trips``: for each loop of the
    deepest nest, the parameter whose length bounds it (None: unknown); ``by_key``:
    ``(name, key path, offsets)`` of the names the loop uses only as ``name[key]``
    or ``name[key ± c]`` (a piece needs only those entries of them: its own, and a
    halo for the offsets).
    """

    line: int
    index: int
    target: str
    iter_kind: str
    slots: tuple[tuple[str, bool, tuple[int, ...]], ...] = ()
    unique: bool = True
    appends: tuple[str, ...] = ()
    reductions: tuple[tuple[str, str], ...] = ()
    env: tuple[str, ...] = ()
    trips: tuple[str | None, ...] = ()
    by_key: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()

    def __str__(self) -> str:
        parts = [f"line {self.line}: iterations of `for {self.target}` are independent"]
        if self.slots:
            parts.append("writes " + ", ".join(f"{c}[{self.target}]" + ("[...]" if deep else "")
                                               for c, deep, _ in self.slots))
        if self.appends:
            parts.append("appends to " + ", ".join(self.appends) + " in order")
        if self.reductions:
            parts.append("reduces " + ", ".join(f"{n} ({op.rstrip('<')})"
                                                for n, op in self.reductions))
        return "; ".join(parts)


def prove_iterations(tree: ast.FunctionDef, params: tuple[str, ...], ns: Namespace,
                     freevars: tuple[str, ...] = ()) -> tuple[IterProof | None, str]:
    """The top-level loop to split (the deepest provable one), or None and why not."""
    best: IterProof | None = None
    reasons: list[str] = []
    for index, stmt in enumerate(tree.body):
        if not isinstance(stmt, ast.For):
            continue
        try:
            proof = _Proof(tree, index, params, ns, freevars).prove()
        except NoProof as exc:
            reasons.append(str(exc))
            continue
        if best is None or len(proof.trips) > len(best.trips):
            best = proof
    if best is not None:
        return best, str(best)
    return None, reasons[0] if reasons else "no top-level `for` loop"


class _Proof(CallChecks):
    def __init__(self, tree: ast.FunctionDef, index: int, params: tuple[str, ...],
                 ns: Namespace, freevars: tuple[str, ...]):
        self.tree, self.index, self.ns = tree, index, ns
        loop = tree.body[index]
        assert isinstance(loop, ast.For)
        self.loop: ast.For = loop
        self.params = params
        # def, class and import bind names too (the loop's own imports run in each piece)
        self.defs = defined(tree.body[:index])
        self.before = scan.assigned(tree.body[:index]) | set(self.defs)
        self.local = set(params) | scan.assigned(tree.body) | set(freevars) \
            | set(defined(tree.body[:index] + tree.body[index + 1:]))
        self.outer = set(params) | self.before | set(freevars)
        self.freevars = set(freevars)
        self.parents = scan.parents(self.loop)
        self.binds = bindings(ast.Module(body=loop.body, type_ignores=[]))
        self.int_keys: set[str] = set()  # loop targets that are ints: range's, enumerate's
        # names bound before the loop to a function or to a method that changes its
        # object (app = out.append): handed to a call, they may run there
        self.callables = {n for n, kind in self.defs.items() if kind == "def"}
        for node in ast.walk(ast.Module(body=tree.body[:index], type_ignores=[])):
            if isinstance(node, ast.Assign) and (
                    isinstance(node.value, ast.Lambda)
                    or isinstance(node.value, ast.Attribute) and node.value.attr in MUTATING):
                self.callables |= {t.id for t in node.targets if isinstance(t, ast.Name)}

    def prove(self) -> IterProof:
        loop = self.loop
        if loop.orelse:
            raise NoProof(loop.lineno, "a for/else loop")
        kind, unique_path = self._iter_kind(loop.iter)
        targets = target_paths(loop.target)
        if targets is None:
            raise NoProof(loop.lineno, f"unpacks into {ast.unparse(loop.target)}")
        self.targets = targets
        if kind in ("range", "enumerate"):
            self.int_keys = {n for n, path in targets.items() if path == unique_path}
        self._statements()
        body = ast.Module(body=loop.body, type_ignores=[])
        assigned = scan.assigned(loop.body)
        clash = assigned & set(targets)
        if clash:
            raise NoProof(loop.lineno, f"the loop rebinds its own {sorted(clash)[0]!r}")
        reductions = self._reductions(assigned)
        private = assigned - set(reductions)
        appends = self._appends(body, assigned)
        aliases = self._aliases(body, private, targets)
        slots, keyed = self._slots(body, targets, assigned, aliases)
        unique = unique_path is not None and all(p == unique_path for _, _, p in slots)
        for name, deep, _ in slots:
            if deep and not unique:  # each piece would change its own copy of one row
                raise NoProof(self.deep_lines[name],
                              f"writes below {name}[{keyed[name]}], whose key may repeat: "
                              "two pieces would each change their own copy of the same row")
        self._reads(body, slots, appends, unique, keyed)
        fresh = self._fresh_privates(private)
        self.private, self.fresh = private, fresh
        self._mutations(body, private, fresh, set(aliases), slots, appends)
        carried = scan.carried(loop.body, private, set(targets))
        if carried is not None:
            raise NoProof(carried.lineno, f"{carried.id!r} carries a value from one "
                                          "iteration to the next")
        after = scan.carried(self.tree.body[self.index + 1:], private | set(targets), set())
        if after is not None:
            raise NoProof(after.lineno, f"{after.id!r}, bound in the loop, is read after it")
        self._calls(body, private)
        read = {n.id for n in scan.loads(body)
                if n.id in self.local and n.id not in assigned and n.id not in targets}
        for name in sorted(read & set(self.defs)):
            if self._imported_module(name):  # the pieces get what the loop reads, pickled
                raise NoProof(loop.lineno, f"reads {name!r}, a module imported in the "
                                           "function: worker processes cannot be sent a module")
        env = sorted(read | set(reductions) | set(appends) | {s[0] for s in slots})
        by_key = self._by_key(body, targets, set(env) - set(reductions) - set(appends))
        return IterProof(loop.lineno, self.index, ast.unparse(loop.target), kind, tuple(slots),
                         unique, tuple(appends), tuple(sorted(reductions.items())),
                         tuple(env), self._trips(), by_key)

    # -- the header ----------------------------------------------------------------------
    def _iter_kind(self, it: ast.expr) -> tuple[str, tuple[int, ...] | None]:
        """The kind of iterable, and the target path of a key that never repeats."""
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) \
                and it.func.id not in self.local:
            found, value = self.ns.lookup(it.func.id)
            if found and value is range and 1 <= len(it.args) <= 3 and not it.keywords:
                return "range", ()
            if found and value is enumerate and len(it.args) == 1 \
                    and all(k.arg == "start" for k in it.keywords):
                return "enumerate", (0,)
            if found and value is zip and it.args and not it.keywords:
                return "zip", None
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) \
                and it.func.attr in ("items", "keys") and not it.args:
            return "iter", (0,) if it.func.attr == "items" else ()
        return "iter", None  # evaluated once, as the plain loop does; cut when a sequence

    def _statements(self) -> None:
        for node in ast.walk(ast.Module(body=self.loop.body, type_ignores=[])):
            if isinstance(node, _FORBIDDEN):
                what = type(node).__name__.lower()
                raise NoProof(getattr(node, "lineno", self.loop.lineno),
                              f"a {what} inside the loop")
        for stmt in scan._outer_breaks(self.loop.body):
            raise NoProof(stmt.lineno, "break leaves the loop early")

    # -- what the loop writes ---------------------------------------------------------------
    def _reductions(self, assigned: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in sorted(assigned & self.outer):
            ops = reduction_ops(self.loop, name)
            if ops is None:
                continue
            families = {"+": "+", "-": "+", "*": "*"}
            kinds = {families.get(op, op) for op in ops}
            if len(kinds) != 1:
                raise NoProof(self.loop.lineno, f"{name!r} is reduced with mixed operators "
                                                f"{sorted(ops)}")
            found[name] = kinds.pop()
        return found

    def _appends(self, body: ast.Module, assigned: set[str]) -> list[str]:
        found = []
        for node in ast.walk(body):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                    and isinstance(node.value.func, ast.Attribute) \
                    and node.value.func.attr in ("append", "extend") \
                    and isinstance(node.value.func.value, ast.Name):
                name = node.value.func.value.id
                if name in self.outer and name not in assigned and name not in found:
                    found.append(name)
        for name in found:
            for node in scan.loads(body):
                if node.id != name:
                    continue
                attr = self.parents.get(node)
                call = self.parents.get(attr) if attr is not None else None
                stmt = self.parents.get(call) if call is not None else None
                if not (isinstance(attr, ast.Attribute) and attr.attr in ("append", "extend")
                        and isinstance(call, ast.Call) and call.func is attr
                        and isinstance(stmt, ast.Expr)):
                    raise NoProof(node.lineno, f"reads {name!r}, which the loop appends to")
                if any(n.id == name for a in call.args for n in scan.loads(a)):
                    raise NoProof(node.lineno, f"appends {name!r} to itself")
        return found

    def _slots(self, body: ast.Module, targets: dict[str, tuple[int, ...]],
               skip: set[str], aliases: dict[str, tuple[str, str]],
               ) -> tuple[list[tuple[str, bool, tuple[int, ...]]], dict]:
        """Containers of the function written at the loop's key (and how deep)."""
        found: dict[str, tuple[bool, tuple[int, ...]]] = {}
        keyed: dict[str, str] = {}
        self.deep_lines: dict[str, int] = {}
        for name, (container, key) in aliases.items():
            if changed_through(body, name):
                found[container] = (True, targets[key])
                keyed[container] = key
                self.deep_lines.setdefault(container, self.loop.lineno)
        writes = [(t, t.lineno, False) for t in scan.store_targets(self.loop.body)
                  if not isinstance(t, ast.Name)]
        for node in ast.walk(body):  # C[i].append(x): a write below C's slot i
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in MUTATING and isinstance(node.func.value, ast.Subscript):
                writes.append((node.func.value, node.lineno, True))
        for target, line, below in writes:
            base, inner = scan.base_name(target)
            if base is None:
                raise NoProof(line, f"writes {ast.unparse(target)}")
            if base.id in skip:
                continue  # an object the iteration made itself (checked by _mutations)
            if base.id not in self.local:
                raise NoProof(line, f"writes {ast.unparse(target)}, a global")
            if base.id not in self.outer:
                raise NoProof(line, f"writes {ast.unparse(target)} before {base.id!r} is bound")
            if inner is None:
                raise NoProof(line, f"writes {ast.unparse(target)}")
            index = scan.first_index(inner)
            if not (isinstance(index, ast.Name) and index.id in targets):
                raise NoProof(line, f"writes {ast.unparse(target)}: its first index is not "
                                    f"the loop's own {ast.unparse(self.loop.target)}")
            # below the slot: C[i][j] = v, C[i, j] = v, and C[i].append(v), which changes
            # the row in place (so it comes back whole, its object unchanged)
            deep = below or target is not inner or (isinstance(inner.slice, ast.Tuple)
                                                    and len(inner.slice.elts) > 1)
            if deep:
                self.deep_lines.setdefault(base.id, line)
            old = found.get(base.id)
            if old is not None and old[1] != targets[index.id]:
                raise NoProof(line, f"writes {base.id!r} at two different keys")
            found[base.id] = ((old[0] if old else False) or deep, targets[index.id])
            keyed[base.id] = index.id
        return [(c, deep, path) for c, (deep, path) in sorted(found.items())], keyed

    def _aliases(self, body: ast.Module, private: set[str],
                 targets: dict[str, tuple[int, ...]]) -> dict[str, tuple[str, str]]:
        """Private names bound only to ``C[key]`` of a container of the function, and used
        only as ``name[...]`` or ``name.method(...)``: a change through them is a write
        to ``C``'s own slot (``new = out[i]``; ``new[j] = v``)."""
        binds = bindings(body)
        out: dict[str, tuple[str, str]] = {}
        updated = {n.target.id for n in ast.walk(body)
                   if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
        for name in private - updated:
            values = binds.get(name, [None])
            pairs = {slot_of(v, targets, self.outer) for v in values}
            if len(pairs) != 1 or None in pairs:
                continue
            uses = [n for n in ast.walk(body) if isinstance(n, ast.Name) and n.id == name
                    and isinstance(n.ctx, ast.Load)]
            if all(isinstance(p, (ast.Subscript, ast.Attribute)) and p.value is n
                   for n in uses for p in [self.parents.get(n)]):
                out[name] = pairs.pop()  # type: ignore[assignment]
        return out

    def _by_key(self, body: ast.Module, targets: dict[str, tuple[int, ...]],
                names: set[str]) -> tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]:
        """Names used only as ``name[key]`` or ``name[key ± c]`` (a halo): with the key's
        path and the offsets seen."""
        found = []
        for name in sorted(names):
            paths, offsets = set(), set()
            for node in ast.walk(body):
                if isinstance(node, ast.Name) and node.id == name:
                    parent = self.parents.get(node)
                    key = _keyed_index(parent, node, targets)
                    paths.add(key[0] if key else None)
                    offsets.add(key[1] if key else 0)
            path = paths.pop() if len(paths) == 1 else None
            if path is not None:
                found.append((name, path, tuple(sorted(offsets))))
        return tuple(found)

    def _reads(self, body: ast.Module, slots: list, appends: list[str], unique: bool,
               keyed: dict[str, str]) -> None:
        """A written container is read only at its own slot (and not at all when keys
        may repeat: an earlier iteration's write would show)."""
        for name, _, _ in slots:
            if name in appends:
                raise NoProof(self.loop.lineno, f"{name!r} is both appended to and written")
            for node in ast.walk(body):
                if not (isinstance(node, ast.Name) and node.id == name):
                    continue
                parent = self.parents.get(node)
                at_key = isinstance(parent, ast.Subscript) and parent.value is node \
                    and scan.is_var(scan.first_index(parent), keyed[name])
                if not at_key:
                    raise NoProof(node.lineno, f"uses {name!r} other than at its slot "
                                               f"[{keyed[name]}]")
                if not unique and isinstance(parent, ast.Subscript) \
                        and not stored(parent, self.parents):
                    raise NoProof(node.lineno, f"reads {name!r}[{keyed[name]}], whose key "
                                               "may repeat: an earlier item's write would show")

    def _fresh_privates(self, private: set[str]) -> set[str]:
        """Private names every binding of which makes a new object."""
        values = bindings(ast.Module(body=self.loop.body, type_ignores=[]))
        return {name for name in private
                if all(v is not None and fresh(v) for v in values.get(name, [None]))}

    def _mutations(self, body: ast.Module, private: set[str], fresh: set[str],
                   aliases: set[str], slots: list, appends: list[str]) -> None:
        written = {s[0] for s in slots}
        own = fresh | aliases
        for node in ast.walk(body):
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                    and node.target.id in private and node.target.id not in own:
                raise NoProof(node.lineno, f"`{ast.unparse(node.target)} "
                                           f"{op_symbol(node.op)}=` may change in place an object "
                                           "other iterations see")
            target = changed = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in MUTATING:
                target = changed = node.func.value
            elif isinstance(node, (ast.Attribute, ast.Subscript)) \
                    and isinstance(node.ctx, ast.Store):
                target = node.value if isinstance(node, ast.Attribute) else node
                changed = node.value
            if target is None or changed is None:
                continue
            line = getattr(node, "lineno", self.loop.lineno)
            base, _ = scan.base_name(target) if isinstance(target, ast.Subscript) \
                else (target if isinstance(target, ast.Name) else None, None)
            if base is None:
                raise NoProof(line, f"changes {ast.unparse(target)}")
            if base.id in fresh and not isinstance(changed, ast.Name) \
                    and not self._own_item(changed):
                raise NoProof(line, f"changes {ast.unparse(changed)}, an item of "
                                    f"{base.id!r} that may be an object other iterations see")
            if isinstance(node, ast.Attribute) and base.id not in own:
                raise NoProof(line, f"sets the attribute {ast.unparse(node)}")
            if base.id in own or base.id in written:
                continue
            if base.id in appends and target is base:
                continue
            raise NoProof(line, f"changes {ast.unparse(target)}, which other "
                                 "iterations may see")

    # -- the cost model's facts ---------------------------------------------------------------
    def _trips(self) -> tuple[str | None, ...]:
        lengths = self._lengths()

        def bound(loop: ast.For) -> str | None:
            it = loop.iter
            if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.args:
                arg = it.args[-1] if it.func.id == "range" else it.args[0]
                if it.func.id == "range" and len(it.args) == 3:
                    arg = it.args[1]
                if it.func.id == "enumerate" and isinstance(arg, ast.Call) \
                        and isinstance(arg.func, ast.Name) and arg.func.id == "zip" \
                        and arg.args:  # enumerate(zip(a, b)): as long as a (or shorter)
                    arg = arg.args[0]
                return length_name(arg, lengths, self.params,
                                   items=it.func.id in ("enumerate", "zip"))
            return length_name(it, lengths, self.params, items=True)

        def deepest(loop: ast.For) -> tuple[str | None, ...]:
            inner = [deepest(n) for n in ast.walk(ast.Module(body=loop.body, type_ignores=[]))
                     if isinstance(n, ast.For) and directly_in(n, loop)]
            return (bound(loop),) + max(inner, key=len, default=())

        assert isinstance(self.loop, ast.For)
        return deepest(self.loop)

    def _lengths(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for stmt in self.tree.body[:self.index]:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], ast.Name):
                of = length_name(stmt.value, out, self.params)
                if of is not None:
                    out[stmt.targets[0].id] = of
        return out


def _keyed_index(parent: ast.AST | None, node: ast.Name,
                 targets: dict[str, tuple[int, ...]]) -> tuple[tuple[int, ...], int] | None:
    """``node[key]`` → (key path, 0); ``node[key + c]`` / ``node[key - c]`` → (path, ±c)."""
    if not (isinstance(parent, ast.Subscript) and parent.value is node):
        return None
    index = parent.slice
    if isinstance(index, ast.Name) and index.id in targets:
        return targets[index.id], 0
    if isinstance(index, ast.BinOp) and isinstance(index.op, (ast.Add, ast.Sub)) \
            and isinstance(index.left, ast.Name) and index.left.id in targets \
            and isinstance(index.right, ast.Constant) and type(index.right.value) is int:
        step = index.right.value
        return targets[index.left.id], step if isinstance(index.op, ast.Add) else -step
    return None
