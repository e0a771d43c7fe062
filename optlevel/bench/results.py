"""The JSON file ``optlevel bench --json`` writes, and reading it back.

One file serves two readers. optlevel's own keys (schema ``optlevel-bench/1``):

``schema``
    ``"optlevel-bench/1"``.
``command``, ``ok``, ``seconds``
    ``"bench"`` or ``"demo"``; no result differed; the wall time of the run.
``environment``
    versions, cores and machine (``optlevel info``'s), and what in the
    configuration changed the levels.
``options``
    how it timed (:class:`optlevel.bench.runner.Options`), or null.
``levels``
    the levels asked for, as strings (``"0"`` ... ``"4"``, ``"auto"``).
``rows``
    one object per workload, size and variant (:class:`optlevel.bench.runner.Row`):
    ``workload``, ``size``, ``size_label``, ``requested`` (``"plain"``, a level or
    ``"auto"``), ``realized``, ``time`` (median seconds per call), ``runs``,
    ``samples`` (every sample, seconds per call, in round order), ``loops`` (calls
    per sample), ``speedup`` with ``speedup_low``/``speedup_high`` (its 95 %
    interval), ``compile_time``, ``first_calls`` (seconds of each first call in a
    fresh process), ``first_error``, ``same``, ``note``, ``error``, ``failed``.

And pyperf's (file format ``1.0``): ``version``, ``metadata`` and ``benchmarks``,
one benchmark per timed row named ``"WORKLOAD SIZE VARIANT"`` whose single run
holds the same samples, so ``python -m pyperf stats FILE`` and ``python -m pyperf
compare_to OLD NEW`` read it too. ``rows`` is the truth; ``benchmarks`` is
written from it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runner import Options, Row

__all__ = ["SCHEMA", "Results", "to_json", "load", "merge"]

SCHEMA = "optlevel-bench/1"
_PYPERF_FORMAT = "1.0"


@dataclasses.dataclass(frozen=True)
class Results:
    """A bench run, as written or read back."""

    command: str
    rows: tuple[Row, ...]
    environment: dict[str, Any]
    options: dict[str, Any] | None = None
    levels: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(r.failed for r in self.rows)


def _scalars(data: dict[str, Any]) -> dict[str, Any]:
    """What pyperf accepts as metadata: non-empty one-line strings, ints, floats."""
    out = {}
    for key, value in data.items():
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, str):
            value = value.strip().replace("\n", " ")
        if isinstance(value, (int, float)) or (isinstance(value, str) and value):
            out[key] = value
    return out


def benchmark_name(row: Row) -> str:
    """``"elementwise 1M auto"``, ``"matmul 2048x2048 plain"``, ``"... level 2"``."""
    variant = row.requested if row.requested in ("plain", "auto") else f"level {row.requested}"
    return f"{row.workload} {row.size_label} {variant}"


def _benchmark(row: Row) -> dict[str, Any]:
    metadata = _scalars({"name": benchmark_name(row), "unit": "second", "loops": row.loops,
                         "workload": row.workload, "size": row.size,
                         "requested": row.requested, "realized": row.realized,
                         "compile_time": row.compile_time})
    values = [max(v, 1e-12) for v in row.samples]  # pyperf wants values > 0
    return {"metadata": metadata, "runs": [{"metadata": {}, "values": values}]}


def _pyperf_metadata(env: dict[str, Any]) -> dict[str, Any]:
    return _scalars({"python_version": env.get("python"), "cpu_count": env.get("cpu_cores"),
                     "platform": env.get("platform"), "optlevel": env.get("optlevel"),
                     "numpy": env.get("numpy"), "numba": env.get("numba"),
                     "usable_cores": env.get("usable_cores"),
                     "optlevel_settings": env.get("settings")})


def to_json(results: Results) -> dict[str, Any]:
    """The JSON-able object :func:`load` reads back (see the module docstring)."""
    return {
        "schema": SCHEMA, "command": results.command, "ok": results.ok,
        "seconds": results.seconds, "environment": results.environment,
        "options": results.options, "levels": list(results.levels),
        "rows": [r.to_dict() for r in results.rows],
        "version": _PYPERF_FORMAT, "metadata": _pyperf_metadata(results.environment),
        "benchmarks": [_benchmark(r) for r in results.rows if r.samples],
    }


def from_json(data: dict[str, Any]) -> Results:
    """The :class:`Results` of an object :func:`to_json` made.

    Raises
    ------
    ValueError
        When ``data`` is not an optlevel bench file.
    """
    if not isinstance(data, dict) or "rows" not in data:
        raise ValueError("not an optlevel bench file (no 'rows'): write one with "
                         "optlevel bench --json PATH")
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise ValueError(f"unsupported bench file schema {schema!r}; this optlevel reads "
                         f"{SCHEMA!r}")
    return Results(command=data.get("command", "bench"),
                   rows=tuple(Row.from_dict(r) for r in data["rows"]),
                   environment=data.get("environment") or {},
                   options=data.get("options"), levels=tuple(data.get("levels") or ()),
                   seconds=float(data.get("seconds") or 0.0))


def load(path: str | Path) -> Results:
    """Read a file ``optlevel bench --json`` wrote.

    Raises
    ------
    OSError
        When it cannot be read.
    ValueError
        When it is not JSON, or not a bench file.
    """
    return from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def merge(parts: Sequence[Results]) -> Results:
    """Several runs as one (e.g. workloads run in turn); the first one's environment."""
    if not parts:
        raise ValueError("nothing to merge")
    levels = tuple(dict.fromkeys(lv for p in parts for lv in p.levels))
    return dataclasses.replace(parts[0], rows=tuple(r for p in parts for r in p.rows),
                               levels=levels, seconds=sum(p.seconds for p in parts))


def options_dict(options: Options | None) -> dict[str, Any] | None:
    return dataclasses.asdict(options) if options is not None else None
