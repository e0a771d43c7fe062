"""What a decorated call adds when the caches are cold: the time over the plain
function of a bare Python wrapper, optlevel's compiled call path (``_fastcall.c``)
and its Python path, each called once right after 64 MB of NumPy work has streamed
through the caches, and once warm; the cold call again with another decorated
function called just before it (which warms the extension's code, not this
function's objects); then ``np.dot`` on vectors of 1K to 3M floats called back to
back, where each call is such a streaming call.

    PYTHONPATH=. python benchmarks/cold_dispatch.py [--repeat 300]

Medians over the repeats, in µs, all in one process with the four callers
interleaved. Written for the ``dot`` 1M gap of issue 13 (auto at 0.93-0.95 of plain
on 16 cores, 13.4 against 14.1-14.4 µs): the decorated call's own work is the same at
every size, but after a call that streamed its arrays it reads its objects and runs
its code from memory, not from the caches.
"""

from __future__ import annotations

import argparse
import statistics
from time import perf_counter

import numpy as np

import optlevel


def ident(x, y):
    return x


def dot(x, y):
    return np.dot(x, y)


def _callers(func):
    def wrapper(x, y):
        return func(x, y)
    compiled = optlevel.optimize(func, level=0)
    return {"plain": func, "bare wrapper": wrapper, "optlevel, C path": compiled,
            "optlevel, Python path": compiled._python_call}


#: 64 MB: adding to it in place streams the caches out
BIG = np.zeros(8_000_000)


def _timed(f, x, y, cold: bool, before=None) -> float:
    """One call of ``f``, after 64 MB of NumPy work where ``cold``, and after
    ``before()`` where given."""
    if cold:
        np.add(BIG, 1.0, out=BIG)
    if before is not None:
        before()
    start = perf_counter()
    f(x, y)
    return perf_counter() - start


def cold_calls(repeat: int) -> None:
    x = y = np.arange(10.0)
    callers = _callers(ident)
    times: dict[str, dict[str, list[float]]] = {k: {"warm": [], "cold": []} for k in callers}
    for _ in range(repeat):
        for name, f in callers.items():
            f(x, y)
            times[name]["warm"].append(_timed(f, x, y, False))
            times[name]["cold"].append(_timed(f, x, y, True))
    med = {k: {c: statistics.median(v) * 1e6 for c, v in d.items()} for k, d in times.items()}
    print("a call of `return x`, warm and right after 64 MB of NumPy work (µs):")
    for name, m in med.items():
        print(f"  {name:22s} warm {m['warm']:6.2f}  cold {m['cold']:6.2f}   over plain: "
              f"warm {m['warm'] - med['plain']['warm']:+6.2f}, "
              f"cold {m['cold'] - med['plain']['cold']:+6.2f}")


def warmed_code(repeat: int) -> None:
    """The cold call again, with another decorated function called first: its own
    arrays and plan, the same extension code and shared objects."""
    x = y = np.arange(10.0)
    z = np.arange(5.0)

    def other(x, y):
        return y

    mine, theirs = optlevel.optimize(ident, level=0), optlevel.optimize(other, level=0)
    for _ in range(1000):
        mine(x, y)
        theirs(z, z)
    times: dict[str, list[float]] = {"plain": [], "C path": [], "C path, code warmed": []}
    for _ in range(repeat):
        times["plain"].append(_timed(ident, x, y, True))
        times["C path"].append(_timed(mine, x, y, True))
        times["C path, code warmed"].append(_timed(mine, x, y, True, lambda: theirs(z, z)))
    print("the same cold call, with another decorated function called just before (µs):")
    print("  " + "  ".join(f"{k} {statistics.median(v) * 1e6:.2f}" for k, v in times.items()))


def dot_calls(repeat: int) -> None:
    print("np.dot(x, y) back to back, µs a call over plain:")
    for n in (1_000, 100_000, 1_000_000, 3_000_000):
        rng = np.random.default_rng(0)
        x, y = rng.random(n), rng.random(n)
        callers = _callers(dot)
        number = 20 if n >= 1_000_000 else 500
        for f in callers.values():
            for _ in range(number):
                f(x, y)
        times: dict[str, list[float]] = {k: [] for k in callers}
        order = list(callers.items())
        for rep in range(max(8, repeat // 10)):
            turn = order[rep % len(order):] + order[:rep % len(order)]  # each first in turn
            for name, f in turn:
                start = perf_counter()
                for _ in range(number):
                    f(x, y)
                times[name].append((perf_counter() - start) / number)
        med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
        print(f"  n={n:>9,}  plain {med['plain']:8.2f}  " + "  ".join(
            f"{name} {med[name] - med['plain']:+5.2f}" for name in callers if name != "plain"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    opts = parser.parse_args()
    cold_calls(opts.repeat)
    warmed_code(opts.repeat)
    dot_calls(opts.repeat)


if __name__ == "__main__":
    main()
