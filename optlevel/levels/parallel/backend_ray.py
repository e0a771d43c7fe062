"""Level 3, ray: pieces of a call as Ray tasks (``OPTLEVEL_EXECUTOR=ray`` joins a
running Ray or starts a local one; ``ray://host:port`` connects to a cluster).
Arrays go to the object store once (``ray.put``). Where no split of the arrays holds,
a proven loop's iterations run in pieces as Ray tasks (:mod:`.iterrun`), as on Dask.
The cluster code (:mod:`.cluster`) is imported only once ray is the executor."""

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


class RayBackend(SplitOption, BackendBase):
    name = "ray"
    level = 3
    requires: tuple[str, ...] = ("ray",)
    install_hint = "pip install 'optlevel[ray]'"
    uses_processes = True
    holds_resources = True

    def selected(self, settings: Any) -> Verdict:
        """Only when OPTLEVEL_EXECUTOR (or configure(executor=...)) chooses ray."""
        why = runtime.excluded(settings, "ray")
        return Verdict(False, why, code=Code.CONFIGURED) if why else YES

    def availability_key(self, settings: Any) -> Any:
        return runtime.executor_kind(settings)

    def available(self, settings: Any) -> Verdict:
        from .cluster import unreachable

        kind, target = runtime.executor_kind(settings)
        if kind != "ray":
            return YES
        from .remote import ray_ready

        try:
            ray_ready(target, runtime.worker_count(settings))
        # ConnectionError is an OSError; ValueError: Ray Client is not installed (a
        # ray:// address needs `ray[client]`)
        except (OSError, RuntimeError, TimeoutError, ValueError) as exc:
            return unreachable("ray", target, exc)
        return YES

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        from .cluster import cluster_applies

        rows = cluster_applies("ray", features, signature, settings)
        if rows or rows.code != Code.DECLINED or features.split.iterations is None:
            return rows
        return iteration_verdict(features)  # a loop's iterations, in pieces on the cluster

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        from .cluster import cluster_estimate

        if _loop_pieces(features, signature):
            why = runtime.excluded(settings, "ray")
            if why or runtime.inside_worker():
                return Estimate(Pays.NO, why or runtime.INSIDE_WORKER)
            return iteration_cluster_estimate(
                "ray", features, signature, float(profile.measure("ray.task_s", _round_trip)),
                _cpus(settings))
        return cluster_estimate("ray", features, signature, settings, profile, _round_trip,
                                lambda: _cpus(settings))

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        from .cluster import cluster_prepare
        from .remote import ray_ready, run_ray

        if _loop_pieces(features, signature):
            why = runtime.excluded(settings, "ray")
            if why:
                raise Decline(why, warn=False, code=Code.CONFIGURED)
            ray_ready(runtime.executor_kind(settings)[1], runtime.worker_count(settings))
            return iteration_prepare(func, features, _cpus(settings), ray=True,
                                     verify=first_call_check(features, settings, args, kwargs))
        return cluster_prepare("ray", func, features, settings, args, kwargs or {},
                               lambda call: run_ray(call, 2 * _cpus(settings)))

    def close(self) -> None:
        from .remote import close_remote

        close_remote()


def _loop_pieces(features: FunctionFeatures, signature: ArgSignature) -> bool:
    """The proven loop's iterations go to Ray (no split of the arrays holds)."""
    return parse_hint(features) is None and features.split.iterations is not None \
        and not chunk_verdict(features, signature)


def _cpus(settings: Any) -> int:
    import ray

    try:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    except (RuntimeError, ValueError):  # not initialized yet
        return runtime.worker_count(settings)


def _round_trip() -> float:
    import ray

    from ...core.timing import median_seconds
    from .remote import ray_task
    from .worker import remote_items

    task = ray_task(ray, remote_items)
    return median_seconds(lambda: ray.get(task.remote(len, [((),)])), 5)
