"""Who decides the level of a call: the override chain, highest first.

    PYTHONPATH=. python3 examples/override_chain.py

1. ``f(x, optlevel=n)``          keyword in the call
2. ``f.with_level(n)``           a bound variant
3. ``with optlevel.level(n):``   a block (per thread and per asyncio task)
4. ``@optimize(level=n)``        the decorator
5. ``optlevel.set_level(n)``     the global level (or ``OPTLEVEL_LEVEL``)
6. ``"auto"``                    the planner picks, up to ``OPTLEVEL_MAX_LEVEL``

``optlevel.explain`` resolves the chain exactly as a call does, so each line
below prints the level the call would run at.
"""

import importlib.util

import numpy as np

import optlevel
from optlevel import optimize

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
# without Numba, level 2 falls back to level 1, which vectorizes this loop
JIT = 2 if HAVE_NUMBA else 1


@optimize  # level "auto"
def total(x):
    s = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is what this example runs
        s += x[i]
    return s


def realized(f, *args, **kwargs):
    """Call ``f`` (checking its result) and return the level that call ran at."""
    result = f(*args, **kwargs)
    assert result == total.py_func(*args), result
    return optlevel.explain(f, *args, **kwargs).chosen


def main():
    x = np.arange(400_000.0)  # big enough for auto to compile on the first call
    total_at_2 = optimize(level=2)(total.py_func)  # the same function, decorator level 2
    seen = {}
    # This example is about who wins, not about what auto picks on this machine: levels
    # 3 and 4 (whose choice depends on the cores and GPU here) are capped away.
    optlevel.configure(max_level=2)
    auto = JIT
    seen["auto (no override)"] = realized(total, x)
    seen["optlevel=0 keyword"] = realized(total, x, optlevel=0)
    seen["total.with_level(0)"] = realized(total.with_level(0), x)
    with optlevel.level(0):
        seen["with optlevel.level(0):"] = realized(total, x)
        seen["  ... the keyword wins: optlevel=2"] = realized(total, x, optlevel=2)
        seen["  ... with_level wins: with_level(2)"] = realized(total.with_level(2), x)
    optlevel.set_level(0)
    try:
        seen["optlevel.set_level(0)"] = realized(total, x)
        seen["  ... the decorator wins: level=2"] = realized(total_at_2, x)
    finally:
        optlevel.set_level(None)  # back to OPTLEVEL_LEVEL, or "auto"
    seen["after set_level(None)"] = realized(total, x)

    for what, lvl in seen.items():
        print(f"{what:40s} -> level {lvl}")

    optlevel.configure(max_level=None)
    assert list(seen.values()) == [auto, 0, 0, 0, JIT, JIT, 0, JIT, auto], seen


if __name__ == "__main__":
    main()
