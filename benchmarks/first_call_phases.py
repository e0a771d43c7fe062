"""Where auto's first call of a loop kernel goes, phase by phase, in fresh processes
with empty caches (issue 13's first-ten-calls gap against ``numba.njit``).

    python benchmarks/first_call_phases.py [--kernels stencil,prefix_sum] [--runs 3]

Each run is a new interpreter: ``import optlevel``, ``@optimize``, then the first
call, split into the planner's ranking, level 2's build of the checked dispatcher,
its argument types and Numba's compile (numba is imported before the clock starts,
as ``numba.njit``'s own first call would find it). Beside it, ``numba.njit``'s first
call (its compile) in another fresh process. Medians over the runs, in ms.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planner_figures import KERNELS, compile_bytecode  # noqa: E402 - the same kernels

ROOT = Path(__file__).resolve().parents[1]

PHASES = textwrap.dedent('''
    import functools, json, sys, time
    sys.path.insert(0, {kdir!r})
    import kernels
    name, mode = {name!r}, {mode!r}
    func, args = getattr(kernels, name), kernels.ARGS[name]()
    import numba
    out = {{}}
    if mode == "njit":
        f = numba.njit(func)
        t = time.perf_counter(); f(*args); out["first"] = time.perf_counter() - t
    else:
        t = time.perf_counter(); import optlevel; out["import"] = time.perf_counter() - t
        from optlevel.core import planner
        from optlevel.levels.numba import helpers, jit

        def timed(module, attr, label):
            orig = getattr(module, attr)

            @functools.wraps(orig)
            def wrapper(*a, **k):
                s = time.perf_counter()
                try:
                    return orig(*a, **k)
                finally:
                    out[label] = out.get(label, 0.0) + time.perf_counter() - s
            setattr(module, attr, wrapper)

        for module, attr, label in ((planner, "rank", "rank"), (jit, "_compile", "compile"),
                                    (helpers, "jit_dispatcher", "dispatcher"),
                                    (jit, "argument_types", "argtypes")):
            timed(module, attr, label)
        t = time.perf_counter(); f = optlevel.optimize(func)
        out["decorate"] = time.perf_counter() - t
        t = time.perf_counter(); f(*args); out["first"] = time.perf_counter() - t
    print(json.dumps(out))
''')


def run(kdir: str, name: str, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "OPTLEVEL_CACHE_DIR": cache, "NUMBA_CACHE_DIR": cache,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        code = PHASES.format(kdir=kdir, name=name, mode=mode)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=600, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", default="stencil,prefix_sum,nbody")
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    compile_bytecode()
    keys = ("import", "decorate", "rank", "dispatcher", "argtypes", "compile", "first")
    print(f"{'kernel':12s} " + " ".join(f"{k:>10s}" for k in keys) + f" {'njit first':>10s}")
    with tempfile.TemporaryDirectory() as kdir:
        Path(kdir, "kernels.py").write_text(KERNELS)
        for name in opts.kernels.split(","):
            autos = [run(kdir, name, "auto") for _ in range(opts.runs)]
            njits = [run(kdir, name, "njit") for _ in range(opts.runs)]
            cells = [statistics.median(a.get(k, 0.0) for a in autos) * 1e3 for k in keys]
            njit = statistics.median(n["first"] for n in njits) * 1e3
            print(f"{name:12s} " + " ".join(f"{c:10.1f}" for c in cells) + f" {njit:10.1f}")


if __name__ == "__main__":
    main()
