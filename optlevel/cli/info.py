"""``optlevel info``: versions, cores, the cache directory, and one row per backend
and per level (installed, allowed, available on this machine, or why not). GPU
libraries are looked up with ``find_spec``; a backend's availability probe (which
may import its library) runs only with ``--probe``, the default."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._table import format_table
from ..config import settings
from ..core.planner import Row, static_rows
from ..core.registry import BACKENDS
from ..ladder import LEVEL_NAMES
from ._common import add_output_format, add_verbosity, output_format

_GPU_MODULES = ("cupy", "torch")


def _installed(module: str) -> str | None:
    """``"numba 0.68.1"`` when ``module`` is installed, else None; never imports it."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return f"{module} {importlib.metadata.version(module)}"
    except importlib.metadata.PackageNotFoundError:
        # The distribution's name differs from the module's (cupy-cuda12x → cupy).
        dists = importlib.metadata.packages_distributions().get(module)
        if not dists:
            return f"{module} (version unknown)"
        return f"{dists[0]} {importlib.metadata.version(dists[0])}"


def environment() -> dict[str, Any]:
    """Versions and cores: what a timing depends on."""
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {"optlevel": __version__, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "numpy": np.__version__,
            "numba": _installed("numba"), "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_cores": cores, "usable_cores": usable}



def _row_dict(row: Row) -> dict[str, Any]:
    backend = BACKENDS.get(row.backend) if row.backend else None
    libs = ", ".join(_installed(m) or m for m in backend.requires) if backend else ""
    return {"level": row.level, "name": row.name, "backend": row.backend,
            "usable": row.tried, "kind": row.kind,
            "detail": row.reason or (libs if libs else "built in")}


def collect_info(probe: bool = True) -> dict[str, Any]:
    """Everything ``optlevel info`` reports, JSON-able. ``probe=False`` skips the
    backends' availability checks (which may import CuPy or start a driver)."""
    s = settings()
    rows = [_row_dict(r) for r in static_rows(s, probe=probe)]
    gpu = {m: _installed(m) for m in _GPU_MODULES}
    return {
        **environment(),
        "cache_dir": str(s.cache_dir), "cache_dir_exists": Path(s.cache_dir).is_dir(),
        "settings": {"level": s.level.name, "max_level": s.max_level, "disable": s.disable,
                     "compile": s.compile, "verify": s.verify, "cap": s.cap,
                     "executor": s.executor, "gpu_backend": s.gpu_backend,
                     "workers": s.workers},
        "backends": rows,
        "gpu": {"libraries": gpu},
    }


def _status(entry: dict[str, Any]) -> str:
    return f"usable: {entry['detail']}" if entry["usable"] else entry["detail"]


def format_info(info: dict[str, Any]) -> str:
    """The readable form of :func:`collect_info`."""
    st = info["settings"]
    exists = "" if info["cache_dir_exists"] else " (not created yet)"
    lines = [
        f"optlevel {info['optlevel']}",
        f"  Python {info['python']} ({info['implementation']}), NumPy {info['numpy']}",
        f"  platform: {info['platform']}",
        f"  CPU cores: {info['cpu_cores']} ({info['usable_cores']} usable by this process)",
        f"  cache dir: {info['cache_dir']}{exists}",
        f"  settings: level {st['level']}, max level {st['max_level']}, compile {st['compile']}"
        + (", DISABLED by OPTLEVEL_DISABLE" if st["disable"] else ""),
        "",
        format_table(["level", "name", "backend", "status"],
                     [(b["level"], LEVEL_NAMES[b["level"]], b["backend"] or "-", _status(b))
                      for b in info["backends"]]),
        "",
        "GPU libraries: " + "; ".join(f"{found} installed" if found else f"{m} not installed"
                                      for m, found in info["gpu"]["libraries"].items()),
    ]
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    """``optlevel info``."""
    info = collect_info(probe=not args.no_probe)
    print(json.dumps(info, indent=2) if output_format(args) == "json" else format_info(info))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("info", help="versions, cores, backends and levels on this machine")
    add_output_format(p)
    add_verbosity(p)
    p.add_argument("--no-probe", action="store_true",
                   help="do not ask backends whether a device or cluster is there")
    p.set_defaults(handler=cmd_info)
