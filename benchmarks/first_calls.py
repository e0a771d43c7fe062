"""The first calls of a small loop kernel under level auto, against plain Python.

    python benchmarks/first_calls.py [--calls 20] [--size 10] [--runs 5]

Each run is a fresh interpreter with an empty cache directory (so nothing is
loaded from an earlier compile, and the planner's one-time machine calibration is
paid in the timed calls), importing optlevel and NumPy before the clock starts.
With ``--measured-profile`` the processes share a cache directory whose machine
profile an untimed first process measured. It times the first ``--calls`` calls of
``kernel`` decorated with ``@optimize`` (auto) and, in the same process, the same calls of the plain
function. Prints the median over ``--runs`` of each total and their ratio.
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

CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import optlevel

    def kernel(x):
        s = 0.0
        for i in range(x.shape[0]):
            if x[i] > 0.5:
                s += x[i] * x[i]
            else:
                s -= x[i]
        return s

    calls, size = int(sys.argv[1]), int(sys.argv[2])
    x = np.random.default_rng(0).random(size)
    plain = kernel
    start = time.perf_counter()
    for _ in range(calls):
        expected = plain(x)
    plain_s = time.perf_counter() - start
    fast = optlevel.optimize(kernel)
    start = time.perf_counter()
    for _ in range(calls):
        got = fast(x)
    auto_s = time.perf_counter() - start
    assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected)), (got, expected)
    print(json.dumps({"plain": plain_s, "auto": auto_s,
                      "levels": {str(k): v for k, v in fast.stats().levels.items()}}))
""")


def one_run(calls: int, size: int, cache: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "first_calls_child.py")  # a file: the kernel has source
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(CHILD)
        env = {**os.environ, "OPTLEVEL_CACHE_DIR": cache or os.path.join(tmp, "cache"),
               "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, script, str(calls), str(size)], env=env,
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measured-profile", action="store_true",
                        help="share one cache directory whose machine profile an untimed "
                        "first process measured (the planner's calibration is then read, "
                        "as on every run after the first on a machine)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as shared:
        cache = os.path.join(shared, "cache") if args.measured_profile else None
        if cache:
            one_run(args.calls, args.size, cache)
        runs = [one_run(args.calls, args.size, cache) for _ in range(args.runs)]
    plain = statistics.median(r["plain"] for r in runs)
    auto = statistics.median(r["auto"] for r in runs)
    print(f"first {args.calls} calls, {args.size}-element loop, median of {args.runs} "
          f"fresh processes: auto {auto * 1e3:.3f} ms, plain {plain * 1e3:.3f} ms, "
          f"ratio {auto / plain:.2f}x; levels {runs[-1]['levels']}")


if __name__ == "__main__":
    main()
