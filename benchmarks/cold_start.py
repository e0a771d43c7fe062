"""Cold start of a level-2 function: first process (compiles) vs second (loads the cache).

    python benchmarks/cold_start.py [--runs 5]

Each run uses a fresh OPTLEVEL_CACHE_DIR and a module file holding the
``conditional_accumulate`` workload decorated with ``@optimize(level=2, strict=True)``.
Two processes call it once on 1M float64; each reports the seconds from just
before its first call to the first result (lazy ``import numba`` included),
and the process's whole wall time is measured from outside. Medians are printed,
twice: with Numba's fixed start-up (import and target initialisation, paid by
every process that uses it, cached or not) inside the timed call, and with it
paid before the clock starts, which isolates compiling from loading the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MODULE = textwrap.dedent('''
    from optlevel import optimize
    from optlevel.bench.workloads import conditional_accumulate as plain

    conditional_accumulate = optimize(plain, level=2, strict=True)
''')

CALLER = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    if sys.argv[1] == "warm":  # pay Numba's fixed start-up before the clock starts
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
        cpu_target.typing_context.refresh()
    from coldmod import conditional_accumulate
    x = np.random.default_rng(0).random(1_000_000)
    start = time.perf_counter()
    conditional_accumulate(x, 0.5)
    first = time.perf_counter() - start
    print(json.dumps({"first_call": first,
                      "compile": conditional_accumulate.stats().compile_time}))
''')


def one_process(workdir: Path, env: dict[str, str], mode: str) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CALLER, mode], cwd=workdir, env=env,
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    repo = Path(__file__).resolve().parents[1]
    for mode, title in (("cold", "numba's start-up inside the timed first call"),
                        ("warm", "numba started before the clock (compile vs cache load)")):
        firsts, seconds = [], []
        for _ in range(opts.runs):
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                (work / "coldmod.py").write_text(MODULE)
                env = dict(os.environ, OPTLEVEL_CACHE_DIR=str(work / "cache"),
                           PYTHONPATH=os.pathsep.join([str(repo), str(work)]))
                firsts.append(one_process(work, env, mode))
                seconds.append(one_process(work, env, mode))
        print(f"{title}, medians of {opts.runs}:")
        for key in ("first_call", "process"):
            a = statistics.median(r[key] for r in firsts)
            b = statistics.median(r[key] for r in seconds)
            print(f"  {key:10s}  first process {a * 1e3:8.1f} ms   second process "
                  f"{b * 1e3:8.1f} ms   ratio {a / b:5.1f}×")


if __name__ == "__main__":
    main()
