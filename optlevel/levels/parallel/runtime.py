"""Where level 3 runs: how many workers, which executor, and whether we are in one.

``settings.executor`` (``OPTLEVEL_EXECUTOR``) is parsed by :mod:`optlevel.config`;
this module only reads it: :func:`executor_kind` turns it into a kind (``local``,
``threads``, ``processes``, ``dask``, ``ray``) and a target (an address, a
``dask.distributed.Client``, or ``None``).

Work running inside a level-3 worker (a pool thread, a worker process) never
starts level 3 again: :func:`inside_worker` tells, so a nested call runs on the
worker's own core instead of waiting for a pool it occupies.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["worker_count", "executor_kind", "inside_worker", "as_worker", "LOCAL_KINDS",
           "excluded", "INSIDE_WORKER"]

#: Kinds whose pieces run on this machine.
LOCAL_KINDS = ("local", "threads", "processes")

_local = threading.local()
_in_worker_process = False


def worker_count(settings: Any) -> int:
    """``settings.workers``, or every core this process may use when it is 0."""
    if settings.workers > 0:
        return int(settings.workers)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def is_dask_client(value: Any) -> bool:
    """A ``distributed.Client``, told by its type's module (no import of distributed)."""
    cls = type(value)
    return cls.__name__ == "Client" and (cls.__module__ or "").startswith("distributed")


def executor_kind(settings: Any) -> tuple[str, Any]:
    """``(kind, target)``: kind is local, threads, processes, dask or ray; target is the
    scheduler address (``tcp://host:port`` or ``ray://…``), a Dask client, or None."""
    value = settings.executor
    if not isinstance(value, str):
        if is_dask_client(value):
            return "dask", value
        return "local", None  # config validates; never guess at an unknown object
    low = value.strip().lower()
    if low.startswith("dask://"):
        return "dask", "tcp://" + value.strip()[len("dask://"):]
    if low.startswith("ray://"):
        return "ray", value.strip()
    return low, None


def excluded(settings: Any, pool: str) -> str:
    """Why ``OPTLEVEL_EXECUTOR`` leaves out a backend running on ``pool`` (threads,
    processes, dask or ray), or ``""`` when it may run.

    Local pools run under ``local`` and their own kind, and also when the configured
    Dask or Ray cluster cannot be reached (the cluster's backend then warned once).
    A configured choice is not a failure of the function: backends report it as
    "does not pay here" (no fallback warning), never as "cannot run it".
    """
    kind, _ = executor_kind(settings)
    if pool in ("dask", "ray"):
        if kind == pool:
            return ""
        how = "dask, dask://host:port or configure(executor=client)" if pool == "dask" \
            else "ray or ray://host:port"
        return f"OPTLEVEL_EXECUTOR is {kind}; set it to {how} to use {pool}"
    if kind in ("local", pool):
        return ""
    if kind in ("dask", "ray"):
        from ...core.registry import BACKENDS, is_available

        remote = BACKENDS.get(kind)
        if remote is None or not is_available(remote, settings):
            return ""
        return f"OPTLEVEL_EXECUTOR={kind}: the pieces run on the {kind} cluster"
    return f"OPTLEVEL_EXECUTOR={kind}: level 3 uses only the {kind} pool"


#: Why a call made on a level-3 worker does not go parallel again.
INSIDE_WORKER = "called on a level-3 worker: it runs on that worker's core"


def inside_worker() -> bool:
    """Is this thread a level-3 worker (a pool thread or a worker process)?"""
    return _in_worker_process or getattr(_local, "active", False)


def mark_worker_thread() -> None:
    """Thread-pool initializer: this thread serves level 3."""
    _local.active = True


def mark_worker_process() -> None:
    """Process-pool initializer: this whole process serves level 3."""
    global _in_worker_process
    _in_worker_process = True


@contextlib.contextmanager
def as_worker() -> Iterator[None]:
    """Run a block as a worker would (the calling thread helping its own pool)."""
    previous = getattr(_local, "active", False)
    _local.active = True
    try:
        yield
    finally:
        _local.active = previous
