"""Cutting one call of an iteration split (:mod:`.iterrun`) into pieces: the loop's
iterable as a sequence, each piece's iterations, the entries of the containers a
piece needs (its own keys and their halo), whether the call's objects can be cut at
all, and how the pieces' effects go back into the caller's objects."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from .floatrows import Cells
from .iterworker import items_of, key_at
from .split_iter import IterProof

__all__ = ["stand_ins", "fold", "put", "tree_params", "iterable", "sequence", "describe",
           "slot_problem", "aliased"]

_SEQUENCES = (list, tuple, str, bytes, range, np.ndarray)
_UNORDERED: tuple[type, ...] = (dict, set, frozenset, type({}.keys()), type({}.values()),
                                type({}.items()))


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


def _cut(obj: Any) -> Any:
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


def aliased(proof: IterProof, env: dict) -> str:
    """A written container or appended list that another value the loop reads is, or
    holds, would see the pieces' writes late: run those calls whole."""
    written = [s[0] for s in proof.slots] + list(proof.appends)
    for name in written:
        mine = {id(env[name])}
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
    return ""

