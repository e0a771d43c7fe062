"""The one owner of optlevel's process-wide state.

Caches, pools, cluster clients, machine profiles and the warning memory are
registered here by the module that uses them, so that :func:`reset` (for tests,
and after a driver or cluster change) forgets all of them and :func:`shutdown`
closes pools and clients and unlinks shared memory, once, at exit. The exit
hook is registered when the first pool or client is (:meth:`Runtime.closer`),
never at import.

Every structure here is written under a lock; caches that could grow without
bound (one entry per compiled signature, per warning) are bounded.

This module imports nothing of optlevel, so every other module may use it.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["Cache", "Runtime", "RUNTIME", "reset", "shutdown"]

log = logging.getLogger("optlevel")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING: Any = object()


class Cache(Generic[K, V]):
    """A dict that is written under a lock and, with ``maxsize``, forgets its oldest
    entries. Reads take no lock (a dict lookup is atomic under CPython)."""

    def __init__(self, name: str, maxsize: int | None = None):
        self.name = name
        self.maxsize = maxsize
        self.lock = threading.RLock()
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __setitem__(self, key: K, value: V) -> None:
        with self.lock:
            self._data[key] = value
            self._data.move_to_end(key)
            if self.maxsize is not None:
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)

    def setdefault(self, key: K, value: V) -> V:
        with self.lock:
            found = self._data.get(key, _MISSING)
            if found is _MISSING:
                self[key] = value
                return value
            return found

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value for ``key``, made once (under the lock) when missing."""
        found = self._data.get(key, _MISSING)
        if found is not _MISSING:
            return found
        with self.lock:
            found = self._data.get(key, _MISSING)
            if found is _MISSING:
                found = make()
                self[key] = found
            return found

    def pop(self, key: K, default: Any = None) -> Any:
        with self.lock:
            return self._data.pop(key, default)

    def values(self) -> list[V]:
        with self.lock:
            return list(self._data.values())

    def items(self) -> list[tuple[K, V]]:
        with self.lock:
            return list(self._data.items())

    def clear(self) -> None:
        with self.lock:
            self._data.clear()

    def __repr__(self) -> str:
        return f"<optlevel cache {self.name!r}: {len(self._data)} entries>"


class Runtime:
    """Every piece of process-wide state, by name, with one reset and one shutdown."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._caches: dict[str, Cache] = {}
        self._resets: dict[str, Callable[[], None]] = {}
        self._closers: dict[str, Callable[[], None]] = {}
        self._exit_hook = False

    def cache(self, name: str, maxsize: int | None = None) -> Cache:
        """The cache called ``name`` (made on first ask); :func:`reset` clears it."""
        with self.lock:
            found = self._caches.get(name)
            if found is None:
                found = self._caches[name] = Cache(name, maxsize)
            return found

    def on_reset(self, name: str, forget: Callable[[], None]) -> None:
        """Run ``forget`` on :func:`reset`, before the caches are cleared (state that
        is not a :class:`Cache`, or what must be closed before its cache forgets it)."""
        with self.lock:
            self._resets[name] = forget

    def closer(self, name: str, close: Callable[[], None]) -> None:
        """Run ``close`` on :func:`shutdown` (a pool, a client, shared memory). The
        first closer registers :func:`shutdown` with ``atexit``."""
        with self.lock:
            self._closers[name] = close
            if not self._exit_hook:
                self._exit_hook = True
                atexit.register(self.shutdown)

    def reset(self, *prefixes: str) -> None:
        """Forget every cache and run every reset hook: the next call starts cold.
        With ``prefixes``, only the state whose name starts with one of them."""
        with self.lock:
            caches = [c for n, c in self._caches.items() if _matches(n, prefixes)]
            resets = [(n, f) for n, f in self._resets.items() if _matches(n, prefixes)]
        for name, forget in resets:  # first: a hook may close what a cache holds
            _quietly(name, forget)
        for cache in caches:
            cache.clear()

    def shutdown(self) -> None:
        """Close every pool and client and unlink shared memory (newest first); safe
        to call twice, and at exit."""
        with self.lock:
            closers = list(self._closers.items())[::-1]
        for name, close in closers:
            _quietly(name, close)

    def names(self) -> dict[str, list[str]]:
        """What is registered, for ``optlevel info`` and the tests."""
        with self.lock:
            return {"caches": sorted(self._caches), "resets": sorted(self._resets),
                    "closers": sorted(self._closers)}


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return not prefixes or name.startswith(prefixes)


def _quietly(name: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as exc:  # one broken pool must not stop the others closing
        log.debug("optlevel runtime: %s failed: %s", name, exc)


RUNTIME = Runtime()


def reset(*prefixes: str) -> None:
    """Forget optlevel's process-wide state: caches, probes, machine profiles,
    measured compile times, warnings already issued (with ``prefixes``, only the
    state whose name starts with one of them: ``reset("errors.")``). Plans already
    made keep their callables; new ones rebuild (compiled code reloads from the
    disk cache). Pools and clients stay open; see :func:`shutdown`."""
    RUNTIME.reset(*prefixes)


def shutdown() -> None:
    """Close optlevel's pools and cluster clients and unlink its shared memory.
    Registered with ``atexit`` when the first of them is made."""
    RUNTIME.shutdown()
