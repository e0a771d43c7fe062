"""A fallback and its warning: ``print`` inside a loop asked to run at level 2.

    PYTHONPATH=. python3 examples/fallback_warning.py

Numba cannot compile ``print`` (and I/O must keep its meaning anyway), so level 2
declines and the function runs at level 0. Because ``level=2`` was asked for
explicitly, optlevel says so once with a ``FallbackWarning`` that points at the
calling line; with ``level="auto"`` the same decision is silent (and logged at
DEBUG). ``f.stats()`` and ``optlevel.explain`` keep the reason.
"""

import warnings

import numpy as np

import optlevel
from optlevel import optimize


@optimize(level=2)
def noisy_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i == 0:
            print("  (noisy_sum starts)")
        s += x[i]
    return s


def main():
    x = np.arange(1000.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = noisy_sum(x)
        second = noisy_sum(x)  # the warning is issued once per function and reason
    fallbacks = [w for w in caught if issubclass(w.category, optlevel.FallbackWarning)]
    for w in fallbacks:
        print(f"{w.category.__name__} at line {w.lineno}: {w.message}")
    print()
    print(noisy_sum.stats())

    # Silencing: every optlevel warning derives from OptlevelWarning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=optlevel.FallbackWarning)
        quiet = optimize(level=2)(noisy_sum.py_func)(x)  # would raise if it warned

    expected = noisy_sum.py_func(x)
    assert first == second == quiet == expected
    assert len(fallbacks) == 1
    assert noisy_sum.stats().levels == {0: 2}


if __name__ == "__main__":
    main()
