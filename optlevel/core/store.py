"""The plan store: each signature's winner on disk, so a new process starts warm.

A winner (the backend a trial measured fastest, or the one a compile was paid
for) is stored under ``OPTLEVEL_CACHE_DIR/plans/<function id>.json``, keyed by

- the function id (:func:`function_id`): a hash of the function's compiled code
  (its bytecode, constants and names, nested functions included) and, recursively,
  of every plain Python helper it calls through a global or a closure cell — a
  source edit or a helper edit gives another id, so another file;
- the environment (:func:`environment`): the machine fingerprint of the machine
  profile and the versions of Python, NumPy, optlevel and the optional libraries
  installed — a file written elsewhere, or before an upgrade, is ignored;
- inside the file, the ceiling, the mode and the argument signature class.

A new process that finds its signature's winner runs it from the first call: no
warm-up, no trial, no re-measurement (compiled code loads from the compiler's own
disk cache). JSON only; files are written whole to a name unique to the process
and thread, then renamed over the old one (a reader never sees half a file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import os
import re
import sys
import threading
import types
from pathlib import Path
from typing import Any

from .calibrate import machine_fingerprint
from .runtime import RUNTIME

__all__ = ["PlanStore", "function_id", "environment", "store_for", "entry_key"]

log = logging.getLogger("optlevel")
_FORMAT = 1
#: distributions whose version changes what a plan means (compiled code, kernels)
_LIBRARIES = ("numpy", "numba", "llvmlite", "cupy-cuda12x", "cupy-cuda13x", "cupy",
              "torch", "dask", "distributed", "ray")
#: the folder under the cache directory (the tests give each test its own)
SUBDIR = "plans"
_ENV = RUNTIME.cache("core.plan_store.environment", maxsize=1)
_STORES = RUNTIME.cache("core.plan_stores", maxsize=64)


def environment() -> dict[str, Any]:
    """What must match for a stored plan to hold: the machine and the libraries."""
    return _ENV.get_or_make("env", _environment)


def _environment() -> dict[str, Any]:
    # read, not imported: the package imports this module
    versions: dict[str, str] = {"optlevel": getattr(sys.modules.get("optlevel"),
                                                    "__version__", "?")}
    versions.update(installed_versions(_LIBRARIES))
    return {"machine": machine_fingerprint(), "versions": versions}


def installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The versions of the distributions ``names`` installed on ``sys.path``, the first
    found on the path as Python's own lookup takes it, from the names of their
    ``.dist-info`` folders (``numpy-2.4.6.dist-info``): one listing of each path entry,
    about 0.3 ms, where ``importlib.metadata.version`` searched the whole path once a
    name (7 ms for ten, on every new process's first planned call). Only a distribution
    whose folder does not say its version (an ``.egg-info``, a path entry that is a
    zipped egg or archive) is asked of ``importlib.metadata`` (imported only then: 10
    ms)."""
    wanted = {_normal(n): n for n in names}
    found: dict[str, str] = {}
    ask: set[str] = set()
    for entry in sys.path:
        if os.path.isfile(entry):  # a zipped egg or archive: no folder names to read
            ask.update(n for n in names if n not in found)
            continue
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in listing:
            stem, dot, kind = folder.rpartition(".")
            if not dot or kind not in ("dist-info", "egg-info"):
                continue
            name, _, version = stem.partition("-")
            key = _normal(name)
            if key not in wanted or wanted[key] in found or wanted[key] in ask:
                continue  # not asked for, or a folder earlier on the path said first
            if kind == "dist-info" and version:
                found[wanted[key]] = version
            else:
                ask.add(wanted[key])
    if ask:  # never also in found: a name is asked for only where no folder said it
        from importlib import metadata

        for name in sorted(ask):
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
    return {name: found[name] for name in names if name in found}


def _normal(name: str) -> str:
    """A distribution's name as its folder and its metadata both reduce to (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def function_id(func: Any) -> str | None:
    """A hash of ``func``'s code and its helpers' code, or None (no Python code)."""
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    h = hashlib.sha256()
    h.update(f"{getattr(func, '__module__', '')}:{getattr(func, '__qualname__', '')}"
             .encode())
    _hash_function(func, h, set(), depth=0)
    return h.hexdigest()[:24]


def _hash_function(func: Any, h: Any, seen: set[int], depth: int) -> None:
    code = func.__code__
    if id(code) in seen or depth > 4:
        return
    seen.add(id(code))
    h.update(marshal.dumps(code))
    scope = getattr(func, "__globals__", {})
    cells = dict(zip(code.co_freevars, func.__closure__ or ()))
    for name in sorted(_names(code)):
        try:
            value = cells[name].cell_contents if name in cells else scope.get(name)
        except ValueError:  # an empty cell
            continue
        value = getattr(value, "py_func", value)  # an optlevel or Numba wrapper
        if isinstance(value, types.FunctionType):
            h.update(name.encode())
            _hash_function(value, h, seen, depth + 1)


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def entry_key(ceiling: int, mode: int, sig: tuple) -> str:
    """A plan's place in its function's file: the ceiling, the mode, the signature."""
    return f"{ceiling}|{mode}|{sig!r}"


class PlanStore:
    """The stored winners under one directory. Thread-safe."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, Any]] = {}  # function id → its plans

    def _path(self, fid: str) -> Path:
        return self.root / f"{fid}.json"

    def plans(self, fid: str) -> dict[str, Any]:
        """The stored plans of function ``fid`` (read once per process)."""
        found = self._files.get(fid)
        if found is None:
            found = self._read(fid)
            with self._lock:
                found = self._files.setdefault(fid, found)
        return found

    def lookup(self, fid: str, entry: str) -> dict[str, Any] | None:
        return self.plans(fid).get(entry)

    def save(self, fid: str, name: str, entry: str, record: dict[str, Any]) -> None:
        """Store ``record`` for ``entry``, merged with what another process wrote."""
        with self._lock:
            plans = {**self._read(fid), **self._files.get(fid, {}), entry: record}
            self._files[fid] = plans
            data = {"format": _FORMAT, "function": name, "environment": environment(),
                    "plans": plans}
            path = self._path(fid)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, path)
            except OSError as exc:
                log.debug("plan store: cannot write %s: %s", path, exc)

    def _read(self, fid: str) -> dict[str, Any]:
        path = self._path(fid)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.debug("plan store: %s is unreadable (%s); ignored", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT \
                or data.get("environment") != environment() \
                or not isinstance(data.get("plans"), dict):
            log.debug("plan store: %s is from another machine, library version or "
                      "format; ignored", path)
            return {}
        return data["plans"]


def store_for(settings: Any) -> PlanStore:
    """The plan store kept under ``settings.cache_dir`` (one object per directory)."""
    key = (str(settings.cache_dir), SUBDIR)
    found = _STORES.get(key)
    if found is None:
        found = _STORES.get_or_make(key, lambda: PlanStore(Path(key[0]) / key[1]))
    return found
