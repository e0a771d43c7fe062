"""What runs in a worker process for an iteration split (:mod:`.iterrun`): the loop's
body over one piece of its iterations, and what that piece changed.

Kept light to import: NumPy, pickle, marshal and the user's function.
"""

from __future__ import annotations

import array
import collections
import datetime
import decimal
import fractions
import marshal
import pickle
import re
import time
import types
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ...core import collector
from ...core.runtime import RUNTIME
from . import shm
from .floatrows import packed_effects
from .worker import load_function, use_globals

__all__ = ["UNSET", "Unset", "items_of", "key_at", "run_loop_piece", "run_pool_piece",
           "run_shipped_piece", "piece_function", "CURRENT_GLOBALS", "run_piece_on", "load_env",
           "preload", "SHM_BYTES", "StoredGiven"]

#: the key of the shared values under which the caller's current globals travel
CURRENT_GLOBALS = "__optlevel_current_globals__"

#: Pickled values at least this large go through shared memory rather than a pipe.
SHM_BYTES = 1 << 18

#: The loop's compiled pieces, by their marshalled code (a pool serves a few).
_pieces = RUNTIME.cache("parallel.iterworker.pieces", maxsize=32)
#: The shared values of the latest calls, by call token (read once per worker per call).
_envs = RUNTIME.cache("parallel.iterworker.envs", maxsize=2)


class Unset:
    """Where a reduction starts in every piece but the first: ``UNSET + e`` is ``e``,
    ``UNSET - e`` is ``-e``, ``UNSET * e`` is ``e``; the parent folds the pieces in order
    onto the real start value, so integers stay exact and strings keep their order."""

    def __add__(self, other: Any) -> Any:
        return other

    def __sub__(self, other: Any) -> Any:
        return -other

    def __mul__(self, other: Any) -> Any:
        return other

    def __reduce__(self) -> str:
        return "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()
_MISSING = object()


class StoredGiven(Exception):
    """A worker's piece stored an object it was given (appended it, wrote it into a
    slot, or reduced to it): the plain loop stores that very object, the parent would
    merge a copy (``keep.append(out[i])`` then ``keep[0] is out[0]``). Raised in the
    worker, it is handled as a raising piece: the loop runs on in the caller's process
    from that piece, as written, and the function's later calls run it whole."""


#: Values with no identity a program can rely on across a copy.
_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None), Unset})


def atoms_only_python(seq: Any) -> bool:
    """Does a list or tuple hold only numbers, strings, bytes and None (``Unset`` too)?
    Where the compiled ``optlevel._atoms`` was built, it answers instead: the same, but
    False for a set (which this answers) and for ``Unset`` items (looked into then)."""
    return _ATOMS.issuperset(map(type, seq))


try:  # the compiled look through a row (optional, as the call fast path is)
    from ..._atoms import atoms_only  # type: ignore[import-not-found]
except ImportError:
    atoms_only = atoms_only_python


def piece_function(code_blob: bytes, func: Callable[..., Any]) -> Callable[..., Any]:
    """The loop's piece function (``(env, items) -> reductions``) with ``func``'s globals."""
    def make() -> Callable[..., Any]:
        code = marshal.loads(code_blob)
        return types.FunctionType(code, getattr(func, "__globals__", {}))

    return _pieces.get_or_make((code_blob, id(func)), make)


def items_of(desc: tuple) -> Iterable[Any]:
    """One piece's iterations from its description (see :func:`.itercut.describe`)."""
    kind = desc[0]
    if kind == "enumerate":
        return enumerate(desc[1], desc[2])
    if kind == "zip":
        return zip(*desc[1])
    if kind == "enumzip":
        return enumerate(zip(*desc[1]), desc[2])
    return desc[1]


def key_at(item: Any, path: tuple[int, ...]) -> Any:
    for k in path:
        item = item[k]
    return item


def run_loop_piece(func_blob: bytes, code_blob: bytes, token: str, env_blob: bytes,
                   starts: dict[str, Any], desc: tuple, spec: tuple) -> tuple:
    """Run the loop over one piece; return ``(reductions, slot changes, appended)``."""
    func = load_function(func_blob)
    piece = piece_function(code_blob, func)
    env = dict(_envs.get_or_make(token, lambda: load_env(env_blob)))
    current = env.pop(CURRENT_GLOBALS, {})
    given = {**env, **starts}  # what this worker received, before the piece runs
    keys = _keys(spec[0], desc)
    held = held_before(given, spec[0], keys)
    with use_globals(func, current):
        effects = run_piece_on(piece, env, starts, desc, spec, keys, held[0])
    if stores_given(effects, given, held, desc, spec):
        raise StoredGiven("a piece stored an object it was given; a worker would store a copy")
    return effects


def run_pool_piece(func_blob: bytes, code_blob: bytes, token: str, env_blob: bytes,
                   starts: dict[str, Any], desc: tuple, spec: tuple) -> tuple:
    """:func:`run_loop_piece` on the local process pool: the rows of floats it wrote
    in place go back packed (:mod:`.floatrows`). Its inputs, unpickled before this
    ran, are set aside from the collector's young generations while it runs
    (:func:`optlevel.core.collector.set_aside`)."""
    with collector.set_aside():
        effects = run_loop_piece(func_blob, code_blob, token, env_blob, starts, desc, spec)
        with collector.paused():
            return packed_effects(effects, spec)


def run_shipped_piece(func_blob: bytes, code_blob: bytes, token: str, env_blob: bytes,
                      blob: Any, spec: tuple, board: tuple | None, out_name: str) -> Any:
    """:func:`run_loop_piece` for a caller that runs a share of the loop itself
    (:mod:`.iterhelp`). ``blob``: the piece's ``(starts, desc)`` pickled by the caller
    (bytes, or a shared-memory segment holding them). The piece marks its slot of the
    caller's ``board`` (``(segment, piece)``, or None) as soon as it arrives, then
    unpickles its inputs, runs, pickles its effects, and writes there the seconds all
    that took. Its effects come back pickled: in the segment ``out_name`` when large
    (the caller's process then reads no pipe while it computes), else as bytes.

    The cyclic collector is paused while the inputs are unpickled and the effects
    pickled, and the inputs are set aside from its young generations while the piece
    runs (:func:`run_pool_piece`): a young collection walked every row of them once a
    call (the stencil of ``benchmarks/loop_splits.py``, 2 cores:
    packing its 266 rows took 3.1-3.8 ms with that collection, 0.8-0.9 without; the
    worker's whole overhead around the loop went from about 13 ms to 9)."""
    begin = time.perf_counter()
    attached = shm.attach()
    slots = attached.array(board[0], True) if board is not None else np.zeros(2)
    at = 2 * board[1] if board is not None else 0
    try:
        slots[at] = 1.0
        with collector.paused():
            starts, desc = load_env(blob)
        effects = run_pool_piece(func_blob, code_blob, token, env_blob, starts, desc, spec)
        with collector.paused():
            out: Any = pickle.dumps(effects, pickle.HIGHEST_PROTOCOL)
        if len(out) >= SHM_BYTES:
            try:
                out = shm.write_result(out_name, np.frombuffer(out, np.uint8))
            except OSError:  # no room (or a retried call's segment): through the pipe
                pass
        slots[at + 1] = time.perf_counter() - begin
        return out
    finally:
        del slots
        attached.close()


def run_piece_on(piece: Callable[..., Any], env: dict, starts: dict[str, Any], desc: tuple,
                 spec: tuple, keys: list[list[Any]] | None = None,
                 before: dict[str, dict] | None = None) -> tuple:
    """The piece's loop over ``desc`` on ``env`` (changed in place), and its effects.
    ``keys`` and ``before``: the slots' keys and :func:`_snapshot`, where the caller
    has them already."""
    env.update(starts)
    slots, appends = spec
    for name in appends:
        env[name] = []
    keys = _keys(slots, desc) if keys is None else keys
    before = _snapshot(env, slots, keys) if before is None else before
    reduced = piece(env, items_of(desc))
    changes = {name: _changes(env[name], deep, at, before[name])
               for (name, deep, _), at in zip(slots, keys)}
    return reduced, changes, {name: env[name] for name in appends}


def stores_given(effects: tuple, given: dict, held: tuple[dict, list], desc: tuple,
                 spec: tuple) -> bool:
    """Does a piece's ``effects`` hold an object the worker was given? ``given``: the
    names bound before the piece ran; ``held``: :func:`held_before`; ``desc``: its
    items. Looked through: appended values, values written at a slot, reductions, and
    the cells of rows written in place (the caller copies those cells into its own row:
    a cell holding an object the worker was given, written or left alone, would come
    back a copy). Effects of numbers, strings and tuples of them, the common case, cost
    one pass over them (rows of numbers in C, :mod:`optlevel._atoms`)."""
    reduced, changes, appended = effects
    slots = {name: deep for name, deep, _ in spec[0]}
    stored = list(reduced)
    for name, deep in slots.items():
        for _, value in changes.get(name, ()):
            if type(value) is dict and deep:
                stored.extend(value.values())
            elif type(value) is list and deep:
                if not atoms_only(value):
                    stored.extend(value)
            else:  # a slot's new value, or a row put back whole (an array's, another type)
                stored.append(value)
    for values in appended.values():
        stored.extend(values)
    stored = [v for v in stored if not _plain(v)]
    if not stored:
        return False
    objects, cells = held
    written = set(slots) | set(spec[1])  # their items at the piece's keys are new now
    roots: list[Any] = [v for k, v in given.items() if k not in written]
    roots += [obj for found in objects.values() for obj in found.values()
              if obj is not _MISSING]
    roots += cells
    roots.append(desc)
    seen = _reachable(roots)
    if seen is None:  # a given object of a kind not looked into may hold what was stored
        return True
    for name in written:  # a written container itself, and the rows written in place
        if name in given:
            seen.add(id(given[name]))
    for name, deep in slots.items():
        if deep:
            seen.update(id(value) for _, value in changes.get(name, ())
                        if not isinstance(value, np.ndarray))
    return any(_reachable([v], stop=seen) is None for v in stored)


def held_before(given: dict, slots: tuple, keys: list[list[Any]]) -> tuple[dict, list]:
    """Before a piece runs: what the containers it writes at the top level hold at its
    keys (:func:`_snapshot`), and the cells of the rows it writes in place that hold
    more than numbers and strings (the rows of numbers, the common case, cost a pass in
    C each)."""
    cells: list[Any] = []
    for (name, deep, _), at in zip(slots, keys):
        container = given.get(name)
        if not deep or container is None or isinstance(container, np.ndarray):
            continue
        for key in at:
            try:
                row = container[key]
            except (IndexError, KeyError, TypeError):
                continue
            if type(row) is dict:
                cells.extend(row.values())
            elif type(row) is list and not atoms_only(row):
                cells.extend(row)
    return _snapshot(given, slots, keys), cells


def _plain(value: Any) -> bool:
    """A number (NumPy's scalars too), a string, or a tuple of them: nothing whose
    identity a copy changes."""
    if type(value) in _ATOMS or isinstance(value, np.generic):
        return True
    return type(value) is tuple and atoms_only(value)


class _Opaque(Exception):
    """An object whose references :func:`_reachable` cannot list (a C type of no known
    kind): what it holds cannot be told, so the piece counts as storing a given object."""


#: Kinds that hold no object of the user's a piece could store: not looked into.
_LEAVES = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type, range,
           slice, re.Pattern, decimal.Decimal, fractions.Fraction, datetime.date,
           datetime.time, datetime.timedelta, bytearray, array.array, np.dtype)


def _references(obj: Any) -> Iterable[Any]:
    """What ``obj`` holds that a piece could have stored: the items of lists, tuples,
    sets, dicts and deques (their subclasses' attributes too), arrays' bases and the
    items of object arrays, instances' ``__dict__`` and ``__slots__``. Raises
    :class:`_Opaque` for an object of no known kind."""
    if isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
        found: list[Any] = [] if atoms_only(obj) else list(obj)  # numbers: ~1 ns each, C
    elif isinstance(obj, dict):
        found = [*obj.keys(), *obj.values()]
    elif isinstance(obj, np.ndarray):  # a base that is not an array is raw memory (shm)
        found = [obj.base] if isinstance(obj.base, np.ndarray) else []
        if obj.dtype.kind == "O":
            found += obj.ravel().tolist()
        return found
    elif isinstance(obj, _LEAVES):
        return ()
    elif isinstance(obj, types.MethodType):
        return (obj.__self__,)
    else:
        found = []
        if not hasattr(obj, "__dict__") and not _slot_names(type(obj)):
            raise _Opaque(type(obj).__name__)
    found.extend(getattr(obj, "__dict__", {}).values())
    for name in _slot_names(type(obj)):
        value = getattr(obj, name, _MISSING)
        if value is not _MISSING:
            found.append(value)
    return found


def _slot_names(kind: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in kind.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return tuple(n for n in names if n not in ("__dict__", "__weakref__"))


def _reachable(roots: list[Any], stop: set[int] | None = None) -> set[int] | None:
    """The ids of the objects reachable from ``roots`` (:func:`_references`; numbers
    and strings left out); None as soon as one of them is in ``stop``, or is of a
    kind that cannot be looked into (a ``deque`` and ``__slots__`` objects were not
    looked into before: a stored item of a given deque came back a copy)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if type(obj) in _ATOMS or id(obj) in seen or isinstance(obj, np.generic):
            continue
        if stop is not None and id(obj) in stop:
            return None
        seen.add(id(obj))
        try:
            stack.extend(_references(obj))
        except _Opaque:
            return None
    return seen


def preload(func_blob: bytes) -> None:
    """Load the function in this worker ahead of its first piece (a measured trial
    then times the loop, not the import of the function's module)."""
    load_function(func_blob)


def load_env(sent: Any) -> dict[str, Any]:
    """The shared values: pickled bytes, or a shared-memory segment holding them."""
    if isinstance(sent, bytes):
        return pickle.loads(sent)
    attached = shm.attach()
    try:
        return pickle.loads(attached.array(sent, False))  # read in place: not kept
    finally:
        attached.close()


def _keys(slots: tuple, desc: tuple) -> list[list[Any]]:
    out = []
    for _, _, path in slots:
        seen: dict[Any, None] = {}
        for item in items_of(desc):
            seen.setdefault(key_at(item, path), None)
        out.append(list(seen))
    return out


def _snapshot(env: dict, slots: tuple, keys: list[list[Any]]) -> dict[str, dict]:
    """Each (shallow-written) container's objects at the piece's keys (``keys``, one
    list a slot: :func:`_keys`), before it runs."""
    out: dict[str, dict] = {}
    for (name, deep, _), at in zip(slots, keys):
        container = env[name]
        if deep or isinstance(container, np.ndarray):
            out[name] = {}
            continue
        found = {}
        for key in at:
            try:
                found[key] = container[key]
            except (IndexError, KeyError, TypeError):
                found[key] = _MISSING
        out[name] = found
    return out


def _changes(container: Any, deep: bool, keys: list[Any], before: dict) -> list[tuple]:
    """``(key, value)`` of the slots this piece wrote: those whose object changed, or
    every key's row when the writes went below the slot (or into an array)."""
    if isinstance(container, np.ndarray):
        return [(k, np.array(container[k])) for k in keys]
    if isinstance(container, dict):
        wanted = set(keys)
        return [(k, v) for k, v in container.items() if k in wanted
                and (deep or before.get(k, _MISSING) is not v)]
    out = []
    for key in keys:
        try:
            value = container[key]
        except (IndexError, KeyError, TypeError):
            continue
        if deep or before.get(key, _MISSING) is not value:
            out.append((key, value))
    return out
