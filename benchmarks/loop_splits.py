"""Iteration splits (issue 15), measured in one run: plain Python against the same
function at level 3 and at ``level="auto"``, medians, ratios from the same run.

    PYTHONPATH=. python benchmarks/loop_splits.py --out loops.json
    PYTHONPATH=. python benchmarks/loop_splits.py --only rowwise256,words --repeat 3
    PYTHONPATH=. python benchmarks/loop_splits.py --only cluster,ray --repeat 5

Each figure calls plain Python, level 3 and auto alternately after untimed calls that
plan, start the pool and settle auto's trial, and reports the medians and ratios.
With rowwise128, rowwise256, words and the stencil, the machine's own ceiling is
measured too: the rows (documents) cut by hand over every core's forked process,
nothing shipped (each process times its own part: no result comes back).

figures (targets from the issue):
  rowwise128, rowwise256   list-of-lists product            >=1.6x on 2 cores, >=10x on 16
  words                    tokenize and count per document, 20K documents, keep each
                           document's top word and its counts (same targets)
  words_dicts              the same, returning every document's dict of counts
  stencil                  4-point stencil on a list-of-lists grid   >=1.6x on 2 cores
  array_rows               a loop over the rows of a 400x20000 array, if/else and two
                           outputs per row, NumPy work per row: level 3 on threads
  cluster                  rowwise128 on a real distributed.LocalCluster (one worker
                           process per core): correct, its time against the local pool
  ray                      the same on a local Ray (ray.init(num_cpus=cores))

``--pieces K`` sets the pieces per worker of the iteration splits, on every call
(default: 2 up to 4 workers, up to 4 above, fewer after a call whose pieces held under
``iterrun.MIN_PIECE_S`` of work each), to measure what suits a machine. Up to 4
workers the calling process runs the first piece of a loop itself and each worker one
piece (``--pieces`` then applies to threads, Dask and Ray only); ``--helps-up-to N``
moves that bound (0: the caller only waits, as above 4 workers), to measure where it
pays.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import optlevel
from optlevel import optimize


def rowwise(A, B):
    n = len(A)
    C = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += A[i][k] * B[k][j]
            C[i][j] = s
    return C


def word_counts(docs):
    counts = []
    total = 0
    for doc in docs:
        c = {}
        for w in doc.lower().split():
            w = w.strip(".,;:!?")
            if w:
                c[w] = c.get(w, 0) + 1
        counts.append(c)
        total += len(c)
    return counts, total


def top_words(docs):
    found = []
    for doc in docs:
        c = {}
        for w in doc.lower().split():
            w = w.strip(".,;:!?")
            if w:
                c[w] = c.get(w, 0) + 1
        best = max(c, key=c.get) if c else ""
        found.append((best, c.get(best, 0), len(c)))
    return found


def stencil(grid, steps):
    n = len(grid)
    m = len(grid[0])
    out = [row[:] for row in grid]
    for i in range(1, n - 1):
        up, row, down, new = grid[i - 1], grid[i], grid[i + 1], out[i]
        for j in range(1, m - 1):
            acc = 0.0
            for _ in range(steps):
                acc += 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1]) - 0.01 * acc
            new[j] = acc
    return out


def array_rows(a):
    n = len(a)
    peaks = np.empty(n)
    levels = np.empty(n)
    for i in range(n):
        row = a[i]
        if row[0] > 0.5:
            peaks[i] = np.sin(row).max() + np.sqrt(row).sum()
        else:
            peaks[i] = np.cos(row).max()
        levels[i] = np.exp(row).mean()
    return peaks, levels


def _matrix(n: int, seed: int) -> list[list[float]]:
    rnd = random.Random(seed)
    return [[rnd.random() for _ in range(n)] for _ in range(n)]


def _docs(count: int) -> list[str]:
    rnd = random.Random(3)
    vocab = [f"word{k}" for k in range(2000)] + ["The", "a", "of", "and", "to", "in"]
    return [" ".join(rnd.choice(vocab) + rnd.choice(["", "", ",", "."])
                     for _ in range(rnd.randint(20, 80))) for _ in range(count)]


def _cases() -> dict[str, tuple[Callable[..., Any], tuple]]:
    return {
        "rowwise128": (rowwise, (_matrix(128, 1), _matrix(128, 2))),
        "rowwise256": (rowwise, (_matrix(256, 1), _matrix(256, 2))),
        "words": (top_words, (_docs(20_000),)),
        "words_dicts": (word_counts, (_docs(20_000),)),
        "stencil": (stencil, (_matrix(600, 4), 4)),
        "array_rows": (array_rows, (np.random.default_rng(5).random((400, 20_000)),)),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b)) and len(a) == len(b)
    if isinstance(a, np.ndarray):  # prange may compile the NumPy row loop: last bits
        return a.dtype == b.dtype and bool(np.allclose(a, b, rtol=1e-12, atol=0))
    return bool(a == b)


def measure(func: Callable[..., Any], args: tuple, repeat: int) -> dict[str, Any]:
    level3 = optimize(func, level=3)
    auto = optimize(func, level="auto")
    expected = func(*args)
    assert _same(level3(*args), expected)
    for _ in range(4):  # auto: plan, trial against level 0, settle
        assert _same(auto(*args), expected)
    times: dict[str, list[float]] = {"plain": [], "level3": [], "auto": []}
    runners = [("plain", func), ("level3", level3), ("auto", auto)]
    for rep in range(repeat):
        # the order turns each repetition: a call right after a parallel one can find
        # the cores still busy (on the 16-core machine, auto right after level 3 ran
        # plain Python at 135 ms against 86 ms)
        for name, f in runners[rep % 3:] + runners[:rep % 3]:
            start = time.perf_counter()
            f(*args)
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"plain_s": med["plain"], "level3_s": med["level3"], "auto_s": med["auto"],
            "level3_x": med["plain"] / med["level3"], "auto_x": med["plain"] / med["auto"],
            "level3_ran": sorted(level3.stats().levels), "auto_ran": sorted(auto.stats().levels),
            "repeat": repeat}


_SHARED: dict[str, Any] = {}


def _rows(lo: int, hi: int) -> float:
    A, B = _SHARED["A"], _SHARED["B"]
    n = len(A)
    start = time.perf_counter()
    for i in range(lo, hi):
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += A[i][k] * B[k][j]
    return time.perf_counter() - start


def _words(lo: int, hi: int) -> float:
    start = time.perf_counter()
    top_words(_SHARED["docs"][lo:hi])
    return time.perf_counter() - start


def _stencil_rows(lo: int, hi: int) -> float:
    grid, steps = _SHARED["grid"], 4
    m = len(grid[0])
    out = [row[:] for row in grid[lo:hi]]
    start = time.perf_counter()
    for i in range(max(lo, 1), min(hi, len(grid) - 1)):
        up, row, down, new = grid[i - 1], grid[i], grid[i + 1], out[i - lo]
        for j in range(1, m - 1):
            acc = 0.0
            for _ in range(steps):
                acc += 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1]) - 0.01 * acc
            new[j] = acc
    return time.perf_counter() - start


def ceiling(name: str, workers: int, repeat: int) -> dict[str, float]:
    """The machine's own ceiling for rowwise N, words or the stencil: the rows
    (documents) cut by hand over ``workers`` forked processes (no shipping: the inputs
    are inherited, only a time comes back), against one process."""
    import multiprocessing as mp

    if name == "words":
        _SHARED["docs"] = _docs(20_000)
        n, part = len(_SHARED["docs"]), _words
    elif name == "stencil":
        _SHARED["grid"] = _matrix(600, 4)
        n, part = 600, _stencil_rows
    else:
        n, part = int(name.removeprefix("rowwise")), _rows
        _SHARED["A"], _SHARED["B"] = _matrix(n, 1), _matrix(n, 2)
    cuts = [(n * k // workers, n * (k + 1) // workers) for k in range(workers)]
    one, many = [], []
    with mp.get_context("fork").Pool(workers) as pool:
        pool.starmap(part, cuts)
        for _ in range(repeat):
            one.append(part(0, n))
            start = time.perf_counter()
            pool.starmap(part, cuts)
            many.append(time.perf_counter() - start)
    a, b = statistics.median(one), statistics.median(many)
    return {"one_s": a, "split_s": b, "x": a / b}


def on_cluster(kind: str, n: int, workers: int, repeat: int) -> dict[str, Any]:
    """rowwise ``n`` on a real cluster of ``workers`` processes (a distributed
    LocalCluster, or a local Ray) against the local process pool, in one run: the same
    prepared loop runner on each executor, and the planner's pick under the cluster."""
    from optlevel.analysis import analyze
    from optlevel.levels.parallel.iterplan import iteration_prepare

    args = (_matrix(n, 1), _matrix(n, 2))
    expected = rowwise(*args)
    features = analyze(rowwise)
    pool = iteration_prepare(rowwise, features, workers).fn
    client = cluster = None
    if kind == "dask":
        import distributed

        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
        remote = iteration_prepare(rowwise, features, workers, lambda: client).fn
        optlevel.configure(executor=client)
    else:
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        remote = iteration_prepare(rowwise, features, workers, ray=True).fn
        optlevel.configure(executor="ray")
    try:
        planned = optimize(rowwise, level=3, strict=True)
        assert planned(*args) == expected
        ran = sorted({s.backend for s in planned.stats().signatures})
        for _ in range(2):  # start, ship the function once
            assert remote(*args) == expected and pool(*args) == expected
        times: dict[str, list[float]] = {"plain": [], "pool": [], kind: []}
        for _ in range(repeat):
            for name, f in (("plain", rowwise), ("pool", pool), (kind, remote)):
                start = time.perf_counter()
                assert f(*args) == expected
                times[name].append(time.perf_counter() - start)
        assert remote.__optlevel_loop__.last.endswith(f"pieces on {kind}")
    finally:
        optlevel.configure(executor=None)
        if client is not None:
            client.close()
            cluster.close()
        else:
            import ray

            ray.shutdown()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"plain_s": med["plain"], "pool_s": med["pool"], "cluster_s": med[kind],
            "overhead_s": med[kind] - med["pool"], "pool_x": med["plain"] / med["pool"],
            "cluster_x": med["plain"] / med[kind], "ran_on": ran, "n": n, "repeat": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--only", help="comma-separated figure names")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pieces", type=int, help="pieces per worker (default: the rule)")
    parser.add_argument("--helps-up-to", type=int, help="the caller runs a share of the "
                        "loop on at most this many workers (default 4; 0: never)")
    ns = parser.parse_args()
    warnings.simplefilter("ignore", optlevel.OptlevelWarning)
    if ns.pieces:
        from optlevel.levels.parallel import iterplan, iterrun

        iterplan.pieces_per_worker = lambda workers: ns.pieces
        iterrun.MIN_PIECE_S = 1e-9  # that count on every call: no fewer after short ones
    if ns.helps_up_to is not None:
        from optlevel.levels.parallel import iterhelp

        iterhelp.HELPS_UP_TO = ns.helps_up_to
    cases = _cases()
    names = ns.only.split(",") if ns.only else list(cases) + ["cluster"]
    cores = len(os.sched_getaffinity(0))
    out: dict[str, Any] = {"machine": f"{platform.node()} {cores} cores, Python "
                                      f"{sys.version.split()[0]}", "figures": {}}
    for name in names:
        if name in ("cluster", "ray"):
            kind = "dask" if name == "cluster" else "ray"
            if importlib.util.find_spec("distributed" if kind == "dask" else kind) is None:
                print(f"{name:12s} {kind} is not installed here: skipped", flush=True)
                continue
            found = on_cluster(kind, 128, cores, ns.repeat)
            out["figures"][name] = found
            print(f"{name:12s} rowwise128 plain {found['plain_s'] * 1e3:.1f} ms  local pool "
                  f"{found['pool_s'] * 1e3:.1f} ms ({found['pool_x']:.2f}x)  {kind} "
                  f"{found['cluster_s'] * 1e3:.1f} ms ({found['cluster_x']:.2f}x, ran on "
                  f"{found['ran_on']}): overhead {found['overhead_s'] * 1e3:+.1f} ms per call",
                  flush=True)
            continue
        func, args = cases[name]
        found = measure(func, args, ns.repeat)
        out["figures"][name] = found
        print(f"{name:12s} plain {found['plain_s'] * 1e3:8.1f} ms  level 3 "
              f"{found['level3_s'] * 1e3:8.1f} ms ({found['level3_x']:.2f}x, ran at "
              f"{found['level3_ran']})  auto {found['auto_s'] * 1e3:8.1f} ms "
              f"({found['auto_x']:.2f}x, ran at {found['auto_ran']})", flush=True)
    for name in ("rowwise128", "rowwise256", "words", "stencil"):
        if name not in names:
            continue
        found = ceiling(name, cores, ns.repeat)
        out[f"ceiling_{name}"] = found
        print(f"ceiling      {name} cut by hand over {cores} forked processes: "
              f"{found['one_s'] * 1e3:.1f} ms -> {found['split_s'] * 1e3:.1f} ms "
              f"({found['x']:.2f}x)", flush=True)
    if ns.out:
        with open(ns.out, "w") as fh:
            json.dump(out, fh, indent=2)
    optlevel.shutdown()


if __name__ == "__main__":
    main()
