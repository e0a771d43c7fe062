"""An iteration split (:mod:`.split_iter`) on threads: the loop's pieces run in the
thread pool on the caller's own objects, for loops whose iterations spend their time
in NumPy calls that release the GIL (a row's ``mean``, ``std``, ``sqrt`` ...).

Nothing is copied or shipped: each piece writes its own slots in place and reads its
neighbours' rows (a stencil's halo) where they are. Appends and reductions are private
to each piece and merged in order as :mod:`.iterrun` does for processes. A piece that
raises means the written containers are put back as they were before the loop (they
are saved first: a copy of an array, the rows of a list) and the loop runs again here,
serially: the plain loop's exception with the plain loop's partial writes. A container
the function made just before the loop and shows nothing else (``out = np.empty(n)``)
is not saved: the exception leaves the function, and the container with it.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

import numpy as np

from . import pools
from . import split_scan as scan
from .iterworker import items_of
from .split_iter_facts import fresh

__all__ = ["run_threads", "saved", "restore", "private_slots"]


def private_slots(tree: ast.FunctionDef, proof: Any) -> frozenset[str]:
    """Written containers made fresh before the loop that no other statement before it
    reads (nothing else can hold them): a failed call need not put them back."""
    prelude = tree.body[:proof.index]
    cells = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)) \
                and node is not tree:
            cells |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    out = set()
    for name, _, _ in proof.slots:
        binds = [s for s in prelude if name in scan.assigned([s])]
        read = any(n.id == name for s in prelude for n in scan.loads(s))
        if len(binds) != 1 or read or name in cells:
            continue
        stmt = binds[0]
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and _made(stmt.value):
            out.add(name)
    return frozenset(out)


def _made(value: ast.expr) -> bool:
    if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
        leaf = value.func.attr if isinstance(value.func, ast.Attribute) else value.func.id
        if leaf in scan.CREATION_LIKE:
            return True
    return fresh(value)


def run_threads(runner: Any, kind: str, args: tuple, descs: list[tuple], env: dict) -> tuple:
    """Run ``runner``'s loop, cut into the pieces ``descs``, on ``runner.workers`` threads."""
    proof = runner.proof
    slots = tuple(s for s in proof.slots if s[0] not in runner.private)
    backup = saved(slots, env)
    executor = pools.THREADS.get(runner.workers)
    futures = [executor.submit(_piece, runner, env, k, desc) for k, desc in enumerate(descs)]
    try:
        results = pools.wait_all(futures)
    except Exception:  # the user's error: undo the pieces' writes, then the plain loop
        restore(slots, env, backup)
        runner.last = "a piece raised: the loop ran again here, serially"
        return runner.serial(kind, args, env)
    if runner.unmergeable(env, results):  # a sum that does not fold: undo the writes
        restore(slots, env, backup)
        return runner.serial(kind, args, env)
    runner.last = f"{len(descs)} pieces on {runner.workers} threads"
    return runner.merge(env, results)


def _piece(runner: Any, env: dict, k: int, desc: tuple) -> tuple:
    local = dict(env)
    local.update(runner.starts(env, k))
    appends = runner.proof.appends
    for name in appends:
        local[name] = []
    reduced = runner.piece(local, items_of(desc))
    return reduced, {name: () for name, _, _ in runner.proof.slots}, \
        {name: local[name] for name in appends}


def saved(slots: tuple, env: dict) -> list[Any]:
    """What the written containers hold before the loop, to put back after a failure."""
    out: list[Any] = []
    for name, deep, _ in slots:
        container = env[name]
        if isinstance(container, np.ndarray):
            out.append(container.copy())
        elif type(container) is dict:
            out.append({k: _row_copy(v) if deep else v for k, v in container.items()})
        else:
            out.append([_row_copy(v) if deep else v for v in container])
    return out


def _row_copy(row: Any) -> Any:
    if isinstance(row, np.ndarray):
        return row.copy()
    return copy.deepcopy(row)  # writes may reach below the row (C[i][j][k])


def restore(slots: tuple, env: dict, backup: list[Any]) -> None:
    """Put the written containers back as :func:`saved` found them (rows keep identity)."""
    for (name, deep, _), before in zip(slots, backup):
        container = env[name]
        if isinstance(container, np.ndarray):
            container[...] = before
            continue
        if type(container) is dict:
            current = dict(container)
            container.clear()
            for key, value in before.items():
                container[key] = _put_back(current.get(key), value) if deep else value
            continue
        rows = list(container)
        container[:] = [_put_back(row, value) if deep else value
                        for row, value in zip(rows, before)]


def _put_back(row: Any, value: Any) -> Any:
    """The row object itself with its old contents, so other references still see it."""
    if isinstance(row, np.ndarray) and isinstance(value, np.ndarray) \
            and row.shape == value.shape:
        row[...] = value
        return row
    if type(row) is list and type(value) is list:
        row[:] = value
        return row
    if type(row) is dict and type(value) is dict:
        row.clear()
        row.update(value)
        return row
    return value
