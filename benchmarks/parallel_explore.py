"""Level 3's tuning knobs, measured on this machine: thread block size per workload,
process pieces per worker, and the machine's own ceiling for N Python processes.

    PYTHONPATH=. python benchmarks/parallel_explore.py

Used to choose the defaults in ``optlevel.levels.parallel.costs.BLOCK_BYTES`` and
``optlevel.levels.parallel.backend_processes._PIECES_PER_WORKER``; medians, each ratio
against a baseline timed alternately in the same run.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import optlevel
from optlevel import optimize
from optlevel.bench import workloads as W
from optlevel.levels.parallel import backend_processes as parallel_processes
from optlevel.levels.parallel import costs, runtime


def pair(base: Callable[[], Any], fast: Callable[[], Any], repeat: int) -> tuple[float, float]:
    base()
    fast()
    a, b = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        base()
        a.append(time.perf_counter() - t)
        t = time.perf_counter()
        fast()
        b.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def spin(n: int) -> float:
    s = 0.0
    for k in range(n):  # noqa: OL103 - the loop is the workload measured
        s += k * 0.5
    return s


def blocks(repeat: int) -> None:
    x, y = W._two_vectors(10_000_000)
    (images,) = W._images(1000)
    cases = {"elementwise": (W.elementwise, (x,)),
             "independent_ops": (W.independent_ops, (x, y)),
             "process_images": (W.process_images, (images,))}
    default = costs.BLOCK_BYTES
    for name, (func, args) in cases.items():
        for kb in (256, 1024, 4096, 16384):
            costs.BLOCK_BYTES = kb << 10
            f = optimize(func, level=3, strict=True, verify=False)
            base, fast = pair(lambda g=func, a=args: g(*a), lambda f=f, a=args: f(*a), repeat)
            print(f"{name:<16} block {kb:>6} KB  plain {base * 1e3:8.1f} ms  threads "
                  f"{fast * 1e3:7.1f} ms  {base / fast:5.2f}x", flush=True)
    costs.BLOCK_BYTES = default


def pieces(repeat: int) -> None:
    a, b = W._two_squares(256)
    optlevel.configure(executor="processes")
    default = parallel_processes._PIECES_PER_WORKER
    base = statistics.median(_times(lambda: W.rowwise_python_matmul(a, b), repeat))
    for k in (1, 2, 4, 8):
        parallel_processes._PIECES_PER_WORKER = k
        f = optimize(W.rowwise_python_matmul, level=3, strict=True, verify=False)
        f(a, b)
        fast = statistics.median(_times(lambda f=f: f(a, b), repeat))
        print(f"rowwise N=256  {k} pieces/worker  plain {base * 1e3:8.1f} ms  processes "
              f"{fast * 1e3:7.1f} ms  {base / fast:5.2f}x", flush=True)
    parallel_processes._PIECES_PER_WORKER = default
    optlevel.configure(executor=None)


def ceiling(repeat: int) -> None:
    """N plain processes each spinning the same Python loop: the machine's own scaling."""
    workers = runtime.worker_count(optlevel.settings())
    n = 3_000_000
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(spin, [10] * workers))
        one = statistics.median(_times(lambda: spin(n), repeat))
        many = statistics.median(_times(lambda: list(pool.map(spin, [n] * workers)),
                                        repeat))
    print(f"ceiling: {workers} processes x one loop each: {workers * one / many:5.2f}x of "
          f"one core ({one * 1e3:.0f} ms alone, {many * 1e3:.0f} ms for {workers})",
          flush=True)


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


if __name__ == "__main__":
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    ceiling(repeat)
    blocks(repeat)
    pieces(repeat)
