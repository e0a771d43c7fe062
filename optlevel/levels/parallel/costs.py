"""What level 3 costs on this machine, measured once and kept in the machine profile.

The planner reads these through the backends' ``estimate``:

=============================  ====================================================
key                            what
=============================  ====================================================
``parallel.numpy_op_s``        one NumPy elementwise operation, per float64 element,
                               on one core
``threads.speedup.<N>``        blocked elementwise NumPy on N threads vs one
``threads.task_s``             one round trip through the thread pool
``processes.start_s.<N>``      starting a pool of N processes (first round trip)
``processes.task_s``           one round trip to a warm worker process
``processes.copy_s``           copying one byte into shared memory
``prange.launch_s``            starting a Numba parallel loop (``optlevel calibrate``)
``dask.task_s``, ``ray.task_s``  one round trip to the cluster
=============================  ====================================================

Predictions are deliberately simple (work × measured rate ÷ measured speedup +
measured overheads); where they land between "clearly pays" and "clearly does
not", the backend asks for a measured trial against level 0 instead.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

import numpy as np

from ..._table import format_seconds
from ...contract import Estimate, Pays
from ...core.timing import median_seconds

__all__ = ["numpy_op_s", "thread_speedup", "thread_task_s", "process_costs", "copy_s",
           "judge", "PRANGE_LAUNCH_S", "BLOCK_BYTES"]

#: Numba's parallel loop start when not calibrated (OpenMP/TBB/workqueue: 10-50 µs).
PRANGE_LAUNCH_S = 30e-6
#: Rows per thread block are chosen so that a block's split data is about this big (and
#: every worker gets at least two blocks). Measured on a 16-core host (H100 machine,
#: benchmarks/parallel_explore.py), elementwise 10M on 16 threads: 256 KB 5.7x, 1 MB
#: 10.5x, 4 MB 11.3x, 16 MB 3.5x; process_images n=1000: 1.1x, 5.6x, 14.7x, 8.5x. Small
#: blocks pay the function's Python overhead and fresh temporaries per block too often;
#: large ones leave threads idle at the end.
BLOCK_BYTES = 4 << 20
#: Blocks each worker should get at least (they are handed out one at a time).
MIN_BLOCKS_PER_WORKER = 2
_CALIBRATION_BLOCK_BYTES = 4 << 20  # calibration ignores a changed BLOCK_BYTES


def _kernel(x: np.ndarray) -> np.ndarray:
    return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))  # 6 operations per element


def numpy_op_s(profile: Any) -> float:
    def measure() -> float:
        x = np.random.default_rng(0).random(1 << 20)
        return median_seconds(lambda: _kernel(x)) / (x.size * 6)

    return float(profile.measure("parallel.numpy_op_s", measure))


def thread_speedup(profile: Any, workers: int) -> float:
    """Measured speedup of blocked elementwise NumPy on ``workers`` threads."""
    if workers <= 1:
        return 1.0

    def measure() -> float:
        from ...analysis import analyze
        from .chunks import block_rows, split_call
        from .local import run_threads

        x = np.random.default_rng(0).random(1 << 21)
        call = split_call(_kernel, analyze(_kernel), (x,), {}, None)
        rows = block_rows(call, _CALIBRATION_BLOCK_BYTES, workers * MIN_BLOCKS_PER_WORKER)
        one = median_seconds(lambda: _kernel(x), 3)
        many = median_seconds(lambda: run_threads(call, workers, rows), 3)
        return max(0.5, one / many)

    return float(profile.measure(f"threads.speedup.{workers}", measure))


def thread_task_s(profile: Any) -> float:
    def measure() -> float:
        from .pools import THREADS

        executor = THREADS.get(1)
        return median_seconds(lambda: executor.submit(int).result(), 20)

    return float(profile.measure("threads.task_s", measure))


def process_costs(profile: Any, workers: int) -> tuple[float, float]:
    """(start-up of a pool of ``workers`` processes, one warm round trip) in seconds."""
    from . import worker
    from .pools import PROCESSES

    blob = pickle.dumps(len)
    noop = [((),)]

    def start() -> float:
        PROCESSES.rebuild()
        begin = time.perf_counter()
        executor = PROCESSES.get(workers)
        for future in [executor.submit(worker.run_items, blob, noop) for _ in range(workers)]:
            future.result()
        return time.perf_counter() - begin

    def task() -> float:
        executor = PROCESSES.get(workers)
        return median_seconds(lambda: executor.submit(worker.run_items, blob, noop).result(), 20)

    started = float(profile.measure(f"processes.start_s.{workers}", start))
    return started, float(profile.measure("processes.task_s", task))


def copy_s(profile: Any) -> float:
    """Seconds per byte to put an array into shared memory."""
    def measure() -> float:
        from .shm import Segments

        x = np.ones(1 << 22)  # 32 MB
        with Segments() as segments:
            return median_seconds(lambda: segments.put(x), 3) / x.nbytes

    return float(profile.measure("processes.copy_s", measure))


#: Below this much serial NumPy work the threads backend does not trust its prediction:
#: the first calls measure it against plain Python, which is what it replaces (on the
#: 16-core H100 host, threads were predicted 5x faster on a 100K elementwise call and
#: measured 2x slower). Not for prange: its trial would time plain Python, not level 2.
MEASURE_BELOW_S = 0.02


def judge(serial: float, parallel: float, how: str, *, sure: float = 1.3,
          measure_below: float = 0.0) -> Estimate:
    """"yes" when ``parallel`` is clearly faster than ``serial`` on work big enough to
    trust the prediction, "no" when slower, "trial" (measure it against level 0) in
    between."""
    ratio = serial / parallel if parallel > 0 else float("inf")
    said = (f"predicted {format_seconds(parallel)} {how} vs {format_seconds(serial)} on one "
            f"core ({ratio:.1f}x)")
    if ratio >= sure and serial >= measure_below:
        return Estimate(Pays.YES, said, parallel)
    if ratio < 1.0:
        return Estimate(Pays.NO, f"too small to pay: {said}", parallel)
    return Estimate(Pays.TRIAL, f"{said}: the first calls measure it against level 0", parallel)


#: A generous bound on NumPy's time per element per operation (transcendental ufuncs
#: included), and a floor of work under which the thread pool cannot pay: with two
#: workers it could save at most half of 50 µs, and one task's round trip on the pool
#: (``threads.task_s``) measured 20-24 µs on the 2-core machine. Below it nothing is
#: calibrated to find out.
GENEROUS_ELEMENT_OP_S = 20e-9
THREADS_FLOOR_S = 50e-6


def below_threads_floor(element_ops: float) -> Estimate | None:
    """A "no" for work of ``element_ops`` (elements × operations) too small for any
    thread pool, told before the machine profile is measured; else None."""
    most = element_ops * GENEROUS_ELEMENT_OP_S
    if most >= THREADS_FLOOR_S:
        return None
    return Estimate(Pays.NO, f"too small to pay: at most {format_seconds(most)} of NumPy "
                             f"work, under the {format_seconds(THREADS_FLOOR_S)} a thread "
                             "pool's call costs beyond it")


def local_pool_refusal(settings: Any, pool: str,
                       features: Any) -> tuple[Estimate | None, int]:
    """The reason a local pool (``threads`` or ``processes``) does not pay for any call
    of this function, as a "no" Estimate, or None; then the pool's worker count."""
    from . import runtime

    why = runtime.excluded(settings, pool)
    if why or runtime.inside_worker():
        return Estimate(Pays.NO, why or runtime.INSIDE_WORKER), 0
    workers = runtime.worker_count(settings)
    if workers <= 1:
        return Estimate(Pays.NO, "one worker: nothing to share the work with"), workers
    if "blas" in features.numpy_calls:
        return Estimate(Pays.NO, "it calls BLAS, which already uses every core"), workers
    return None, workers
