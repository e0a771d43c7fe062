"""Numba's on-disk cache, rooted under ``OPTLEVEL_CACHE_DIR/numba``, that heals itself.

Numba's own cache (its file format, its invalidation when the source file
changes) is kept; three things differ:

- the directory: everything lives under ``OPTLEVEL_CACHE_DIR``;
- the index key also holds what the compiled code froze that Numba's key does
  not: the values of the global scalars it read and the bytecode of the helpers
  it calls (catalogue SEM012), so a new process never loads code built for an
  old value or an old helper;
- each data file starts with a magic string and the SHA-256 of its payload, so a
  damaged file is noticed before its machine code reaches LLVM (which aborts the
  whole process on damaged object code); a file that cannot be read (truncated,
  garbage, wrong checksum, unreadable) is removed with one ``OptlevelWarning``
  naming it, and the function compiles again and is cached anew. Files without
  the magic string (written by an older optlevel) are simply compiled over;
- a directory that cannot be written warns once and the function runs without a
  disk cache.

Numba's index and data payloads are pickles: this is the compiler's own cache
format, which DESIGN.md allows; optlevel unpickles a data payload (as Numba does)
only after its checksum matched, and never pickles anything of its own there.

Imported by the Numba backend when it builds code (it imports Numba), never by
``import optlevel``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path
from typing import Any

from numba.core import caching

from ...errors import OptlevelWarning, warn_once

__all__ = ["attach_cache"]

log = logging.getLogger("optlevel")
_MAGIC = b"optlevel-nbc-1\n"
# Numba renamed the class (it had a leading underscore before 0.59).
_BaseLocator: Any = vars(caching).get("UserProvidedCacheLocator") or \
    vars(caching)["_UserProvidedCacheLocator"]


class _Stale(Exception):
    """A data file in the format of an older optlevel (no checksum): compile over it."""


class CorruptCacheFile(Exception):
    """A data file whose checksum does not match its contents."""


def attach_cache(disp: Any, cache_dir: Path, extra_key: str = "") -> None:
    """Give ``disp`` Numba's on-disk cache under ``cache_dir``, its index keyed also by
    ``extra_key``. Functions without a source file (exec, REPL) are not cached."""
    filename = disp.py_func.__code__.co_filename
    if not os.path.isfile(filename):
        return
    try:
        disp._cache = _Cache(disp.py_func, cache_dir, extra_key)
    except (RuntimeError, OSError) as exc:  # no usable directory: compile without a cache
        _warn_unwritable(cache_dir, exc)


def _warn_unwritable(where: Path, exc: BaseException) -> None:
    warn_once(("numba-cache-unwritable", str(where)),
              f"optlevel: cannot use the Numba cache directory {where} "
              f"({type(exc).__name__}: {exc}); compiled code is not kept on disk, so each "
              "new process compiles again. Set OPTLEVEL_CACHE_DIR to a writable directory.",
              OptlevelWarning)


class _Locator(_BaseLocator):  # type: ignore[misc, valid-type]
    """Numba's locator for user-provided directories, rooted at ``root`` (a subclass
    per cache directory sets it)."""

    root: Path = Path(".")

    def __init__(self, py_func: Any, py_file: str):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(self.root / self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        return super(_BaseLocator, cls).from_function(py_func, py_file)


class _CheckedFile(caching.IndexDataCacheFile):  # type: ignore[misc]
    """Numba's cache file whose data files carry a magic string and a checksum."""

    def _save_data(self, name: str, data: Any) -> None:
        payload = self._dump(data)
        with self._open_for_write(self._data_path(name)) as f:
            f.write(_MAGIC + hashlib.sha256(payload).digest() + payload)

    def _load_data(self, name: str) -> Any:
        with open(self._data_path(name), "rb") as f:
            blob = f.read()
        if not blob.startswith(_MAGIC):
            raise _Stale(name)
        start = len(_MAGIC) + 32
        digest, payload = blob[len(_MAGIC):start], blob[start:]
        if hashlib.sha256(payload).digest() != digest:
            raise CorruptCacheFile("its checksum does not match its contents")
        data = pickle.loads(payload)  # Numba's own payload, checksum verified
        self.replays = _raises_replay(data)
        return data


def _raises_replay(data: Any) -> bool | None:
    """Does the cached machine code raise level 2's ``Replay``? Its pickled class is
    a constant of the object code (:func:`.jit.may_replay` has no IR to read for
    loaded code); None where the payload is not a compiled function's."""
    try:
        kind, parts = data[0][1], data[0][2]
        return b"Replay" in parts[0] if kind == "object" else None
    except (IndexError, TypeError, KeyError):
        return None


class _Cache(caching.FunctionCache):  # type: ignore[misc]
    """Numba's function cache under ``root``, keyed also by ``extra_key``, that heals
    a damaged file and gives up quietly on what it cannot pickle."""

    def __init__(self, py_func: Any, root: Path, extra_key: str):
        locator = type("_RootedLocator", (_Locator,), {"root": root})
        impl = type("_Impl", (caching.CompileResultCacheImpl,),
                    {"_locator_classes": [locator]})
        self._impl_class = impl  # type: ignore[assignment]
        self._extra_key = extra_key
        super().__init__(py_func)
        self._cache_file = _CheckedFile(
            cache_path=self._cache_path, filename_base=self._impl.filename_base,
            source_stamp=self._impl.locator.get_source_stamp())

    def _index_key(self, sig: Any, codegen: Any) -> Any:
        key = super()._index_key(sig, codegen)
        return key + (self._extra_key,) if self._extra_key else key

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            self._index_key(sig, target_context.codegen())
        except Exception as exc:  # e.g. closure contents Numba cannot pickle
            self.disable()
            log.debug("optlevel: not caching %s on disk: %s: %s", self._name,
                      type(exc).__name__, exc)
            return None
        try:
            self._cache_file.replays = None
            cres = super().load_overload(sig, target_context)
            if cres is not None and self._cache_file.replays is not None:
                cres.library.ol_replays = self._cache_file.replays  # see jit.may_replay
            return cres
        except _Stale:
            return None  # an older optlevel's file: compiled over, no warning
        except Exception as exc:  # a bad cache file must not stop the compile
            _heal(self, sig, target_context, exc)
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except OSError as exc:
            self.disable()
            _warn_unwritable(Path(self.cache_path), exc)
        except Exception as exc:  # e.g. closure contents Numba cannot pickle
            self.disable()
            log.debug("optlevel: not caching %s on disk: %s: %s", self._name,
                      type(exc).__name__, exc)


def _heal(cache: Any, sig: Any, target_context: Any, exc: BaseException) -> None:
    """Remove the file that could not be loaded (the index, or this signature's data
    file), warn once naming it; the caller then compiles and saves afresh."""
    files = cache._cache_file
    bad = files._index_path
    try:
        overloads = files._load_index()
    except Exception:  # the index itself is unreadable: it is the bad file
        overloads = None
    if overloads is not None:
        name = overloads.get(cache._index_key(sig, target_context.codegen()))
        if name is not None:
            bad = files._data_path(name)
    try:
        os.remove(bad)
        removed = "removed it"
    except FileNotFoundError:
        removed = "it is gone"
    except OSError as err:
        cache.disable()  # cannot remove it: bypass the disk cache for this function
        removed = f"could not remove it ({err}), so this function is not cached"
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    warn_once(("numba-cache-bad-file", str(bad)),
              f"optlevel: the Numba cache file {bad} could not be read "
              f"({type(exc).__name__}: {detail}); optlevel {removed} and compiles the "
              "function again.", OptlevelWarning)
