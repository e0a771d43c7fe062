"""The backend registry: backends found by name, loaded when first needed.

The built-in backends are listed once, in :data:`BUILTIN`, as ``module:Class``
strings, so importing the registry (or the contract) imports no backend: a
backend's module is imported the first time its name is looked up, and all of
them the first time the planner walks the registry. Third-party backends
register through the ``optlevel.backends`` entry-point group, one line in their
own package's metadata::

    [project.entry-points."optlevel.backends"]
    mybackend = "mypackage.backend:MyBackend"

The entry's object is a backend class (instantiated with no arguments) or a
backend instance. A third-party backend never replaces a built-in one of the same
name; :func:`register_backend` does, on purpose (tests, a user's override).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

from ..contract import Backend, Code, Verdict
from .runtime import RUNTIME

__all__ = ["BACKENDS", "BUILTIN", "ENTRY_POINT_GROUP", "register_backend",
           "requirement_missing", "is_available", "forget_availability", "close_all",
           "known_options"]

log = logging.getLogger("optlevel")

#: The built-in backends, in the order the planner breaks ties within a level.
BUILTIN: dict[str, str] = {
    "python": "optlevel.levels.python.backend:PythonBackend",
    "numba": "optlevel.levels.numba.jit:NumbaBackend",
    "cupy": "optlevel.levels.gpu.backend_cupy:CupyBackend",
    "torch": "optlevel.levels.gpu.backend_torch:TorchBackend",
    "vectorize": "optlevel.levels.vectorize.backend:VectorizeBackend",
    "prange": "optlevel.levels.parallel.backend_prange:PrangeBackend",
    "threads": "optlevel.levels.parallel.backend_threads:ThreadsBackend",
    "processes": "optlevel.levels.parallel.backend_processes:ProcessesBackend",
    "dask": "optlevel.levels.parallel.backend_dask:DaskBackend",
    "ray": "optlevel.levels.parallel.backend_ray:RayBackend",
}
ENTRY_POINT_GROUP = "optlevel.backends"
_RANK = {name: i for i, name in enumerate(BUILTIN)}


def load_object(spec: str) -> Any:
    """``"package.module:Name"`` → the object (a backend class is instantiated)."""
    module, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    return obj() if isinstance(obj, type) else obj


def _may_declare(group: str) -> bool:
    """Might an installed distribution declare entry points of ``group``? A search of
    the ``entry_points.txt`` files on ``sys.path`` for the group's name (under 1 ms
    here, where ``importlib.metadata`` takes about 20 ms in a fresh process, which the
    first planned call paid). A path entry that is not a directory (a zip archive)
    or a file that cannot be read answers yes: ``importlib.metadata`` then decides."""
    needle = group.encode()
    for entry in sys.path:
        try:
            found = os.scandir(entry or ".")
        except NotADirectoryError:
            return True
        except OSError:  # a path entry that does not exist: nothing there
            continue
        with found:
            for item in found:
                if not item.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(item.path, "entry_points.txt"), "rb") as f:
                        if needle in f.read():
                            return True
                except FileNotFoundError:
                    continue
                except OSError:
                    return True
    return False


class Registry(MutableMapping):
    """name → backend, loading each backend the first time it is needed."""

    def __init__(self, builtin: dict[str, str]):
        self._specs: dict[str, str] = dict(builtin)  # not loaded yet
        self._loaded: dict[str, Backend] = {}
        self._order: list[str] = list(builtin)
        self._entry_points_read = False

    def _load(self, name: str) -> Backend | None:
        spec = self._specs.get(name)
        if spec is None:
            return None
        with RUNTIME.lock:
            if name in self._specs:
                backend = load_object(spec)
                self._loaded[name] = backend
                del self._specs[name]
        return self._loaded.get(name)

    def _load_all(self) -> None:
        if not self._entry_points_read:
            self._read_entry_points()
        for name in list(self._specs):
            self._load(name)

    def _read_entry_points(self) -> None:
        self._entry_points_read = True
        if not _may_declare(ENTRY_POINT_GROUP):
            return
        from importlib.metadata import entry_points
        try:
            found = entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # broken metadata of another package: not ours to crash
            log.debug("reading the %s entry points failed: %s", ENTRY_POINT_GROUP, exc)
            return
        for ep in found:
            if ep.name in self._specs or ep.name in self._loaded:
                continue  # a built-in (or one registered by hand) keeps its name
            try:
                self._loaded[ep.name] = load_object(ep.value)
            except Exception as exc:  # one broken plugin must not break every call
                log.warning("optlevel: the backend %r (%s) could not be loaded: %s: %s",
                            ep.name, ep.value, type(exc).__name__, exc)
                continue
            self._order.append(ep.name)

    def __getitem__(self, name: str) -> Backend:
        found = self._loaded.get(name)
        if found is None:
            found = self._load(name)
            if found is None and not self._entry_points_read:
                self._read_entry_points()
                found = self._loaded.get(name)
            if found is None:
                raise KeyError(name)
        return found

    def __setitem__(self, name: str, backend: Backend) -> None:
        with RUNTIME.lock:
            self._specs.pop(name, None)
            self._loaded[name] = backend
            if name not in self._order:
                self._order.insert(self._position(name), name)

    def _position(self, name: str) -> int:
        """Where ``name`` goes in the order: a built-in back in its own place (the
        planner breaks ties within a level by this order), any other at the end."""
        if name not in _RANK:
            return len(self._order)
        return sum(1 for n in self._order if _RANK.get(n, len(_RANK)) < _RANK[name])

    def __delitem__(self, name: str) -> None:
        with RUNTIME.lock:
            if name not in self._loaded and self._specs.pop(name, None) is None:
                raise KeyError(name)
            self._loaded.pop(name, None)
            self._order.remove(name)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._specs or (
            not self._entry_points_read and isinstance(name, str) and self.get(name) is not None)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return iter([n for n in self._order if n in self._loaded])

    def __len__(self) -> int:
        self._load_all()
        return len(self._loaded)

    def loaded(self) -> list[str]:
        """The names whose backend has been imported so far (``optlevel info``, tests)."""
        return [n for n in self._order if n in self._loaded]


#: name → backend: the one registry every part of optlevel reads.
BACKENDS = Registry(BUILTIN)


def register_backend(backend: Backend) -> Backend:
    """Add (or replace) a backend in the registry."""
    BACKENDS[backend.name] = backend
    return backend


_specs = RUNTIME.cache("registry.find_spec")


def requirement_missing(backend: Backend) -> str | None:
    """The first optional module ``backend`` needs that is not installed, if any."""
    for module in backend.requires:
        if module in sys.modules:  # imported, or blocked with sys.modules[name] = None
            if sys.modules[module] is None:
                return module
            continue
        if not _specs.get_or_make(module, lambda m=module: importlib.util.find_spec(m)
                                  is not None):
            return module
    return None


_available = RUNTIME.cache("registry.available")


def is_available(backend: Backend, settings: Any) -> Verdict:
    """``backend.available(settings)``, asked once per backend and availability key.

    A backend whose probe raises is unavailable, with the error as the reason: a
    probe must never break a user's call.
    """
    key = (backend.name, backend.availability_key(settings))

    def probe() -> Verdict:
        try:
            found = backend.available(settings)
        except Exception as exc:  # a broken driver or cluster: not ours to crash on
            found = Verdict(False, f"its availability check failed: "
                                   f"{type(exc).__name__}: {exc}", code=Code.UNAVAILABLE)
        log.debug("backend %s available: %s", backend.name, found)
        return found
    return _available.get_or_make(key, probe)


def forget_availability() -> None:
    """Ask every backend again next time (after a driver or cluster change)."""
    _available.clear()


def known_options() -> dict[str, str]:
    """Every ``@optimize`` keyword option some registered backend reads."""
    out: dict[str, str] = {}
    for backend in BACKENDS.values():
        out.update(getattr(backend, "options", {}))
    return out


def option_problems(options: dict[str, Any]) -> list[str]:
    """What is wrong with the values of ``@optimize`` keyword options, as each backend
    that reads an option says (names must already be known)."""
    problems = []
    for backend in BACKENDS.values():
        for name in set(options) & set(getattr(backend, "options", {})):
            valid = backend.check_option(name, options[name])
            if valid is not None:
                problems.append(f"{name}={options[name]!r} is not valid: {valid}")
    return sorted(set(problems))


def close_all() -> None:
    """Release what every loaded backend holds (pools, device memory) now. At exit
    :func:`optlevel.shutdown` does this through the closers each level registers
    when it makes its first pool, client or device adapter."""
    for name in BACKENDS.loaded():
        backend = BACKENDS[name]
        if backend.holds_resources:
            try:
                backend.close()
            except Exception as exc:  # one backend must not stop the others
                log.debug("closing %s failed: %s", backend.name, exc)
