"""Helpers are compiled with the function; a global array declines level 2.

    PYTHONPATH=. python3 examples/helpers.py

Numba cannot call a plain Python function from compiled code, so optlevel
compiles each helper the function calls (plain or itself decorated with
``@optimize``) with the same settings. Helpers that cannot be compiled, and
global arrays (which Numba would freeze at compile time), make level 2 decline
with the line that caused it; the function then runs at level 0.
"""

import importlib.util
import math
import warnings

import numpy as np

import optlevel
from optlevel import optimize

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
JIT = 2 if HAVE_NUMBA else 0


def huber(r, delta):  # a plain helper: compiled along with its caller
    a = abs(r)
    return 0.5 * r * r if a <= delta else delta * (a - 0.5 * delta)


@optimize
def soft_sign(v):  # a decorated helper: its plain function is compiled too
    return v / (1.0 + math.fabs(v))


@optimize
def huber_loss(pred, target, delta):
    total = 0.0
    for i in range(pred.shape[0]):
        total += huber(pred[i] - target[i], delta) + 0.0 * soft_sign(pred[i])
    return total


N = 400_000  # big enough that auto compiles on the first call (smaller calls warm up)
WEIGHTS = np.linspace(0.5, 1.5, N)  # a global array


@optimize
def weighted_total(x):
    s = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is what this example runs
        s += x[i] * WEIGHTS[i]
    return s


def main():
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal(N), rng.standard_normal(N)

    loss = huber_loss(pred, target, 1.0)
    report = optlevel.explain(huber_loss, pred, target, 1.0)
    print(f"huber_loss -> level {report.chosen}: {report.chosen_reason}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.FallbackWarning)
        weighted = weighted_total(pred)
    fallbacks = weighted_total.stats().fallbacks
    print(f"weighted_total -> level {optlevel.explain(weighted_total, pred).chosen}: "
          f"{fallbacks[0][2] if fallbacks else '-'}")

    assert math.isclose(loss, huber_loss.py_func(pred, target, 1.0), rel_tol=1e-12)
    # level 1 sums float64 terms pairwise: equal within rounding, not to the bit
    assert math.isclose(weighted, weighted_total.py_func(pred), rel_tol=1e-12)
    assert report.chosen == JIT
    assert 2 not in weighted_total.stats().levels  # level 1 may vectorize it; Numba may not


if __name__ == "__main__":
    main()
