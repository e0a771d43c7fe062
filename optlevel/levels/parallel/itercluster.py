"""An iteration split's pieces on a cluster (``OPTLEVEL_EXECUTOR`` dask or ray): the
same pieces, starts and merge as on the local pool (:class:`.iterrun.LoopRunner`),
sent as the cluster's tasks. ``runner`` is the :class:`.iterrun.LoopRunner`."""

from __future__ import annotations

from typing import Any

from .iterworker import run_loop_piece

__all__ = ["on_dask", "on_ray"]


def on_dask(runner: Any, kind: str, args: tuple, env: dict, descs: list[tuple],
            own: list[dict], sent: tuple) -> tuple:
    """The pieces as Dask tasks: the shared values scattered once to every worker."""
    func_blob, token, env_blob = sent
    client = runner.client()
    sends = [{**runner.starts(env, k), **own[k]} for k in range(len(descs))]
    try:
        shared = client.scatter(env_blob, broadcast=True, hash=False)
        k = len(descs)  # one message for every piece (a submit each: 2 ms apiece)
        futures = client.map(run_loop_piece, [func_blob] * k, [runner.code_blob] * k,
                             [token] * k, [shared] * k, sends, descs, [runner.spec] * k,
                             pure=False)
    except OSError as exc:
        return runner._lost(kind, args, env, exc)
    try:
        results = client.gather(futures)
    except OSError as exc:  # the cluster went away (CommClosedError, ...)
        return runner._lost(kind, args, env, exc)
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    except Exception as exc:  # the user's error: the plain loop raises it, as written
        runner.last = runner.raised(exc, "the loop ran again here, serially")
        return runner.serial(kind, args, env)
    return runner.finish(kind, args, env, (env_blob, sends[0], descs[0]), results,
                         f"{len(descs)} pieces on dask")

def on_ray(runner: Any, kind: str, args: tuple, env: dict, descs: list[tuple],
            own: list[dict], sent: tuple) -> tuple:
    """The pieces as Ray tasks: the shared values put in the object store once."""
    import ray
    from ray.exceptions import RayError, RayTaskError

    from .remote import ray_task

    func_blob, token, env_blob = sent
    task = ray_task(ray, run_loop_piece)
    sends = [{**runner.starts(env, k), **own[k]} for k in range(len(descs))]
    try:
        shared = ray.put(env_blob)
        refs = [task.remote(func_blob, runner.code_blob, token, shared, sends[k], desc,
                            runner.spec) for k, desc in enumerate(descs)]
        results = ray.get(refs)
    except RayTaskError as exc:  # the user's error: the plain loop raises it
        runner.last = runner.raised(exc, "the loop ran again here, serially")
        return runner.serial(kind, args, env)
    except (OSError, RayError) as exc:  # the cluster went away, a worker died
        return runner._lost(kind, args, env, exc, "ray")
    return runner.finish(kind, args, env, (env_blob, sends[0], descs[0]), results,
                         f"{len(descs)} pieces on ray")
