"""``strict=True``: run exactly the level asked for, or raise ``LevelUnavailable``.

    PYTHONPATH=. python3 examples/strict_mode.py

Without ``strict`` a level is a ceiling and optlevel falls back; with it, a level
that cannot serve the call is an error, which is what tests and benchmarks want.
Strict mode also skips the planner's "does it pay" check: ``level=2,
strict=True`` compiles even vectorized NumPy.
"""

import importlib.util
import warnings

import numpy as np

import optlevel
from optlevel import optimize

HAVE_NUMBA = importlib.util.find_spec("numba") is not None


@optimize(level=2, strict=True)
def logged_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i == 0:
            print("logged_sum starts")  # Numba cannot compile print()
        s += x[i]
    return s


@optimize(level=2, strict=True)
def square_sum(x):
    s = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is what this example runs
        s += x[i] * x[i]
    return s


@optimize(level=4, strict=True)
def on_gpu(x):
    return np.sin(x)


def expect_unavailable(f, *args):
    try:
        f(*args)
    except optlevel.LevelUnavailable as exc:
        print(f"LevelUnavailable: {exc}\n")
        return True
    return False


def main():
    x = np.arange(5.0)
    warnings.simplefilter("ignore", optlevel.FallbackWarning)  # the error says it all

    assert expect_unavailable(logged_sum, x)
    assert expect_unavailable(on_gpu, x)  # level 4 is not built yet

    if HAVE_NUMBA:
        result = square_sum(x)
        print(f"square_sum ran at level {optlevel.explain(square_sum, x).chosen}")
        assert result == square_sum.py_func(x)
        assert square_sum.stats().levels == {2: 1}
    else:  # without Numba level 2 cannot run at all
        assert expect_unavailable(square_sum, x)

    # A strict function asked for level 0 runs exactly level 0, which always works.
    assert logged_sum.with_level(0)(np.arange(2.0)) == logged_sum.py_func(np.arange(2.0))


if __name__ == "__main__":
    main()
