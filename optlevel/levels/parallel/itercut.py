"""Cutting one call of an iteration split (:mod:`.iterrun`) into pieces: the loop's
iterable as a sequence, each piece's iterations, the entries of the containers a
piece needs (its own keys and their halo), whether the call's objects can be cut at
all, and how the pieces' effects go back into the caller's objects."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from .floatrows import Cells
from .iterworker import atoms_only, items_of, key_at
from .split_iter import IterProof

__all__ = ["stand_ins", "fold", "folds_exactly", "put", "tree_params", "iterable", "sequence",
           "describe", "slot_problem", "key_problem", "aliased"]

_SEQUENCES = (list, tuple, str, bytes, range, np.ndarray)
_UNORDERED: tuple[type, ...] = (dict, set, frozenset, type({}.keys()), type({}.values()),
                                type({}.items()))
_CUT_TYPES = frozenset(_SEQUENCES + _UNORDERED)
#: What a subclass overrides to give its items otherwise than its base class does: the
#: pieces take the base's items (slices, ``list()``), the plain loop what ``__iter__``
#: gives (``class Rev(list)`` iterating reversed was split in list order).
_ITERATING = ("__iter__", "__getitem__", "__len__")
#: A dict's keys (and items, by their key) never repeat, whatever their types.
_DICT_KEYED = {type({}.keys()): (), type({}.items()): (0,)}


def stand_ins(proof: IterProof, env: dict, descs: list[tuple]) -> list[dict]:
    """Per piece, the entries of the names the loop uses only at its own key (``A[i]``,
    ``C[i][j] = ...``) or near it (``grid[i - 1]``: a halo): a dict of those keys, or
    for a list a list holding only them, instead of the whole container. A name whose
    keys do not all index it (a negative or too large index, an offset on a dict) goes
    whole."""
    out: list[dict] = [{} for _ in descs]
    for name, path, offsets in proof.by_key:
        value = env.get(name)
        if not (type(value) in (list, tuple, dict)
                or (isinstance(value, np.ndarray) and value.ndim >= 1)):
            continue
        if type(value) is dict and offsets != (0,):
            continue
        parts = []
        for desc in descs:
            try:
                keys = {key_at(item, path) for item in items_of(desc)}
                if offsets != (0,):
                    keys = {k + off for k in keys for off in offsets}
            except TypeError:  # unhashable keys, or keys that take no offset: whole
                break
            if type(value) is dict:
                part: Any = {k: value[k] for k in keys if k in value}
            elif not all(type(k) is int and 0 <= k < len(value) for k in keys):  # type: ignore[arg-type]
                break
            elif isinstance(value, np.ndarray):
                part = {k: value[k] for k in sorted(keys)}  # type: ignore[index]
            else:
                # a list padded with None up to the piece's last key: the loop's
                # ``A[i][k]`` stays a list index (a dict there: rowwise N=256 took
                # 276 ms, 240 ms with the list), and the padding pickles at a byte an entry
                part = [None] * (max(keys) + 1 if keys else 0)  # type: ignore[type-var]
                for k in keys:
                    part[k] = value[k]  # type: ignore[index]
            parts.append(part)
        else:
            for piece, part in zip(out, parts):
                piece[name] = part
    return out


def folds_exactly(op: str, value: Any) -> bool:
    """Does a reduction's value, folded piece by piece in another grouping, give the plain
    loop's? For ``+`` and ``*``: ints and bools (exact in any grouping), and for ``+``
    strings, bytes, lists and tuples (concatenation is associative). Floats and complex
    numbers are not (:func:`.chunks.inexact`): they fold only under
    ``sum_order='pairwise'``, checked apart. Anything else runs whole: a Decimal rounds at
    each step, a NumPy integer wraps (and mixed with a Python int beyond 64 bits raises),
    an object's own ``__add__`` may do anything. ``min`` and ``max`` pick one of the
    values: numbers, strings and tuples of them (``max(best, (score, i))``), whose order
    is total; but ``min(x, s)`` keeps the later of two unordered values, so a NaN item
    restarts it, and a piece would restart alone: there floats run whole; and a piece
    whose result holds a NaN (in a tuple) runs whole too."""
    kind = type(value)
    if op in ("+", "*"):
        return kind is int or kind is bool or (op == "+" and kind in (str, bytes, list, tuple))
    if kind in (int, bool, str, bytes) or isinstance(value, np.integer):
        return True
    if kind is tuple:
        return all(folds_exactly(op, v) for v in value)
    # a NaN held as the running min (a tuple (1, nan) beats nothing of first item 1)
    # blocks what plain Python's running value would take: a piece ending on one runs
    # the call whole
    return not op.endswith("<") and (kind is float or isinstance(value, np.floating)) \
        and value == value


def fold(op: str, acc: Any, value: Any) -> Any:
    if op == "+":
        return acc + value
    if op == "*":
        return acc * value
    pick = min if op.startswith("min") else max
    return pick(value, acc) if op.endswith("<") else pick(acc, value)


def put(container: Any, key: Any, value: Any, deep: bool) -> None:
    if type(value) is Cells:  # a row of floats written in place, as its bytes
        if deep and type(container[key]) is list:
            value.write(container[key])
            return
        value = value.row()
    if deep and not isinstance(container, np.ndarray):
        row = container[key]
        if type(row) is list:
            row[:] = value
            return
        if type(row) is dict:
            row.clear()
            row.update(value)
            return
        if isinstance(row, np.ndarray):
            row[...] = value
            return
    container[key] = value


def tree_params(tree: ast.FunctionDef) -> set[str]:
    a = tree.args
    names = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
    return {n.arg for n in names if n is not None}


def iterable(kind: str, args: tuple) -> Any:
    if kind == "range":
        return range(*args)
    if kind == "enumzip":
        return enumerate(zip(*args[1:]), args[0])
    if kind == "enumerate":
        return enumerate(args[0], args[1])
    if kind == "zip":
        return zip(*args)
    return args[0]


def _iterates_as_built(obj: Any) -> bool:
    """Is ``obj`` of a type the pieces cut, or of a subclass that gives its items as
    that type does (a named tuple, a list subclass adding methods)?"""
    for cls in type(obj).__mro__:
        if cls in _CUT_TYPES:
            return True
        if any(name in cls.__dict__ for name in _ITERATING):
            return False
    return False


def _cut(obj: Any) -> Any:
    if not _iterates_as_built(obj):
        return None
    if isinstance(obj, _SEQUENCES) and not (isinstance(obj, np.ndarray) and obj.ndim == 0):
        return obj
    if isinstance(obj, _UNORDERED):
        return list(obj)  # type: ignore[call-overload]
    return None


def sequence(kind: str, args: tuple) -> Any:
    """What the pieces cut: a sequence as long as the loop, or None (run it whole)."""
    if kind == "range":
        return range(*args)
    if kind in ("zip", "enumzip"):
        parts = [_cut(a) for a in (args if kind == "zip" else args[1:])]
        if any(p is None for p in parts):
            return None
        return range(min(len(p) for p in parts))
    return _cut(args[0])


def describe(kind: str, args: tuple, seq: Any, lo: int, hi: int) -> tuple:
    """The iterations ``[lo, hi)`` as a piece receives them (see :func:`.iterworker.items_of`)."""
    if kind == "enumerate":
        return ("enumerate", seq[lo:hi], args[1] + lo)
    if kind == "zip":
        return ("zip", tuple(_cut(a)[lo:hi] for a in args))
    if kind == "enumzip":
        return ("enumzip", tuple(_cut(a)[lo:hi] for a in args[1:]), args[0] + lo)
    return ("seq", seq[lo:hi])


def slot_problem(name: str, container: Any, deep: bool) -> str:
    if isinstance(container, np.ndarray):
        return "" if container.dtype.kind in "biufcUS" else f"{name!r} has dtype object"
    if type(container) not in (list, dict):
        return f"{name!r} is a {type(container).__name__}, not a list, dict or array"
    if deep:
        rows = container.values() if type(container) is dict else container
        ids = [id(r) for r in rows]
        if len(set(ids)) != len(ids):
            return f"rows of {name!r} are the same object"
    return ""


def key_problem(proof: IterProof, kind: str, args: tuple, seq: Any, env: dict) -> str:
    """A slot the pieces would write apart where the plain loop writes one slot twice:
    run the call whole.

    * A list or array is indexed only by ints from 0 (``C[-1]`` is ``C[n - 1]``: a
      ``range(-n, n)`` loop writes each slot twice, and its later iteration reads the
      earlier one's write).
    * Keys that repeat (``proof.unique`` False, and seen repeating) at a slot that
      exists before the call: a worker reports a slot it wrote only where its object
      changed, so a piece writing back the object the slot held (``0`` over ``0``)
      would leave an earlier piece's write in place. A slot made by the loop (a dict
      empty before it) is reported by every piece that writes it, and the last wins.
    """
    keys_at: dict[tuple[int, ...], Any] = {}
    for name, _, path in proof.slots:
        container = env[name]
        indexed = type(container) is list or isinstance(container, np.ndarray)
        unique = proof.unique and (kind != "iter" or _DICT_KEYED.get(type(args[0])) == path)
        if unique and not indexed:
            continue  # distinct keys of a dict: distinct slots
        if path not in keys_at:
            try:
                keys_at[path] = _keys(kind, args, seq, path)
            except Exception:  # items without that key: the plain loop raises its error
                return f"the loop's items have no key at {list(path)}"
        keys = keys_at[path]
        if indexed and isinstance(keys, range):
            if keys[0] < 0 or keys[-1] < 0:
                return (f"{name!r} is written at negative indices ({name}[{min(keys)}]): "
                        "each is also another iteration's slot")
            continue
        if indexed:
            for key in keys:
                if not (type(key) is int or isinstance(key, np.integer)) or key < 0:
                    return (f"{name!r} is written at {key!r}, not an index from 0: it may "
                            "be another iteration's slot")
        if unique:
            continue
        try:
            repeated = _repeated(keys)
        except TypeError:  # an unhashable key: the plain loop's error, as written
            return f"a key of {name!r} is unhashable"
        for key in repeated:
            if _holds(container, key):
                return (f"{name!r} is written twice at {key!r}, which it held before the "
                        "loop: a later piece's write of the same object would not show")
    return ""


def _holds(container: Any, key: Any) -> bool:
    """Does ``container`` have a slot ``key`` (for a list or array: an int from 0)?"""
    if type(container) is dict:
        return key in container
    return key < (len(container) if type(container) is list or container.ndim else 0)


def _keys(kind: str, args: tuple, seq: Any, path: tuple[int, ...]) -> Any:
    """The loop's keys at ``path``, in order: a range where they are one."""
    if kind == "range" and not path:
        return seq
    if kind in ("enumerate", "enumzip") and path == (0,):
        start = args[1] if kind == "enumerate" else args[0]
        return range(start, start + len(seq))
    return [key_at(item, path) for item in items_of(describe(kind, args, seq, 0, len(seq)))]


def _repeated(keys: Any) -> set:
    seen: set = set()
    again: set = set()
    for key in keys:
        if key in seen:
            again.add(key)
        seen.add(key)
    return again


def _iterated(kind: str, args: tuple) -> list[Any]:
    """The objects the loop takes its items from (each of zip's arguments)."""
    if kind == "range":
        return []
    if kind == "zip":
        return list(args)
    return list(args[1:]) if kind == "enumzip" else [args[0]]


def _reaches(obj: Any, ids: set[int]) -> bool:
    """Is one of ``obj``'s items (or a pair's: ``dict.items()``, a list of tuples) among
    ``ids``? Items that are all numbers and strings hold nothing (one pass in C)."""
    if isinstance(obj, np.ndarray):  # its rows are new views: their memory is checked
        return obj.dtype.kind == "O" and any(map(ids.__contains__, map(id, obj.flat)))
    items = _cut(obj)
    if items is None or isinstance(items, (str, bytes, range)) or atoms_only(items):
        return False
    if any(map(ids.__contains__, map(id, items))):
        return True
    return any(type(item) is tuple and any(map(ids.__contains__, map(id, item)))
               for item in items)


def aliased(proof: IterProof, env: dict, kind: str = "range", args: tuple = ()) -> str:
    """A written container or appended list that another value the loop reads is, or
    holds, would see the pieces' writes late: run those calls whole. So would one the
    loop's iterable is or holds (``enumerate(C[::-1])`` writing ``C[i][0]``: an item is
    a row that another iteration writes), or whose memory it shares."""
    written = [s[0] for s in proof.slots] + list(proof.appends)
    if not written:
        return ""
    iterated = _iterated(kind, args)
    for name in written:
        mine = {id(env[name])}
        own = _at_own_items(proof, kind, name, env[name])
        if any(s[0] == name and s[1] for s in proof.slots):
            rows = env[name].values() if type(env[name]) is dict else env[name]
            if not isinstance(env[name], np.ndarray):
                mine |= {id(r) for r in rows}
        for other in proof.env:
            if other == name:
                continue
            value = env[other]
            ids = {id(value)}
            if type(value) in (list, tuple):
                ids |= {id(v) for v in value}
            elif type(value) is dict:
                ids |= {id(v) for v in value.values()}
            if ids & mine:
                return f"{name!r} shares objects with {other!r}"
            if isinstance(value, np.ndarray) and isinstance(env[name], np.ndarray) \
                    and np.shares_memory(value, env[name]):
                return f"{name!r} shares memory with {other!r}"
        for obj in iterated:
            if (obj is env[name] and not own) or _reaches(obj, mine):
                return f"{name!r} shares objects with the loop's iterable"
            if isinstance(env[name], np.ndarray) and _shares_memory(obj, env[name]):
                return f"{name!r} shares memory with the loop's iterable"
    return ""


def _at_own_items(proof: IterProof, kind: str, name: str, container: Any) -> bool:
    """Does the loop write ``name``, if it iterates it, only at each item's own slot, which
    it reads before it writes there: ``for i, x in enumerate(C): C[i] = f(x)``, ``for k in
    d: d[k] = f(k)``? No other iteration writes there, nor changes a later item."""
    if name in proof.appends:
        return False
    paths = {(0,) if kind in ("enumerate", "enumzip") else None,
             () if type(container) is dict else None}
    return all(not deep and path in paths
               for written, deep, path in proof.slots if written == name)


def _shares_memory(obj: Any, array: np.ndarray) -> bool:
    """Does ``obj``, an array or a sequence of them, reach ``array``'s memory?"""
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind != "O" and bool(np.shares_memory(obj, array))
    items = _cut(obj)
    if items is None or isinstance(items, (str, bytes, range)) or atoms_only(items):
        return False
    return any(isinstance(v, np.ndarray) and np.may_share_memory(v, array) for v in items)
