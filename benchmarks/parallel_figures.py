"""Level 3's figures (issue 7), measured in one run: medians, ratios against the
baseline measured in the same run, on this machine.

    PYTHONPATH=. python benchmarks/parallel_figures.py --out parallel.json

Each figure times its baseline and level 3 alternately, after one untimed call of
each (which plans, compiles, starts the pools), and reports the medians and their
ratio. ``--no-dask`` skips the Dask figure (no ``distributed`` installed); the 1 GB
shipping figure runs in a fresh interpreter so its peak memory is its own.

figures (targets from the issue):
  elementwise 10M          level 3 vs plain NumPy      ≥1.7x on 2 cores, ≥8x on 16
  independent_ops 10M      level 3 vs plain NumPy      (extra: WORKLOADS.md, 8-12x on 16)
  rowwise_python_matmul    processes vs plain Python   ≥1.6x on 2 cores, ≥10x on 16
  conditional_accumulate   prange vs level 2           ≥1.7x on 2 cores
  process_images n=1000    level 3 vs plain NumPy      ≥1.6x on 2 cores
  matmul 2048              level 3 (left to BLAS)      between 0.95x and 1.05x
  ship 1 GB                parent's peak memory growth < 10% of the array
  dask elementwise 10M     LocalCluster (2 workers) vs the local pool: correct, overhead
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import optlevel
from optlevel import optimize
from optlevel.bench import workloads as W
from optlevel.core.calibrate import profile_for
from optlevel.levels.parallel import costs, runtime


def timed_pair(base: Callable[[], Any], fast: Callable[[], Any],
               repeat: int) -> tuple[float, float]:
    """Medians of ``base`` and ``fast``, run alternately after one untimed call each."""
    base()
    fast()
    a, b = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        base()
        a.append(time.perf_counter() - start)
        start = time.perf_counter()
        fast()
        b.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def level3(func: Callable[..., Any], executor: str = "local", **options: Any) -> Any:
    optlevel.configure(executor=executor)
    return optimize(func, level=3, strict=True, verify=False, **options)


def realized(f: Any) -> str:
    return ",".join(sorted({f"L{s.level} {s.backend}" for s in f.stats().signatures}))


def row(name: str, baseline: str, base: float, fast: float, target: str, ran: str,
        ok: bool, **extra: Any) -> dict[str, Any]:
    return {"figure": name, "baseline": baseline, "baseline_ms": base * 1e3,
            "optlevel_ms": fast * 1e3, "ratio": base / fast if fast else float("inf"),
            "target": target, "ran": ran, "same_result": ok, **extra}


def fig_elementwise(repeat: int, n: int = 10_000_000) -> dict[str, Any]:
    x = W._rng().random(n)
    f = level3(W.elementwise)
    base, fast = timed_pair(lambda: W.elementwise(x), lambda: f(x), repeat)
    ok = np.array_equal(f(x), W.elementwise(x))
    return row(f"elementwise {W.count_label(n)}", "plain NumPy", base, fast,
               "≥1.7x (2 cores), ≥8x (16)", realized(f), ok)


def fig_independent_ops(repeat: int, n: int = 10_000_000) -> dict[str, Any]:
    x, y = W._two_vectors(n)
    f = level3(W.independent_ops)
    base, fast = timed_pair(lambda: W.independent_ops(x, y), lambda: f(x, y), repeat)
    ok = np.allclose(f(x, y), W.independent_ops(x, y), rtol=1e-12)
    return row(f"independent_ops {W.count_label(n)}", "plain NumPy", base, fast,
               "8-12x on 16 (WORKLOADS.md)", realized(f), ok)


def fig_rowwise(repeat: int, n: int = 256) -> dict[str, Any]:
    a, b = W._two_squares(n)
    f = level3(W.rowwise_python_matmul, "processes")
    base, fast = timed_pair(lambda: W.rowwise_python_matmul(a, b), lambda: f(a, b), repeat)
    ok = np.allclose(f(a, b), a @ b)
    return row(f"rowwise_python_matmul N={n}", "plain Python", base, fast,
               "≥1.6x (2 cores), ≥10x (16)", realized(f), ok)


def fig_prange(repeat: int, n: int = 10_000_000) -> dict[str, Any]:
    x, t = W._vector_threshold(n)
    serial = optimize(W.conditional_accumulate, level=2, strict=True, verify=False)
    # a float sum: prange reorders it only when asked (docs/levels/parallel.md)
    f = level3(W.conditional_accumulate, "threads", sum_order="pairwise")
    base, fast = timed_pair(lambda: serial(x, t), lambda: f(x, t), repeat)
    ok = bool(np.isclose(f(x, t), serial(x, t), rtol=1e-12))  # summation order differs
    return row(f"conditional_accumulate {W.count_label(n)}", "level 2 (Numba, one core)",
               base, fast, "≥1.7x (2 cores)", realized(f), ok)


def fig_images(repeat: int, n: int = 1000) -> dict[str, Any]:
    (images,) = W._images(n)
    f = level3(W.process_images)
    base, fast = timed_pair(lambda: W.process_images(images), lambda: f(images), repeat)
    ok = np.allclose(f(images), W.process_images(images), rtol=1e-6)
    return row(f"process_images n={n}", "plain NumPy", base, fast, "≥1.6x (2 cores)",
               realized(f), ok)


def fig_matmul(repeat: int, n: int = 2048) -> dict[str, Any]:
    a, b = W._two_squares(n)
    optlevel.configure(executor="local")
    f = optimize(W.matmul, level=3, verify=False)  # a ceiling: level 3 may decline it
    base, fast = timed_pair(lambda: W.matmul(a, b), lambda: f(a, b), repeat)
    ok = np.array_equal(f(a, b), a @ b)
    return row(f"matmul {n}", "plain NumPy (BLAS)", base, fast, "0.95x-1.05x",
               realized(f), ok)


_SHIP = """
import json, resource, numpy as np, optlevel
from optlevel import optimize
from optlevel.levels.parallel import shm

def row_sums(x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i].sum()
    return out

if __name__ == "__main__":
    optlevel.configure(executor="processes")
    f = optimize(row_sums, level=3, strict=True, verify=False)
    f(np.ones((64, 1024)))  # the pool is up before the measurement
    x = np.ones(({rows}, 1024))  # {gib} GiB, touched
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = f(x)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({{"bytes": x.nbytes, "growth": after - before,
                      "ok": bool(np.all(result == 1024.0)),
                      "left": shm.live_segments(), "ran": [s.backend for s in
                                                          f.stats().signatures]}}))
"""


def fig_ship(gib: float = 1.0) -> dict[str, Any]:
    rows = int(gib * (1 << 30) // (1024 * 8))
    code = textwrap.dedent(_SHIP.format(rows=rows, gib=gib))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "ship_figure.py")  # a file: optlevel reads its source
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(code)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, script], capture_output=True, text=True,
                              env=env, timeout=600)
        took = time.perf_counter() - start
    if proc.returncode != 0:
        return {"figure": f"ship {gib:g} GiB to the process pool", "error":
                proc.stderr.strip().splitlines()[-1:]}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    share = data["growth"] / data["bytes"]
    return {"figure": f"ship {gib:g} GiB to the process pool",
            "parent_peak_growth_mb": data["growth"] / 2**20, "array_mb": data["bytes"] / 2**20,
            "growth_share": share, "target": "< 10% of the array", "same_result": data["ok"],
            "segments_left": data["left"], "ran": ",".join(data["ran"]),
            "script_s": took}


def fig_dask(repeat: int, n: int = 10_000_000) -> dict[str, Any]:
    """The same call on a LocalCluster of 2 worker processes and on the local pool (each
    timed in its own block: switching the executor re-plans every function)."""
    import warnings

    from distributed import Client, LocalCluster

    x = W._rng().random(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster, set_as_default=False)
    try:
        local = level3(W.elementwise)
        plain, base = timed_pair(lambda: W.elementwise(x), lambda: local(x), repeat)
        on_dask = level3(W.elementwise, client)  # type: ignore[arg-type]
        on_dask(x)
        fast = statistics.median(_times(lambda: on_dask(x), repeat))
        ok = np.array_equal(on_dask(x), W.elementwise(x))
        ran = realized(on_dask)
    finally:
        optlevel.configure(executor=None)
        client.close()
        cluster.close()
    out = row(f"dask elementwise {W.count_label(n)}", "local level-3 pool", base, fast,
              "correct; overhead vs the local pool", ran, ok)
    out["plain_numpy_ms"] = plain * 1e3
    out["dask_overhead_ms"] = (fast - base) * 1e3
    return out


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fig_blocks(repeat: int, n: int = 10_000_000) -> list[dict[str, Any]]:
    """elementwise with other thread block sizes (to choose the default)."""
    x = W._rng().random(n)
    out = []
    default = costs.BLOCK_BYTES
    try:
        for kb in (64, 256, 1024, 4096, 0):
            costs.BLOCK_BYTES = (kb << 10) if kb else -(-x.nbytes // runtime.worker_count(
                optlevel.settings()))  # 0: one block per worker (plain chunks)
            f = level3(W.elementwise)
            base, fast = timed_pair(lambda: W.elementwise(x), lambda f=f: f(x), repeat)
            out.append({"block_kb": kb or "one per worker", "ratio": base / fast,
                        "plain_ms": base * 1e3, "threads_ms": fast * 1e3})
    finally:
        costs.BLOCK_BYTES = default
    return out


def machine() -> dict[str, Any]:
    s = optlevel.settings()
    return {"node": platform.node(), "cpus": os.cpu_count(),
            "workers": runtime.worker_count(s), "python": platform.python_version(),
            "numpy": np.__version__, "load_avg": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask figure")
    parser.add_argument("--no-ship", action="store_true", help="skip the 1 GiB figure")
    parser.add_argument("--blocks", action="store_true", help="also try block sizes")
    parser.add_argument("--only", default="", help="comma-separated figure names")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", optlevel.OptlevelWarning)  # fallbacks are the point
    figures: dict[str, Callable[[], Any]] = {
        "elementwise": lambda: fig_elementwise(args.repeat),
        "independent_ops": lambda: fig_independent_ops(args.repeat),
        "rowwise": lambda: fig_rowwise(max(3, args.repeat // 2)),
        "prange": lambda: fig_prange(args.repeat),
        "images": lambda: fig_images(max(3, args.repeat // 2)),
        "matmul": lambda: fig_matmul(args.repeat),
    }
    if not args.no_ship:
        figures["ship"] = fig_ship
    if not args.no_dask:
        figures["dask"] = lambda: fig_dask(args.repeat)
    if args.blocks:
        figures["blocks"] = lambda: fig_blocks(args.repeat)
    chosen = [f for f in args.only.split(",") if f] or list(figures)
    results: dict[str, Any] = {"machine": machine(), "figures": []}
    for name in chosen:
        started = time.perf_counter()
        try:
            found = figures[name]()
        except Exception as exc:  # one broken figure must not lose the others' numbers
            found = {"figure": name, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        print(f"[{name}: {time.perf_counter() - started:.1f} s]", file=sys.stderr, flush=True)
        results["figures"] += found if isinstance(found, list) else [found]
        _print(found)
    profile = profile_for(optlevel.settings())
    if profile.values:
        results["profile"] = {k: v for k, v in profile.values.items()
                              if k.split(".")[0] in ("parallel", "threads", "processes",
                                                     "prange", "dask", "ray")}
        print("measured costs:", json.dumps(results["profile"], indent=1))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1, default=str)
    return 0


def _print(found: Any) -> None:
    for item in found if isinstance(found, list) else [found]:
        if "ratio" in item and "baseline_ms" in item:
            print(f"{item['figure']:<32} {item['baseline']:<26} {item['baseline_ms']:9.1f} ms"
                  f"  level 3 {item['optlevel_ms']:9.1f} ms  {item['ratio']:6.2f}x  "
                  f"target {item['target']}  [{item['ran']}] same={item['same_result']}",
                  flush=True)
        else:
            print(json.dumps(item), flush=True)


if __name__ == "__main__":
    sys.exit(main())
