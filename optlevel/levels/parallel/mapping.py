"""``f.map(iterable, ...)``: many independent calls in parallel, results in order.

Items are grouped into chunks (a few per worker) so each task is worth sending.
Where the calls run follows ``OPTLEVEL_EXECUTOR``; with ``local`` (the default)
calls that run without the GIL (vectorized NumPy, or loops Numba compiles, since
optlevel's compiled code releases the GIL) go to the thread pool through the
decorated function, and Python code that holds the GIL goes to the process pool
as the plain function. A progress bar (tqdm, else rich) is imported only when asked.
"""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ...contract import Code
from ...core.preconditions import function_preconditions
from ...errors import ConfigError, FallbackWarning, PerformanceWarning, warn_once
from . import pools, runtime, ship, worker

__all__ = ["run_map"]


def run_map(opt: Any, iterables: tuple[Iterable[Any], ...], *, chunksize: int | None = None,
            progress: bool = False) -> list[Any]:
    """Call ``opt(*items)`` for each tuple of items drawn from ``iterables`` (like
    ``map``), in parallel; return the results as a list, in order."""
    from ...config import settings
    from ...core.registry import BACKENDS, is_available

    if not iterables:
        raise TypeError("map() needs at least one iterable")
    if chunksize is not None and (type(chunksize) is not int or chunksize < 1):
        raise ConfigError(f"chunksize must be a whole number ≥ 1, got {chunksize!r}")
    items = list(zip(*iterables))
    s = settings()
    workers = runtime.worker_count(s)
    bar = _progress_bar(progress, len(items))
    try:
        if not items or workers <= 1 or len(items) == 1 or runtime.inside_worker():
            return _sequential(opt, items, bar)
        kept = _kept_in_order(opt.features)
        if kept:  # random numbers, I/O, global writes: only the plain order keeps their meaning
            name = getattr(opt, "__qualname__", "function")
            warn_once((name, "map", kept),
                      f"{name}.map: {kept}; the calls run one after another so their "
                      "order (and what they draw or print) stays the plain loop's.",
                      FallbackWarning)
            return _sequential(opt, items, bar)
        size = chunksize or max(1, -(-len(items) // (workers * 4)))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        kind, target = runtime.executor_kind(s)
        if kind in ("dask", "ray") and is_available(BACKENDS[kind], s):
            return _remote(kind, target, opt, chunks, workers, bar)
        if kind == "threads" or (kind != "processes" and _gil_free(opt, items[0], s)):
            return _threads(opt, chunks, workers, bar)
        return _processes(opt, items, chunks, workers, bar)
    finally:
        if bar is not None:
            bar.close()


def _sequential(opt: Callable[..., Any], items: list[tuple], bar: Any) -> list[Any]:
    out = []
    for item in items:
        out.append(opt(*item))
        if bar is not None:
            bar.update(1)
    return out


def _kept_in_order(features: Any) -> str:
    """Why the calls must run one after another (the shared preconditions' "kept in
    Python": random numbers, I/O, global writes), or ''. A function without source
    or a generator is still mapped in parallel: each call runs it whole, as written."""
    verdict = function_preconditions(features, no_source="", kept=str)
    return verdict.reason if verdict.code is Code.KEPT_IN_PYTHON else ""


def _gil_free(opt: Any, first: tuple, s: Any) -> bool:
    """Will the calls run without the GIL: no Python loops, or loops Numba compiles?
    (Asked after :func:`_kept_in_order`: nothing is kept in Python.)"""
    from ...analysis import describe_args
    from ...core.registry import BACKENDS, requirement_missing

    features = opt.features
    if not features.has_source:
        return False
    if not features.hot_loops:
        return True
    numba = BACKENDS.get("numba")
    if numba is None or requirement_missing(numba) is not None:
        return False
    return bool(numba.applies(features, describe_args(first, {}, features.params), s, None))


def _call_chunk(opt: Callable[..., Any], chunk: list[tuple]) -> list[Any]:
    return [opt(*item) for item in chunk]


def _kill_processes(_futures: list[Future]) -> None:
    pools.PROCESSES.kill()


def _flowing(submit: Callable[[Any], Future], chunks: list[Any], sizes: list[int], bar: Any,
             ahead: int, on_interrupt: Callable[[list[Future]], None] = _kill_processes,
             on_error: Callable[[list[Future]], None] = pools.settle) -> list[Any]:
    """The chunks' results in order, at most ``ahead`` of them submitted and unfinished
    at a time; the progress bar moves as they end. The process pool's ``submit`` waits
    while its task pipe is full (:mod:`.pipes`): submitted all at once, chunks of large
    items kept this thread in its writes until most of them had run, and a progress bar
    still at zero. On Ctrl-C, ``on_interrupt`` gets the futures not taken yet (by
    default the process pool's workers are killed); after another error, ``on_error``
    does (by default they are settled: none runs on behind the call), and no further
    chunk is sent."""
    out: list[Any] = []
    pending: collections.deque[tuple[Future, int]] = collections.deque()
    try:
        for chunk, size in zip(chunks, sizes):
            if len(pending) >= ahead:
                _take(pending, out, bar)
            pending.append((submit(chunk), size))
        while pending:
            _take(pending, out, bar)
    except KeyboardInterrupt:
        on_interrupt([future for future, _ in pending])
        raise
    except BaseException:
        on_error([future for future, _ in pending])
        raise
    return out


def _take(pending: collections.deque, out: list[Any], bar: Any) -> None:
    future, size = pending[0]
    out.extend(future.result())
    pending.popleft()
    if bar is not None:
        bar.update(size)


def _threads(opt: Any, chunks: list[list[tuple]], workers: int, bar: Any) -> list[Any]:
    executor = pools.THREADS.get(max(1, workers - 1))
    return _flowing(functools.partial(executor.submit, _call_chunk, opt), chunks,
                    [len(c) for c in chunks], bar, max(1, len(chunks)),
                    on_interrupt=_cancel, on_error=_cancel)  # every chunk submitted at once


def _cancel(futures: list[Future]) -> None:
    for future in futures:
        future.cancel()


def _processes(opt: Any, items: list[tuple], chunks: list[list[tuple]], workers: int,
               bar: Any) -> list[Any]:
    name = getattr(opt, "__qualname__", "function")
    try:
        blob = ship.dumps_function(opt.py_func)
        packed = [ship.dumps_values(chunk, "an item") for chunk in chunks]
        current = ship.dumps_values(ship.current_globals(opt.py_func), "a global it reads")
    except ship.ShipError as exc:
        warn_once((name, "map", str(exc)), f"{name}.map: {exc}; the calls run one after "
                  "another in this process instead.", FallbackWarning)
        return _sequential(opt, items, bar)
    for attempt in (1, 2):
        executor = pools.PROCESSES.get(workers)
        try:
            return _flowing(functools.partial(executor.submit, _unpack_and_run, blob, current),
                            packed, [len(c) for c in chunks], bar, 2 * workers)
        except BrokenProcessPool as exc:
            pools.PROCESSES.rebuild()
            if attempt == 1:
                warn_once((name, "map worker died"), f"{name}.map: a worker process died "
                          f"({exc}); the pool was restarted and the calls run again.",
                          PerformanceWarning)
    return _sequential(opt, items, None)


def _unpack_and_run(blob: bytes, current: bytes, chunk: bytes) -> list[Any]:
    import pickle

    return worker.run_items(blob, pickle.loads(chunk), pickle.loads(current))


def _remote(kind: str, target: Any, opt: Any, chunks: list[list[tuple]], workers: int,
            bar: Any) -> list[Any]:
    from . import remote

    if kind == "dask":
        client = remote.dask_client(target, workers)
        futures = remote.map_dask(client, opt.py_func, chunks)
        try:
            parts = client.gather(futures)
        except BaseException:
            client.cancel(futures)
            raise
    else:
        ray = remote.ray_ready(target, workers)
        refs = remote.map_ray(opt.py_func, chunks)
        try:
            parts = ray.get(refs)
        except ray.exceptions.RayTaskError:  # the user's error, in Ray's wrapper: the
            ray.wait(refs, num_returns=len(refs))  # calls run here, in order, and meet
            return _sequential(opt, list(itertools.chain.from_iterable(chunks)), bar)
    if bar is not None:
        bar.update(sum(len(c) for c in chunks))
    return list(itertools.chain.from_iterable(parts))


def _progress_bar(progress: bool, total: int) -> Any:
    """A progress bar with ``update(n)`` and ``close()``: tqdm, else rich; None if not asked."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        pass
    else:
        return tqdm(total=total)
    try:
        from rich.progress import Progress
    except ImportError:
        raise ConfigError("progress=True needs tqdm or rich: pip install tqdm") from None
    return _RichBar(Progress(), total)


class _RichBar:
    def __init__(self, progress: Any, total: int):
        self.progress = progress
        self.progress.start()
        self.task = progress.add_task("optlevel map", total=total)

    def update(self, n: int) -> None:
        self.progress.update(self.task, advance=n)

    def close(self) -> None:
        self.progress.stop()
