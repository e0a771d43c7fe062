"""What checking a call too large to verify in full costs on the GPU (issue 17, item 2).

Run on the GPU machine: ``PYTHONPATH=. python3 benchmarks/gpu_trust.py [--json PATH]``.

For each function, in one process, ``--repeat`` times in turn (a fresh decorated
function each time, so every first call plans and checks again):

- ``unchecked``: the first call of ``optimize(f, level=4, verify=False)``;
- ``checked``: the first call of ``optimize(f, level=4)`` (``OPTLEVEL_VERIFY=auto``:
  too large to check whole, so plain NumPy runs on some of its rows, or on a
  smaller call, before the result is returned);
- ``steady``: the median of five later calls of the checked function.

The check's cost is ``checked - unchecked`` (both first calls build the same plan;
CuPy's compiled kernels are cached after the first repetition, which the first
repetition's numbers show), and its share is that over ``steady``. Every result is
compared with NumPy's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import types
from typing import Any

import numpy as np
from gpu_peers import black_scholes, softmax  # the same functions as the peers' figures

import optlevel
from optlevel.core.verify import compare


def _fresh(func: Any) -> Any:
    """A new function object with the same code: a decorated copy plans from scratch."""
    return types.FunctionType(func.__code__, func.__globals__, func.__name__,
                              func.__defaults__, func.__closure__)


def _first(func: Any, args: tuple, **options: Any) -> tuple[float, Any, Any]:
    fast = optlevel.optimize(_fresh(func), level=4, **options)
    start = time.perf_counter()
    result = fast(*args)
    return time.perf_counter() - start, result, fast


def measure(name: str, func: Any, args: tuple, repeat: int) -> dict[str, Any]:
    want = func(*args)
    rows = []
    for _ in range(repeat):
        unchecked, r1, _ = _first(func, args, verify=False)
        checked, r2, fast = _first(func, args)
        steady = []
        for _ in range(5):
            start = time.perf_counter()
            fast(*args)
            steady.append(time.perf_counter() - start)
        rows.append((unchecked, checked, statistics.median(steady)))
        assert compare(r1, want) is None and compare(r2, want) is None, name
    stats = fast.stats().signatures[0]
    out = {"function": name, "backend": stats.backend, "level": stats.level,
           "repeats": [{"unchecked_first_ms": u * 1e3, "checked_first_ms": c * 1e3,
                        "steady_ms": s * 1e3, "check_share_of_steady": (c - u) / s}
                       for u, c, s in rows]}
    later = rows[1:] or rows
    out["check_share_of_steady_median"] = statistics.median((c - u) / s for u, c, s in later)
    out["steady_ms_median"] = statistics.median(s for _, _, s in later) * 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--repeat", type=int, default=4)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 10_000_000
    cases = [
        ("Black-Scholes 10M float64", black_scholes,
         (rng.uniform(10, 100, n), rng.uniform(10, 100, n), rng.uniform(0.1, 2.0, n),
          0.05, 0.2)),
        ("softmax rows 20000x1000", softmax, (rng.standard_normal((20_000, 1000)),)),
    ]
    rows = []
    for name, func, args in cases:
        row = measure(name, func, args, options.repeat)
        rows.append(row)
        print(f"{name:30s} ran on {row['backend']}: steady {row['steady_ms_median']:.2f} ms, "
              f"check {100 * row['check_share_of_steady_median']:.1f}% of a call "
              f"(median of repetitions 2-{options.repeat})", flush=True)
    if options.json:
        with open(options.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
