"""Level 3, dask: pieces of a call on a Dask cluster (``OPTLEVEL_EXECUTOR=dask`` or
``dask://host:port``, or ``optlevel.configure(executor=client)``). Arrays are
scattered once; an unreachable scheduler means local execution, with a warning.
The cluster code (:mod:`.cluster`: multiprocessing, shared memory, about 4 ms to
import) is imported only once dask is the executor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...contract import YES, BackendBase, Code, Decline, Estimate, Pays, Prepared, Verdict
from . import runtime
from .chunks import SplitOption, parse_hint
from .iterplan import (
    first_call_check,
    iteration_cluster_estimate,
    iteration_prepare,
    iteration_verdict,
)
from .verdicts import chunk_verdict


class DaskBackend(SplitOption, BackendBase):
    name = "dask"
    level = 3
    requires: tuple[str, ...] = ("distributed",)
    install_hint = "pip install 'optlevel[dask]'"
    uses_processes = True
    holds_resources = True

    def selected(self, settings: Any) -> Verdict:
        """Only when OPTLEVEL_EXECUTOR (or configure(executor=...)) chooses dask."""
        why = runtime.excluded(settings, "dask")
        return Verdict(False, why, code=Code.CONFIGURED) if why else YES

    def availability_key(self, settings: Any) -> Any:
        kind, target = runtime.executor_kind(settings)
        return (kind, target if isinstance(target, str) else id(target))

    def available(self, settings: Any) -> Verdict:
        from .cluster import unreachable

        kind, target = runtime.executor_kind(settings)
        if kind != "dask":
            return YES  # applies() already said no; nothing to connect to
        from .remote import dask_client

        try:
            client = dask_client(target, runtime.worker_count(settings))
        except (OSError, TimeoutError) as exc:
            return unreachable("dask", target, exc)
        if client.status != "running":
            return unreachable("dask", target, RuntimeError(f"client is {client.status}"))
        return YES

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        from .cluster import cluster_applies

        rows = cluster_applies("dask", features, signature, settings)
        if rows or rows.code != Code.DECLINED or features.split.iterations is None:
            return rows
        return iteration_verdict(features)  # a loop's iterations, in pieces on the cluster

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        from .cluster import cluster_estimate

        if features.split.iterations is not None and not chunk_verdict(features, signature):
            why = runtime.excluded(settings, "dask")
            if why or runtime.inside_worker():
                return Estimate(Pays.NO, why or runtime.INSIDE_WORKER)
            return iteration_cluster_estimate(
                "dask", features, signature,
                float(profile.measure("dask.task_s", lambda: _round_trip(_client(settings)))),
                max(1, sum(_client(settings).nthreads().values())))
        return cluster_estimate("dask", features, signature, settings, profile,
                                lambda: _round_trip(_client(settings)),
                                lambda: max(1, sum(_client(settings).nthreads().values())))

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        from .cluster import cluster_prepare
        from .remote import run_dask

        if parse_hint(features) is None and features.split.iterations is not None and \
                not chunk_verdict(features, signature):
            why = runtime.excluded(settings, "dask")
            if why:
                raise Decline(why, warn=False, code=Code.CONFIGURED)
            return iteration_prepare(func, features, runtime.worker_count(settings),
                                     lambda: _client(settings),
                                     verify=first_call_check(features, settings, args, kwargs))

        def run(call: Any) -> list[Any]:
            client = _client(settings)
            return run_dask(client, call, 2 * max(1, sum(client.nthreads().values())))

        return cluster_prepare("dask", func, features, settings, args, kwargs or {}, run)

    def close(self) -> None:
        from .remote import close_remote

        close_remote()


def _client(settings: Any) -> Any:
    from .remote import dask_client

    _, target = runtime.executor_kind(settings)
    return dask_client(target, runtime.worker_count(settings))


def _round_trip(client: Any) -> float:
    from ...core.timing import median_seconds

    return median_seconds(lambda: client.submit(int, pure=False).result(), 5)
