"""What a task costs the calling process: level 3's process pool (:mod:`.pipes`)
against ``concurrent.futures.ProcessPoolExecutor``, in one run.

    PYTHONPATH=. python benchmarks/pool_overhead.py --workers 16 --tasks 64
    PYTHONPATH=. python benchmarks/pool_overhead.py --workers 16 --tasks 16 --payload-kb 143

Each round submits ``--tasks`` small tasks (``len`` of a bytes object of
``--payload-kb`` KB, 4 by default) and waits
for all of them; after warm-up rounds, ``--rounds`` rounds are timed. Printed per task:
the CPU time of this whole process (every thread: the calling thread, and the pool's
reader, or the executor's manager and feeder threads), of the calling thread alone,
and the wall time. Both pools start their workers the same way (optlevel's spawn
without ``__main__``, its worker initializer).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

from optlevel.levels.parallel import worker
from optlevel.levels.parallel.pipes import PipePool
from optlevel.levels.parallel.start import context


def measure(pool, tasks: int, rounds: int, kb: int) -> tuple[float, float, float]:
    payload = b"x" * (kb * 1000)
    for _ in range(20):
        [f.result() for f in [pool.submit(len, payload) for _ in range(tasks)]]
    cpu, main, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for _ in range(rounds):
        [f.result() for f in [pool.submit(len, payload) for _ in range(tasks)]]
    n = rounds * tasks
    return ((time.process_time() - cpu) * 1e6 / n, (time.thread_time() - main) * 1e6 / n,
            (time.perf_counter() - wall) * 1e6 / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--payload-kb", type=int, default=4)
    ns = parser.parse_args()
    pools = {"pipes": lambda: PipePool(ns.workers, context(), worker.init_process),
             "executor": lambda: ProcessPoolExecutor(ns.workers, mp_context=context(),
                                                     initializer=worker.init_process)}
    for name, make in pools.items():
        pool = make()
        try:
            cpu, main_us, wall = measure(pool, ns.tasks, ns.rounds, ns.payload_kb)
        finally:
            pool.shutdown()
        print(f"{name:9s} {ns.workers} workers, {ns.payload_kb} KB: this process's CPU "
              f"{cpu:6.1f} us a task, calling thread {main_us:5.1f} us, wall {wall:6.1f} us",
              flush=True)


if __name__ == "__main__":
    main()
