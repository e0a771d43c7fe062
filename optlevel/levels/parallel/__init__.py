"""Level 3's machinery, shared by the backends ``prange``, ``threads``, ``processes``,
``dask`` and ``ray`` (``backend_*.py`` in this folder).

Libraries do the running: ``concurrent.futures`` pools, ``multiprocessing.shared_memory``
for arrays, threadpoolctl to cap each worker's BLAS/OpenMP threads, Numba's
``prange``, ``dask.distributed`` and Ray as they are. Written here by hand is only
what is specific to optlevel:

- :mod:`.split`: the split proofs read as ``features.split`` (their types in
  :mod:`.split_proofs`; row-wise NumPy in :mod:`.split_rows` over
  :mod:`.split_exprs`, :mod:`.split_calls` and :mod:`.split_values`; one row loop in
  :mod:`.split_rowloop` and independent loops in :mod:`.split_loops`, both over
  :mod:`.split_scan`);
- :mod:`.verdicts`: what every backend that cuts calls checks first;
- :mod:`.chunks`: cutting a call into pieces along its proven (or hinted) split axis,
  and joining the results;
- :mod:`.shm`: arrays to and from worker processes through shared memory;
- :mod:`.pools`, :mod:`.worker`, :mod:`.ship`: the persistent pools, what runs in a
  worker, and how the function gets there;
- :mod:`.local`, :mod:`.remote`, :mod:`.cluster`: running one call on threads,
  processes, Dask or Ray; an iteration split's loop in :mod:`.iterrun` (its caller's
  own share of the pieces in :mod:`.iterhelp`);
- :mod:`.prange`: the Numba ``parallel=True`` rewrite of independent loops;
- :mod:`.mapping`: ``f.map(iterable)``;
- :mod:`.costs`: measured pool costs for the planner; :mod:`.runtime`: worker
  counts, the executor setting, and whether we are inside a worker.

``import optlevel`` imports only the light parts the backends' modules name (no
pool, no multiprocessing), and no pool starts before a call needs it. Pools,
cluster clients and shared-memory segments belong to
:mod:`optlevel.core.runtime`: the first of each registers its closer there, so
``optlevel.core.runtime.shutdown()`` (and the exit hook) closes them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_map"]


def __getattr__(name: str) -> Any:
    if name == "run_map":  # imported on first use: it brings the pools with it
        from .mapping import run_map

        return run_map
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
