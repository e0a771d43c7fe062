"""Running pieces beyond this machine: a Dask cluster or Ray, used as they are.

Each array is shipped once: every piece's rows are scattered (``client.scatter``
/ ``ray.put``) to the worker that will run it, and an argument every piece needs
whole is broadcast once per call, never once per task. Results come back with
``gather`` / ``ray.get`` and are joined like local ones.

Clients are found, not guessed: ``configure(executor=client)`` passes one;
``dask://host:port`` connects to that scheduler once it answered a probe within
:data:`CONNECT_TIMEOUT_S` (:func:`dask_answers`: a refused port, or one that
accepts and never answers, means local execution with one warning, about a
second later, and no client left behind to complain at exit); plain ``dask`` uses the
default client if there is one, else starts a ``LocalCluster`` of worker
processes that :func:`close_remote` shuts down. ``ray`` joins a running Ray or
starts a local one; ``ray://host:port`` connects to that cluster.

What optlevel connects or starts belongs to its runtime owner: the first client,
cluster or Ray session registers :func:`close_remote` with
:meth:`~optlevel.core.runtime.Runtime.closer`, so
:func:`optlevel.core.runtime.shutdown` (and the exit hook) closes them. A user's
own client is used, never closed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ...core.runtime import RUNTIME
from . import ship, worker
from .chunks import SplitCall, bounds, take
from .runtime import is_dask_client

__all__ = ["dask_client", "dask_answers", "run_dask", "ray_ready", "run_ray", "close_remote",
           "CONNECT_TIMEOUT_S", "map_dask", "map_ray", "ray_task", "PieceRaised"]

class PieceRaised(Exception):
    """A piece raised the user's error on the cluster: the caller runs the plain call
    itself, so the exception (its type, message and traceback) is plain Python's."""


#: How long to wait for a Dask scheduler or a Ray cluster before running locally.
CONNECT_TIMEOUT_S = 1.0
#: Whole arrays at least this large are broadcast once instead of sent with each task.
_BROADCAST_BYTES = 1 << 16


class _Connections:
    """The clients found by address, and what optlevel itself started (clusters,
    clients, a local Ray): closed by :func:`close_remote`, not forgotten by a reset
    (a reset must not leave a cluster running that nothing would close)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clients: dict[str, Any] = {}  # address ("" for the default) → Client
        self.owned: list[Any] = []  # clusters and clients we started
        self.ray_started = False

    def own(self, *objs: Any) -> None:
        """Keep ``objs`` to close at shutdown (called under :attr:`lock`)."""
        self.owned.extend(objs)
        _closed_at_shutdown()


_CONNECTIONS = _Connections()


def _closed_at_shutdown() -> None:
    """Register :func:`close_remote` with the runtime owner (once: the name is the key),
    when optlevel first starts something rather than at import."""
    RUNTIME.closer("parallel.remote", close_remote)


def dask_client(target: Any, workers: int) -> Any:
    """The Dask client for ``target`` (a Client, an address, or None for the default)."""
    if is_dask_client(target):
        return target
    from distributed import Client

    state = _CONNECTIONS
    with state.lock:
        key = target or ""
        client = state.clients.get(key)
        if client is not None and client.status == "running":
            return client
        if target:
            dask_answers(target, CONNECT_TIMEOUT_S)
            client = Client(target, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            state.own(client)
        else:
            client = _default_or_local(Client, workers)
        state.clients[key] = client
        return client


def dask_answers(address: str, timeout: float) -> None:
    """Return once the Dask scheduler at ``address`` answered an ``identity`` request;
    raise ``TimeoutError`` or ``OSError`` after about ``timeout`` seconds otherwise.

    ``distributed.Client(address, timeout=...)`` bounds the TCP connect only: a port
    that accepts and never answers holds it forever, and a failed client leaves
    threads that complain at exit. The probe runs in a thread of its own with its
    own event loop (the caller may be inside one, as in Jupyter) and leaves nothing
    behind: the thread ends when the probe's deadline does.
    """
    import asyncio

    from distributed.core import rpc

    async def probe() -> None:
        async def ask() -> None:
            async with rpc(address, timeout=timeout) as scheduler:
                await scheduler.identity()
        try:
            await asyncio.wait_for(ask(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer from {address} within {timeout:g} s") from None

    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(probe())
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="optlevel-dask-probe", daemon=True)
    thread.start()
    thread.join(2 * timeout + 1.0)
    if thread.is_alive():
        raise TimeoutError(f"no answer from {address} within {timeout:g} s")
    if failure:
        exc = failure[0]
        if isinstance(exc, (OSError, TimeoutError)):
            raise exc
        raise OSError(f"{type(exc).__name__}: {exc}") from None


def _default_or_local(client_cls: Any, workers: int) -> Any:
    from distributed import LocalCluster, default_client

    try:
        return default_client()
    except ValueError:  # no client yet: start one, owned (and closed) by optlevel
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = client_cls(cluster, set_as_default=False)
        _CONNECTIONS.own(client, cluster)
        return client


def _pieces(call: SplitCall, pieces: int) -> list[dict[str, Any]]:
    return [{name: take(call.arguments[name], axis, lo, hi) for name, axis in call.split.items()}
            for lo, hi in bounds(call.n, pieces)]


def run_dask(client: Any, call: SplitCall, pieces: int) -> list[Any]:
    """Run ``call``'s pieces on the Dask cluster; the pieces' results in order."""
    whole = {}
    for name, value in call.arguments.items():
        if name in call.split:
            continue
        big = getattr(value, "nbytes", 0) >= _BROADCAST_BYTES
        whole[name] = client.scatter(value, broadcast=True, hash=False) if big else value
    scattered = client.scatter([tuple(p.values()) for p in _pieces(call, pieces)], hash=False)
    names = tuple(call.split) + tuple(whole)
    current = ship.current_globals(call.func)
    futures = [client.submit(worker.remote_piece, call.func, call.positional, names, part,
                             *whole.values(), current=current, pure=False)
               for part in scattered]
    try:
        return client.gather(futures)
    except OSError:  # the cluster went away (CommClosedError, ...): the caller's fallback
        client.cancel(futures)
        raise
    except Exception as exc:  # the user's error: the plain call meets it in the caller
        client.cancel(futures)
        raise PieceRaised(exc) from exc
    except BaseException:
        client.cancel(futures)
        raise


def ray_ready(target: str | None, workers: int) -> Any:
    """Ray, initialized: joined when running, else started (locally, or at ``target``)."""
    import ray

    state = _CONNECTIONS
    with state.lock:
        if not ray.is_initialized():
            if target:
                _tcp_answers(target, CONNECT_TIMEOUT_S)
                ray.init(address=target, ignore_reinit_error=True, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         ignore_reinit_error=True)
                state.ray_started = True
                _closed_at_shutdown()
    return ray


def _tcp_answers(target: str, timeout: float) -> None:
    """Raise ``OSError`` within ``timeout`` when nothing listens at ``ray://host:port``
    (Ray Client retries a refused port for many seconds before it gives up)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    if parts.hostname is None or parts.port is None:
        return  # not host:port: Ray reads it
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
        pass


#: Ray remote functions, made once per worker function (by name).
_ray_tasks = RUNTIME.cache("parallel.remote.ray_tasks", maxsize=16)


def ray_task(ray: Any, fn: Callable[..., Any]) -> Any:
    """``ray.remote(fn)``, made once per function of :mod:`.worker` (by name)."""
    return _ray_tasks.get_or_make(fn.__name__, lambda: ray.remote(fn))


def run_ray(call: SplitCall, pieces: int) -> list[Any]:
    """Run ``call``'s pieces as Ray tasks; the pieces' results in order."""
    import ray
    from ray.exceptions import RayError, RayTaskError

    task = ray_task(ray, worker.remote_piece)
    func = ray.put(call.func)
    whole = {name: ray.put(value) if getattr(value, "nbytes", 0) >= _BROADCAST_BYTES else value
             for name, value in call.arguments.items() if name not in call.split}
    names = tuple(call.split) + tuple(whole)
    current = ship.current_globals(call.func)
    refs = [task.remote(func, call.positional, names, ray.put(tuple(p.values())),
                        *whole.values(), current=current) for p in _pieces(call, pieces)]
    try:
        return ray.get(refs)
    except RayTaskError as exc:  # the user's error
        # The other pieces finish rather than being cancelled: Ray 2.60 aborts the
        # driver's process when a force-cancelled task's reply is already on its way
        # ("Tried to complete task that was not pending", seen in CI).
        ray.wait(refs, num_returns=len(refs))
        raise PieceRaised(exc) from exc
    except RayError as exc:  # a worker or the cluster died
        ray.wait(refs, num_returns=len(refs))
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
    except BaseException:  # Ctrl-C: stop what has not run (without force, as above)
        for ref in refs:
            ray.cancel(ref)
        raise


def map_dask(client: Any, func: Callable[..., Any], chunks: list[list[tuple]]) -> Any:
    """``f.map`` on Dask: one task per chunk of items; futures in order."""
    current = ship.current_globals(func)
    return [client.submit(worker.remote_items, func, chunk, current=current, pure=False)
            for chunk in chunks]


def map_ray(func: Callable[..., Any], chunks: list[list[tuple]]) -> list[Any]:
    import ray

    task = ray_task(ray, worker.remote_items)
    ref = ray.put(func)
    current = ship.current_globals(func)
    return [task.remote(ref, chunk, current=current) for chunk in chunks]


def close_remote() -> None:
    """Close the clients and clusters optlevel started (not the user's own), and the
    local Ray it started; registered with the runtime owner's shutdown."""
    state = _CONNECTIONS
    with state.lock:
        owned, state.owned = state.owned, []
        state.clients.clear()
        ray_started, state.ray_started = state.ray_started, False
    for obj in owned:
        try:
            obj.close()
        except Exception:  # closing at exit: one failure must not stop the others
            pass
    if ray_started:
        import ray

        ray.shutdown()
