"""The first calls of a variant, as a user's new process pays them.

:func:`measure` starts ``python -m optlevel.bench.first_calls`` in a fresh
interpreter whose ``OPTLEVEL_CACHE_DIR`` is a new, empty folder: no compiled
code, no stored plan. Only the machine profile (``profile.json``, what
``optlevel calibrate`` measures once per machine) is copied in, so the figure
is a function's first calls on a calibrated machine, not a calibration. The
child imports optlevel, builds the inputs, then times each call on its own,
the first one with whatever it compiles, imports or plans, until ``n`` calls or
``budget`` seconds; it prints the times as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

__all__ = ["measure", "main"]

#: Seconds a fresh process may take beyond its budget (imports, inputs, one compile).
_GRACE = 180.0


def _fresh_cache() -> str:
    from ..config import settings

    folder = tempfile.mkdtemp(prefix="optlevel-first-calls-")
    profile = Path(settings().cache_dir) / "profile.json"
    if profile.is_file():
        shutil.copy(profile, folder)
    return folder


def measure(workload: str, size: int, requested: str, n: int, budget: float,
            strict: bool = False) -> tuple[tuple[float, ...], str]:
    """Seconds of each of the first ``n`` calls in a fresh process, and an error.

    ``requested`` is ``"plain"``, a level or ``"auto"``. The calls stop early once
    they have taken ``budget`` seconds (the first call always completes). On a
    failure the times are empty and the error says why.
    """
    root = str(Path(__file__).resolve().parents[2])
    cache = _fresh_cache()
    env = {**os.environ, "OPTLEVEL_CACHE_DIR": cache,
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                         if p)}
    command = [sys.executable, "-m", "optlevel.bench.first_calls", workload, str(size),
               requested, str(n), repr(budget), *(["--strict"] if strict else [])]
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=budget * 2 + _GRACE)
    except subprocess.TimeoutExpired:
        return (), f"the fresh process took over {budget * 2 + _GRACE:.0f} s"
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return (), f"the fresh process failed (exit {proc.returncode}): {tail}"
    return tuple(data.get("times", ())), data.get("error", "")


def _variant(func, requested: str, strict: bool):
    if requested == "plain":
        return func
    from ..api import optimize

    level = requested if requested == "auto" else int(requested)
    return optimize(func, level=level, strict=strict)


def _calls(fn, args: Sequence, n: int, budget: float) -> list[float]:
    times: list[float] = []
    while len(times) < n and sum(times) < budget:
        start = perf_counter()
        fn(*args)
        times.append(perf_counter() - start)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    """The child: ``WORKLOAD SIZE REQUESTED N BUDGET [--strict]``; JSON on stdout."""
    from ..errors import OptlevelWarning
    from . import allocator, workloads

    argv = list(sys.argv[1:] if argv is None else argv)
    strict = "--strict" in argv
    name, size, requested, n, budget = [a for a in argv if a != "--strict"]
    warnings.simplefilter("ignore", OptlevelWarning)  # the parent reports fallbacks
    allocator.steady()  # as in the parent: every variant's process the same allocator
    workload = workloads.get(name)
    args = workload.build(int(size))
    try:
        times = _calls(_variant(workload.func, requested, strict), args, int(n),
                       float(budget))
        out: dict = {"times": times}
    except Exception as exc:  # noqa: BLE001 - reported as the row's first_error
        out = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
