"""The machine profile: measured facts the planner's cost estimates read.

Backends measure what their :meth:`estimate` needs (a GPU's transfer rates and
launch latency, a pool's start-up and per-task cost) with
``profile.measure(key, fn)``: the first call measures, later ones read. Values
are kept as JSON in ``OPTLEVEL_CACHE_DIR/profile.json`` with a fingerprint of the
machine, so a second process reads instead of measuring, and a copied cache
directory on another machine is ignored. Never a pickle.

``optlevel calibrate`` asks every backend to measure now (``backend.calibrate``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import usable_cache_dir
from ..errors import OptlevelWarning, warn_once
from .runtime import RUNTIME

__all__ = ["MachineProfile", "profile_for", "machine_fingerprint"]

log = logging.getLogger("optlevel")

_FORMAT = 1


def machine_fingerprint() -> dict[str, Any]:
    """What must match for stored measurements to hold on this machine."""
    return {"node": platform.node(), "machine": platform.machine(),
            "cpus": os.cpu_count() or 1, "python": platform.python_version()}


class MachineProfile:
    """Measured values by key (``"gpu.h2d_pinned_gbps"``, ``"threads.start_s"``, …).

    Keys are namespaced by the backend that measures them. Values are JSON
    (numbers, strings, small dicts). Thread-safe.
    """

    def __init__(self, path: Path | None = None):
        self.path = path
        self.values: dict[str, Any] = {}
        self._lock = threading.RLock()
        if path is not None:
            self._load()

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def set(self, key: str, value: Any, *, save: bool = True) -> None:
        with self._lock:
            self.values[key] = value
            if save:
                self.save()

    def measure(self, key: str, fn: Callable[[], Any], *, refresh: bool = False) -> Any:
        """The value of ``key``; on first need (or ``refresh``) ``fn()`` measures it."""
        if not refresh and key in self.values:
            return self.values[key]
        with self._lock:
            if refresh or key not in self.values:
                value = fn()
                log.debug("profile: measured %s = %r", key, value)
                self.set(key, value)
            return self.values[key]

    def forget(self, prefix: str = "") -> None:
        """Drop the values whose key starts with ``prefix`` (all by default)."""
        with self._lock:
            for key in [k for k in self.values if k.startswith(prefix)]:
                del self.values[key]
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        data = {"format": _FORMAT, "machine": machine_fingerprint(), "values": self.values}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: a reader never sees half a file
        except OSError as exc:
            log.debug("profile: cannot write %s: %s", self.path, exc)

    def _load(self) -> None:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.debug("profile: cannot read %s: %s", self.path, exc)
            return
        try:
            data = json.loads(text)
            values = data["values"]
            if not isinstance(values, dict):
                raise TypeError("values is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            warn_once(("profile", str(self.path)),
                      f"optlevel: the machine profile {self.path} is unreadable ({exc}); "
                      "it is ignored and measured again.", OptlevelWarning)
            return
        if data.get("format") != _FORMAT or data.get("machine") != machine_fingerprint():
            log.debug("profile: %s is from another machine or format; measuring again",
                      self.path)
            return
        self.values = values

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path) if self.path else None, "values": dict(self.values)}


# one profile object per cache directory (a handful: bounded all the same)
_PROFILES = RUNTIME.cache("core.profiles", maxsize=64)


def profile_for(settings: Any) -> MachineProfile:
    """The profile kept under ``settings.cache_dir`` (one object per directory)."""
    key = str(usable_cache_dir(settings.cache_dir))
    found = _PROFILES.get(key)
    if found is None:
        found = _PROFILES.get_or_make(key, lambda: MachineProfile(Path(key) / "profile.json"))
    return found
