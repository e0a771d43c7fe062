"""First call in a fresh process: after ``optlevel precompile`` against without it.

    python benchmarks/precompile_first_call.py [--runs 5]

Each run makes two fresh ``OPTLEVEL_CACHE_DIR``s and a module holding the
``conditional_accumulate`` workload under ``@optimize(level=2)``. In one,
``optlevel precompile work:conditional_accumulate --signature "float64[:], float64"``
runs first; then, in each, a fresh process calls the function once on 1M float64
and reports the seconds from just before the call to its result, and how many
compiles Numba ran in it (its ``numba:compile`` events). Numba's fixed start-up
(import, target initialisation), paid by any process that uses it, is paid before
the clock starts, so the figure is compile against cache load. Medians printed.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULE = textwrap.dedent('''
    from optlevel import optimize
    from optlevel.bench.workloads import conditional_accumulate as plain

    conditional_accumulate = optimize(plain, level=2)
''')

CALLER = textwrap.dedent('''
    import json, time
    import numpy as np
    from numba.core import event
    from numba.core.registry import cpu_target
    cpu_target.target_context.refresh()  # Numba's fixed start-up, before the clock
    import work
    x = np.random.default_rng(0).standard_normal(1_000_000)
    with event.install_recorder("numba:compile") as rec:
        start = time.perf_counter()
        work.conditional_accumulate(x, 0.5)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "compiles": len(rec.buffer)}))
''')


def _run(args: list[str], folder: Path, cache: Path) -> str:
    env = {**os.environ, "OPTLEVEL_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(folder)]),
           "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, *args], cwd=folder, env=env, check=True,
                          capture_output=True, text=True)
    return proc.stdout


def one_run() -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "work.py").write_text(MODULE)
        (folder / "caller.py").write_text(CALLER)
        plain = json.loads(_run(["caller.py"], folder, folder / "cold"))
        _run(["-m", "optlevel", "precompile", "work:conditional_accumulate", "-q",
              "--signature", "float64[:], float64"], folder, folder / "pre")
        warm = json.loads(_run(["caller.py"], folder, folder / "pre"))
    return {"uncompiled": plain, "precompiled": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = [one_run() for _ in range(parser.parse_args().runs)]
    for name in ("uncompiled", "precompiled"):
        times = [r[name]["seconds"] for r in runs]
        compiles = [r[name]["compiles"] for r in runs]
        print(f"{name:12s} first call: median {1e3 * statistics.median(times):7.1f} ms "
              f"(runs: {', '.join(f'{1e3 * t:.1f}' for t in times)}); Numba compiles "
              f"in the process: {compiles}")


if __name__ == "__main__":
    main()
