"""Ahead-of-time warm-up: compile before the first call, and replay what a run met.

- ``f.precompile(*example_args)`` plans these arguments as a call would and builds,
  now, every compiling backend the planner would try for them (the function itself
  does not run). Numba writes its on-disk cache under ``OPTLEVEL_CACHE_DIR``, so a
  later process loads the machine code instead of compiling it.
- A signature can be written as text, ``"float64[:], float64"``: an array is its
  dtype and one ``:`` per axis (C order; ``::1`` on the first of several axes means
  Fortran order), a scalar is ``float64``, ``int64``, ``bool``, ``complex128`` (or
  another NumPy scalar type). :func:`example_args` makes arguments of that type.
- :func:`write_manifest` writes the signatures every decorated function met in this
  process to a JSON manifest; ``optlevel record -o MANIFEST script.py`` runs a
  script and writes it; ``optlevel precompile MANIFEST`` replays it (in a Docker
  build or CI), so production processes start with the disk cache filled.

Only what Numba compiles is kept across processes (its disk cache); the plans
themselves are made again by the first calls of a new process, quickly, since the
compiles they need are loads.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import signature_key
from .analysis.signature import ArgInfo
from .arrays import ArgKind
from .config import settings
from .contract import Decline
from .core.plan import PlanKey

__all__ = ["Compiled", "precompile", "parse_signature", "example_args", "signature_text",
           "write_manifest", "read_manifest", "MANIFEST_VERSION"]

MANIFEST_VERSION = 1
_ITEM = re.compile(r"^\s*(?P<dtype>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(?P<dims>[^\]]*)\])?\s*$")
_PYTHON_SCALARS = {"float": "float64", "int": "int64", "bool": "bool", "complex": "complex128"}


@dataclasses.dataclass(frozen=True)
class Compiled:
    """One backend built (or declined) by :func:`precompile`."""

    backend: str
    level: int
    seconds: float
    declined: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def precompile(f: Any, *args: Any, **kwargs: Any) -> list[Compiled]:
    """Build every compiling backend the planner would try for ``f(*args, **kwargs)``
    under ``f``'s ceiling, without calling ``f`` (see :meth:`Optimized.precompile`)."""
    d = f._dispatcher
    s = settings()
    ceiling, mode = f._ceiling(f._bound, s)
    key = PlanKey(ceiling, mode, signature_key(args, kwargs))
    signature, ranking = d.ranking(key, args, kwargs, s)
    out: list[Compiled] = []
    for backend in ranking.order:
        if not backend.compiles:
            continue
        start = time.perf_counter()
        try:
            d.prepare(backend, signature, args, kwargs, s)
        except Decline as exc:
            out.append(Compiled(backend.name, backend.level, 0.0, exc.reason))
            continue
        out.append(Compiled(backend.name, backend.level, time.perf_counter() - start))
    return out


def _split(text: str) -> list[str]:
    items, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current)
    return items


def parse_signature(text: str) -> list[tuple[str, int, str]]:
    """``"float64[:, :], int64"`` → ``[("float64", 2, "C"), ("int64", 0, "")]``.

    Raises
    ------
    ValueError
        For an item that is not a NumPy type with optional axes; the message names it.
    """
    out = []
    for item in _split(text):
        m = _ITEM.match(item)
        name = m["dtype"] if m else ""
        name = _PYTHON_SCALARS.get(name, name)
        try:
            dtype = np.dtype(name) if m else None
        except TypeError:
            dtype = None
        if dtype is None:
            raise ValueError(f"{item.strip()!r} is not a type: write a NumPy dtype with "
                             "one ':' per axis (float64[:, :]) or a scalar (float64)")
        if m["dims"] is None:
            out.append((dtype.name, 0, ""))
            continue
        dims = [p.strip() for p in m["dims"].split(",")]
        if any(p not in (":", "::1") for p in dims):
            raise ValueError(f"{item.strip()!r}: each axis is ':' (or '::1' on the first "
                             "of several for Fortran order)")
        layout = "F" if len(dims) > 1 and dims[0] == "::1" else "C"
        out.append((dtype.name, len(dims), layout))
    return out


def example_args(text: str, size: int = 1_000_000) -> tuple[Any, ...]:
    """Arguments of the types ``text`` names; arrays hold about ``size`` elements (the
    planner's choice of backends depends on the size: pick the size production meets)."""
    args: list[Any] = []
    for dtype, ndim, layout in parse_signature(text):
        if ndim == 0:
            value = np.ones((), dtype=dtype)[()]
            args.append(value.item() if dtype in _PYTHON_SCALARS.values() else value)
            continue
        side = max(1, round(size ** (1 / ndim)))
        args.append(np.ones((side,) * ndim, dtype=dtype, order=layout))
    return tuple(args)


def signature_text(args: tuple[ArgInfo, ...]) -> str | None:
    """The text form of a recorded call's arguments, or None when one of them is not
    a NumPy array or scalar (those cannot be made again from a manifest)."""
    parts = []
    for a in args:
        if a.kind is ArgKind.NUMPY and a.shape is not None and a.dtype is not None:
            axes = [":"] * len(a.shape)
            if a.layout == "F" and len(axes) > 1:
                axes[0] = "::1"
            parts.append(f"{a.dtype}[{', '.join(axes)}]" if axes else a.dtype)
        elif a.kind is ArgKind.SCALAR and (a.dtype or a.type_name):
            name = _PYTHON_SCALARS.get(a.type_name, a.type_name)
            try:
                parts.append(np.dtype(name).name)
            except TypeError:
                return None
        else:
            return None
    return ", ".join(parts)


def _target(func: Any) -> str | None:
    """``module:qualname``, or ``path.py:qualname`` for a script's own functions."""
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", None)
    if not qualname or "<" in qualname or module is None:
        return None  # nested, lambda or made without a module: not importable
    if module == "__main__":
        code = getattr(func, "__code__", None)
        path = Path(code.co_filename) if code is not None else None
        if path is None or not path.is_file():
            return None
        return f"{path.resolve()}:{qualname}"
    return f"{module}:{qualname}"


def write_manifest(path: str | Path) -> dict[str, Any]:
    """Write the signatures every live decorated function met in this process (those
    of NumPy arrays and scalars, in functions importable by name) to ``path``;
    returns what was written."""
    from .stats import live_dispatchers

    functions: dict[str, list[str]] = {}
    for d in live_dispatchers():
        target = _target(d.func)
        if target is None:
            continue
        for plan in d.all_plans():
            text = signature_text(plan.signature.args)
            if text is not None and text not in functions.setdefault(target, []):
                functions[target].append(text)
    data = {"optlevel_manifest": MANIFEST_VERSION,
            "functions": [{"target": t, "signatures": s}
                          for t, s in sorted(functions.items()) if s]}
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def read_manifest(path: str | Path) -> list[tuple[str, list[str]]]:
    """(target, signatures) of a manifest :func:`write_manifest` wrote.

    Raises
    ------
    ValueError
        When the file is not such a manifest.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("optlevel_manifest") != MANIFEST_VERSION:
        raise ValueError(f"{path} is not an optlevel manifest (version {MANIFEST_VERSION})")
    return [(str(e["target"]), [str(s) for s in e["signatures"]])
            for e in data.get("functions", [])]
