"""First calls made by several threads together (RACE when any thread differs)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import numpy as np

from .harness import Case, Finding, Seen, compare, decorate, observe


def t_loop_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * 2.0
    return s


def t_cond(x, t):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i]
    return s


def t_elementwise(x):
    return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))


def t_fill(out, x):
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i]
    return out


def t_int_count(x):
    c = 0
    for i in range(x.shape[0]):
        if x[i] % 3 == 0:
            c += 1
    return c


@dataclasses.dataclass(frozen=True)
class ThreadCase:
    name: str
    func: Callable
    make: Callable[[], tuple]
    mode: str
    threads: int = 8
    kind: str = "threads"
    rounds: int = 3


def _fresh(func):
    """A new function object with its own code: cold for every cache in the process."""
    import types

    code = func.__code__.replace()
    g = types.FunctionType(code, func.__globals__, func.__name__)
    g.__module__, g.__qualname__ = func.__module__, func.__qualname__
    return g


def run_case(case: ThreadCase) -> list[Finding]:
    import tempfile

    import optlevel

    want = observe(case.func, case.make())
    for _ in range(case.rounds):  # a race shows on some runs only: try a few times
        with tempfile.TemporaryDirectory() as d:
            optlevel.configure(cache_dir=d)  # cold on disk too
            try:
                found = _race(case, want)
            finally:
                optlevel.configure(cache_dir=None)
        if found:
            return found
    return []


def _race(case: ThreadCase, want: Seen) -> list[Finding]:
    fn = decorate(_fresh(case.func), case.mode)
    barrier = threading.Barrier(case.threads)
    seen: list[Seen | None] = [None] * case.threads

    def work(k):
        args = case.make()
        barrier.wait()
        seen[k] = observe(fn, args)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(case.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    found = []
    stub = Case(case.name, case.func, lambda s: (), case.kind, reorder=True)
    for k, s in enumerate(seen):
        diff = ("HANG", "thread did not finish") if s is None else compare(want, s, stub, case.mode)
        if diff:
            found.append(Finding("RACE", case.name, case.mode, "threads", k,
                                 f"thread {k}: {diff[0]} {diff[1]}"))
            break
    return found


_BIG = lambda: (np.arange(200_000.0) % 7,)  # noqa: E731
#: a plain call of 50 ms or more: under auto the first calls start a measured trial
_SLOW = lambda: (np.arange(400_000.0) % 7,)  # noqa: E731
CASES = [
    ThreadCase("threads:loop_sum_auto", t_loop_sum, _SLOW, "auto"),
    ThreadCase("threads:loop_sum_S3", t_loop_sum, _BIG, "S3"),
    ThreadCase("threads:loop_sum_L2", t_loop_sum, _BIG, "L2"),
    ThreadCase("threads:cond_auto", t_cond, lambda: (_SLOW()[0], 3.0), "auto"),
    ThreadCase("threads:cond_S1", t_cond, lambda: (np.arange(50_000.0) % 7, 3.0), "S1"),
    ThreadCase("threads:elementwise_auto", t_elementwise, lambda: (np.linspace(-1, 1, 300_000),), "auto"),
    ThreadCase("threads:fill_S3", t_fill, lambda: (np.zeros(200_000), np.arange(200_000.0)), "S3"),
    ThreadCase("threads:fill_auto", t_fill, lambda: (np.zeros(200_000), np.arange(200_000.0)), "auto"),
    ThreadCase("threads:int_count_L3", t_int_count, lambda: (np.arange(200_000),), "L3"),
    ThreadCase("threads:int_count_small_auto", t_int_count, lambda: (np.arange(10),), "auto"),
]
