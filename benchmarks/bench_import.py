"""Turn raw timing rows from another machine into an ``optlevel bench`` results file.

The GPU machine's runs took a copy of the main branch, so the bench of a branch
that has not landed could not run there as ``optlevel bench``. A short driver
(the one-line command in docs/benchmarks.md) timed the workloads through the
runner of main the way ``optlevel bench`` does (a warm-up call, interleaved
rounds each preceded by an untimed call, glibc's allocator pinned, every sample
kept, results compared with plain) and wrote one JSON list of raw rows per
workload: ``workload``, ``size``, ``size_label``, ``requested``, ``samples``,
``loops``, ``error`` and, for the variants, ``realized``, ``compile_time``,
``note``, ``same``. This script computes the rest here (medians, speed-ups and
their intervals, exactly as the runner does) and writes one results file that
``optlevel bench --from`` reports, compares and plots::

    python benchmarks/bench_import.py RAW_DIR OUT.json

``RAW_DIR`` holds the raw ``*.json`` files and ``gpu.txt`` (the GPU's name, then
Python, NumPy, Numba and CuPy versions).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from optlevel.bench import results, runner, spread


def rows_from_raw(raw: list[dict[str, Any]]) -> list[runner.Row]:
    """Rows with medians and paired speed-ups, plain first in each case."""
    plains = {(r["workload"], r["size"]): r for r in raw if r["requested"] == runner.PLAIN}
    out = []
    for r in raw:
        plain = plains[(r["workload"], r["size"])]
        row = runner.Row(r["workload"], r["size"], r["size_label"], r["requested"],
                         realized=r.get("realized", "-"), error=r.get("error", ""),
                         compile_time=r.get("compile_time", 0.0), same=r.get("same"),
                         note=r.get("note", ""), loops=r.get("loops", 1))
        if r["samples"] and not row.error:
            ratio = spread.ratio(plain["samples"], r["samples"])
            row = runner.Row(**{**row.__dict__, "samples": tuple(r["samples"]),
                                "time": statistics.median(r["samples"]),
                                "runs": len(r["samples"]), "speedup": ratio.value,
                                "speedup_low": ratio.low, "speedup_high": ratio.high})
        out.append(row)
    return out


def _environment(folder: Path) -> dict[str, Any]:
    lines = (folder / "gpu.txt").read_text().split("\n")
    versions = lines[1].split() if len(lines) > 1 else []
    python, numpy, numba, cupy = (versions + ["?"] * 4)[:4]
    return {"optlevel": "0.1.0", "python": python, "numpy": numpy,
            "numba": f"numba {numba}", "cupy": cupy, "usable_cores": 16, "cpu_cores": 16,
            "machine": "x86_64", "platform": "Linux", "gpu": lines[0].strip(),
            "settings": ""}


def main(argv: list[str]) -> int:
    folder, out = Path(argv[0]), Path(argv[1])
    raw = []
    for path in sorted(folder.glob("*.json")):
        raw += json.loads(path.read_text())
    res = results.Results("bench", tuple(rows_from_raw(raw)), _environment(folder))
    out.write_text(json.dumps(results.to_json(res), indent=1) + "\n")
    print(f"{len(res.rows)} rows written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
