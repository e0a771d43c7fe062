"""What level 2 proves about a function before compiling it: small ints and
subscripts in range.

Two facts, each from the AST alone (so they hold for every call):

- **small integers** (:meth:`Proofs.bits`): an expression built from array sizes
  (``len(x)``, ``x.shape[k]``, ``x.size``), small constants, ``range`` loop
  counters over such bounds and names assigned once from such expressions, by
  ``+ - *``, ``//`` and ``%`` by constants, ``min``/``max``, has a known bound on
  its magnitude. An operation whose result is proven under 2**62 cannot leave 64
  bits, so the rewrite (:mod:`.rewrite`) leaves it unchecked;
- **subscripts in range** (:meth:`Proofs.subscript`): ``x[i]`` where ``i`` counts
  over ``range(a, b)`` with ``0 <= a + c`` and ``b + c <= x.shape[k]`` (constant
  offsets ``c`` inside shrunk ranges: ``range(1, n - 1)`` with ``i ± 1``), ``e % n``
  with ``n`` the axis' length, and clamps ``min(max(e, 0), n - 1)``. A function all
  of whose subscripts are proven compiles without bounds checks; otherwise Numba
  checks every one and an ``IndexError`` replays the call in Python.

Array sizes are taken to be under 2**48 elements along any axis (256 TiB of
bytes): no machine holds more.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator

__all__ = ["Proofs", "LoopBounds", "SIZE_BITS", "SAFE_BITS"]

SIZE_BITS = 48  # an axis length is below 2**48
SAFE_BITS = 62  # a result proven below 2**62 in magnitude cannot leave int64
COUNTER_BITS = 61  # a counter stepped by 1 from a small constant (see _counters)


@dataclasses.dataclass(frozen=True)
class LoopBounds:
    """One loop's subscripts: which were proven in range and which keep a check."""

    line: int
    proven: tuple[str, ...]
    checked: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class _Axis:
    """``array.shape[axis]`` minus ``offset`` (a known length)."""

    array: str
    axis: int
    offset: int = 0  # the value is shape - offset


@dataclasses.dataclass(frozen=True)
class _Range:
    """A loop counter over ``range(start, stop)``, step 1 (or -1 from stop to start)."""

    start: int | None  # a constant start, or None
    start_axis: _Axis | None  # start = shape - k (a descending loop's first value)
    stop: _Axis | None  # the exclusive upper end as an axis length


class Proofs:
    """The facts of one function's AST (built once per build)."""

    def __init__(self, tree: ast.FunctionDef | ast.AsyncFunctionDef):
        self.tree = tree
        self.stores = _store_counts(tree)
        self.assigned: dict[str, ast.expr] = {}  # name → its only value
        self.lengths: dict[str, _Axis] = {}  # name → the axis length it holds
        self.ranges: dict[str, _Range] = {}  # loop counter → its range
        self.range_bits: dict[str, int] = {}
        self.params = {a.arg for a in tree.args.posonlyargs + tree.args.args +
                       tree.args.kwonlyargs}
        #: (array, axis, other, other_axis): proofs that hold when
        #: ``array.shape[axis] >= other.shape[other_axis]``, checked at call time
        self._assumed: list[tuple[str, int, str, int]] = []
        self.like: dict[str, str] = {}  # local array → the array it has the shape of
        self.made: dict[str, tuple[str, ...]] = {}  # local array → its lengths' names
        #: (local array, axis) → the (array, axis) whose length it was made with
        self.axis_alias: dict[tuple[str, int], tuple[str, int]] = {}
        self.counters = _counters(tree)
        self.parents = {child: node for node in ast.walk(tree)
                        for child in ast.iter_child_nodes(node)}
        #: (array, axis) → a length the axis has at least, where the subscript being
        #: proven sits (inside ``for i in range(x.shape[0])`` the length is ≥ 1)
        self._min_len: dict[tuple[str, int], int] = {}
        self.loop_targets: set[str] = set()  # counters of range loops stored once
        self._collect()

    # --- facts ----------------------------------------------------------------

    def _collect(self) -> None:
        for node in _own(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                self._assign(node.targets[0], node.value)
        for node in _own(self.tree):
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and \
                    self.stores.get(node.target.id) == 1:
                self._loop(node.target.id, node.iter)
                it = node.iter
                if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and \
                        it.func.id == "range":
                    self.loop_targets.add(node.target.id)  # a Python int, always

    def _assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name) and self.stores.get(target.id) == 1:
            self.assigned[target.id] = value
            self._created(target.id, value)
            axis = self.axis(value)
            if axis is not None:
                self.lengths[target.id] = axis
        elif isinstance(target, ast.Tuple) and _is_shape(value):
            array = value.value.id  # type: ignore[attr-defined]
            for k, elt in enumerate(target.elts):
                if isinstance(elt, ast.Name) and self.stores.get(elt.id) == 1:
                    self.lengths[elt.id] = _Axis(array, k)

    def _loop(self, name: str, it: ast.expr) -> None:
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                and it.func.id == "range" and not it.keywords and 1 <= len(it.args) <= 3):
            return
        args = it.args
        bits = [self.bits(a) for a in args]
        if all(b is not None for b in bits):
            self.range_bits[name] = max(b for b in bits if b is not None) + 1
        step = _const(args[2]) if len(args) == 3 else 1
        if step == 1:
            start = _const(args[0]) if len(args) >= 2 else 0
            stop = self.axis(args[-1] if len(args) == 1 else args[1])
            self.ranges[name] = _Range(start if isinstance(start, int) else None, None, stop)
        elif step == -1 and len(args) == 3:
            first = self.axis(args[0])  # range(n - 1, -1, -1): n - 1 down to 0
            end = _const(args[1])
            if first is not None and isinstance(end, int):
                self.ranges[name] = _Range(end + 1, None,
                                           _Axis(first.array, first.axis, first.offset - 1))

    def _created(self, name: str, value: ast.expr) -> None:
        """A local array made once: ``np.zeros(n)``, ``np.empty((n, m))``, ``np.full(n, v)``
        (its lengths are those names), or ``np.empty_like(u)``, ``u.copy()`` (u's)."""
        if not isinstance(value, ast.Call) or not value.args:
            return
        func = value.func
        leaf = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = value.args[0]
        if leaf in _LIKE and isinstance(first, ast.Name) and self._fixed(first.id):
            self.like[name] = first.id
        elif leaf == "copy" and isinstance(func, ast.Attribute) and \
                isinstance(func.value, ast.Name) and not value.args:
            self.like[name] = func.value.id
        elif leaf in _MAKE:
            dims = first.elts if isinstance(first, ast.Tuple) else [first]
            self.made[name] = tuple(d.id if isinstance(d, ast.Name) and
                                    self.stores.get(d.id, 0) == 0 else "" for d in dims)
            for k, d in enumerate(dims):
                length = self.axis(d)
                if length is not None and length.offset == 0:
                    self.axis_alias[(name, k)] = (length.array, length.axis)

    def canonical(self, array: str) -> str:
        """The array whose shape ``array`` has (itself, or the one it was made like)."""
        seen = 0
        while array in self.like and seen < 8:
            array, seen = self.like[array], seen + 1
        return array

    def axis(self, node: ast.expr) -> _Axis | None:
        """``node`` as an axis length minus a constant, or None."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "len" and len(node.args) == 1 and \
                isinstance(node.args[0], ast.Name) and self._fixed(node.args[0].id):
            return _Axis(self.canonical(node.args[0].id), 0)
        if isinstance(node, ast.Subscript) and _is_shape(node.value):
            k = _const(node.slice)
            array = node.value.value.id  # type: ignore[attr-defined]
            if isinstance(k, int) and k >= 0 and self._fixed(array):
                return _Axis(self.canonical(array), k)
        if isinstance(node, ast.Name) and node.id in self.lengths:
            return self.lengths[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Sub, ast.Add)):
            c = _const(node.right)
            inner = self.axis(node.left)
            if inner is not None and isinstance(c, int):
                shift = c if isinstance(node.op, ast.Sub) else -c
                return _Axis(inner.array, inner.axis, inner.offset + shift)
        return None

    def _fixed(self, name: str) -> bool:
        """An array name never rebound in the function (its shape is fixed): a
        parameter, or a local array made once (``np.zeros(n)``, ``np.empty_like(u)``)."""
        stores = self.stores.get(name, 0)
        return stores == 0 or (stores == 1 and (name in self.like or name in self.made))

    # --- small integers --------------------------------------------------------------

    def bits(self, node: ast.expr, depth: int = 0) -> int | None:
        """A bound on ``node``'s magnitude in bits, or None when none is proven."""
        if depth > 20:
            return None
        c = _const(node)
        if isinstance(c, bool):
            return 1
        if isinstance(c, int):
            return max(1, abs(c).bit_length())
        if isinstance(node, ast.Name):
            if node.id in self.range_bits:
                return self.range_bits[node.id]
            if node.id in self.counters:
                return COUNTER_BITS
            if node.id in self.lengths:
                return SIZE_BITS + 1
            value = self.assigned.get(node.id)
            return None if value is None else self.bits(value, depth + 1)
        if self.axis(node) is not None or _is_size(node):
            return SIZE_BITS + 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.bits(node.operand, depth + 1)
        if isinstance(node, ast.BinOp):
            return self._binop_bits(node, depth)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("min", "max", "abs") and node.args and not node.keywords:
            parts = [self.bits(a, depth + 1) for a in node.args]
            return None if any(p is None for p in parts) else max(p for p in parts if p)
        return None

    def _binop_bits(self, node: ast.BinOp, depth: int) -> int | None:
        left = self.bits(node.left, depth + 1)
        right = self.bits(node.right, depth + 1)
        if left is None or right is None:
            return None
        op = node.op
        if isinstance(op, (ast.Add, ast.Sub)):
            return max(left, right) + 1
        if isinstance(op, ast.Mult):
            return left + right
        divisor = _const(node.right)
        if isinstance(op, (ast.FloorDiv, ast.Mod)) and isinstance(divisor, int) and \
                divisor > 0:
            return left
        return None

    def python_int(self, node: ast.expr, depth: int = 0) -> bool:
        """Is ``node`` a Python int on every call, whatever the arguments (an int
        constant, a ``range`` counter, ``len()``, an array's size or shape entry, a
        name assigned once from these, ``+ - * // %`` of them)? NumPy 2 treats such a
        value as weak against a narrow NumPy int (NEP 50)."""
        if depth > 20:
            return False
        c = _const(node)
        if isinstance(c, int) and not isinstance(c, bool):
            return True
        if isinstance(node, ast.Name):
            if node.id in self.loop_targets:
                return True
            value = self.assigned.get(node.id)
            return value is not None and self.python_int(value, depth + 1)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "len" and len(node.args) == 1:
            return True
        if isinstance(node, ast.Subscript) and _is_shape(node.value) or _is_size(node):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                                 ast.FloorDiv, ast.Mod)):
            return self.python_int(node.left, depth + 1) and \
                self.python_int(node.right, depth + 1)
        return False

    def small(self, node: ast.expr) -> bool:
        """Proven to stay below 2**62 in magnitude."""
        found = self.bits(node)
        return found is not None and found <= SAFE_BITS

    # --- subscripts in range -------------------------------------------------------

    def subscript(self, node: ast.Subscript) -> bool:
        """Is every index of ``node`` proven inside its axis (perhaps under a shape
        condition on the arguments, see :meth:`proven_if`)?"""
        if not isinstance(node.value, ast.Name) or not self._fixed(node.value.id):
            return False
        array = self.canonical(node.value.id)
        self._min_len = self._lengths_inside(node)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(isinstance(p, ast.Slice) for p in parts):
            return False
        return all(self._index(array, k, p) for k, p in enumerate(parts))

    def _lengths_inside(self, node: ast.AST) -> dict[tuple[str, int], int]:
        """The least lengths the loops around ``node`` guarantee: the body of
        ``for i in range(a, n - k)`` runs only when ``n >= a + k + 1``."""
        found: dict[tuple[str, int], int] = {}
        child, parent = node, self.parents.get(node)
        while parent is not None:
            in_body = isinstance(parent, ast.For) and any(child is s for s in parent.body)
            if in_body and isinstance(parent.target, ast.Name):  # not else:, not the iter
                rng = self.ranges.get(parent.target.id)
                if rng is not None and rng.stop is not None and rng.start is not None \
                        and rng.start >= 0:
                    key = (rng.stop.array, rng.stop.axis)
                    found[key] = max(found.get(key, 0), rng.start + rng.stop.offset + 1)
            child, parent = parent, self.parents.get(parent)
        return found

    def _index(self, array: str, axis: int, index: ast.expr) -> bool:
        if (array, axis) in self.axis_alias and not self._proves(array, axis, index):
            array, axis = self.axis_alias[(array, axis)]
        low, high = self._interval(index, array, axis)
        return low is not None and high is not None and low >= 0 and high <= -1

    def _proves(self, array: str, axis: int, index: ast.expr) -> bool:
        low, high = self._interval(index, array, axis)
        return low is not None and high is not None and low >= 0 and high <= -1

    def _interval(self, node: ast.expr, array: str, axis: int
                  ) -> tuple[int | None, int | None]:
        """(lowest value, highest value − the axis length); None where unknown."""
        least = self._min_len.get((array, axis))
        c = _const(node)
        if isinstance(c, int) and not isinstance(c, bool):
            return c, (c - least if least else None)  # below a length the loops ensure
        length = self.axis(node)
        if length is not None and (length.array, length.axis) == (array, axis):
            return (least - length.offset if least else None), -length.offset
        if isinstance(node, ast.Name) and node.id in self.ranges:
            rng = self.ranges[node.id]
            high = None
            if rng.stop is not None and (rng.stop.array, rng.stop.axis) == (array, axis):
                high = -rng.stop.offset - 1
            elif rng.stop is not None and array in self.params and \
                    rng.stop.array in self.params:
                # another argument's length: proven if this axis is at least as long
                self._assumed.append((array, axis, rng.stop.array, rng.stop.axis))
                high = -rng.stop.offset - 1
            return rng.start, high
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            k = _const(node.right)
            if isinstance(k, int) and not isinstance(k, bool):
                low, high = self._interval(node.left, array, axis)
                k = k if isinstance(node.op, ast.Add) else -k
                return (None if low is None else low + k), (None if high is None else high + k)
            return None, None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            length = self.axis(node.right)
            if length is not None and (length.array, length.axis, length.offset) == \
                    (array, axis, 0):
                return 0, -1  # Python's % of a positive length is in [0, n)
            made = self.made.get(array, ())
            if isinstance(node.right, ast.Name) and axis < len(made) and \
                    made[axis] == node.right.id:
                return 0, -1  # np.zeros(n) indexed by e % n
            return None, None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("min", "max") and len(node.args) == 2 and not node.keywords:
            a = self._interval(node.args[0], array, axis)
            b = self._interval(node.args[1], array, axis)
            if node.func.id == "min":  # low: the lower of both lows; high: either bounds it
                low = None if a[0] is None or b[0] is None else min(a[0], b[0])
                highs = [h for h in (a[1], b[1], self._upper(node.args[0], array, axis),
                                     self._upper(node.args[1], array, axis)) if h is not None]
                return low, (min(highs) if highs else None)
            lows = [x for x in (a[0], b[0]) if x is not None]
            high = None if a[1] is None or b[1] is None else max(a[1], b[1])
            return (max(lows) if lows else None), high
        return None, None

    def _upper(self, node: ast.expr, array: str, axis: int) -> int | None:
        length = self.axis(node)
        if length is not None and (length.array, length.axis) == (array, axis):
            return -length.offset
        return None

    def loops(self) -> list[LoopBounds]:
        """Per loop, the subscripts proven in range and those that keep a check."""
        out = []
        for loop in _own(self.tree):
            if not isinstance(loop, (ast.For, ast.While)):
                continue
            proven: list[str] = []
            checked: list[str] = []
            for node in ast.walk(loop):
                if isinstance(node, ast.Subscript) and not _is_shape(node.value):
                    text = ast.unparse(node)
                    self._assumed = []
                    ok = self.subscript(node)
                    if ok and self._assumed:
                        text += " (" + ", ".join(f"when {x}.shape[{k}] >= {y}.shape[{m}]"
                                                 for x, k, y, m in sorted(set(self._assumed))) + ")"
                    (proven if ok else checked).append(text)
            out.append(LoopBounds(loop.lineno, tuple(dict.fromkeys(proven)),
                                  tuple(dict.fromkeys(checked))))
        return out

    def all_proven(self) -> bool:
        """Is every subscript of the function proven (bounds checks can go)?"""
        return self.proven_if() is not None

    def proven_if(self) -> tuple[tuple[str, int, str, int], ...] | None:
        """None when some subscript keeps a check; otherwise the shape conditions
        (``array.shape[axis] >= other.shape[other_axis]``, arguments all) under which
        every subscript is in range, to check at call time."""
        self._assumed = []
        ok = all(self.subscript(n) for n in _own(self.tree)
                 if isinstance(n, ast.Subscript) and not _is_shape(n.value))
        return tuple(sorted(set(self._assumed))) if ok else None


_LIKE = frozenset({"empty_like", "zeros_like", "ones_like", "full_like", "copy"})
_MAKE = frozenset({"empty", "zeros", "ones", "full"})


def _counters(tree: ast.AST) -> frozenset[str]:
    """Names only ever set to a small constant or stepped by exactly 1 (``steps += 1``).
    Past 2**62 such a counter would need 2**62 steps, centuries of any loop, so it
    is taken as small (2**61)."""
    bad: set[str] = set()
    seen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            seen.add(name)
            if not (isinstance(node.op, (ast.Add, ast.Sub)) and _const(node.value) == 1
                    and not isinstance(_const(node.value), bool)):
                bad.add(name)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            c = _const(node.value)
            name = node.targets[0].id
            seen.add(name)
            if not (isinstance(c, int) and not isinstance(c, bool) and abs(c) < 2 ** 31):
                bad.add(name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bad.update(node.names)
    # a loop target, a tuple target, a with … as: not a counter
    return frozenset(seen - bad - _plain_store_names(tree))


def _plain_store_names(tree: ast.AST) -> set[str]:
    """Names stored other than by ``name = ...`` / ``name op= ...`` statements."""
    counted: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            counted.add(id(node.targets[0]))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            counted.add(id(node.target))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, (ast.Store, ast.Del)) and id(n) not in counted}


def _own(tree: ast.AST) -> Iterator[ast.AST]:
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _store_counts(tree: ast.AST) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            counts[node.target.id] = counts.get(node.target.id, 0) + 2
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                counts[name] = counts.get(name, 0) + 2
    return counts


def _const(node: ast.AST) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and \
            isinstance(node.operand.value, (int, float)):
        return -node.operand.value
    return None


def _is_shape(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "shape" and \
        isinstance(node.value, ast.Name)


def _is_size(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in ("size", "ndim") and \
        isinstance(node.value, ast.Name)
