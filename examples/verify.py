"""``verify=True``: check a compiled plan's first result against the plain function.

    PYTHONPATH=. python3 examples/verify.py

The first call of each new plan also runs the plain function on copies of the
arguments and compares (values within floating-point tolerance, dtype kind,
shape, in-place writes). On a mismatch optlevel issues a
``ResultMismatchWarning``, returns the plain result, and runs that signature at
level 0 from then on. ``OPTLEVEL_VERIFY=1`` turns it on everywhere.

The float32 case shown here is a real semantic difference: under NumPy 2's
promotion rules (NEP 50) ``s = 0.0; s += x[i]`` accumulates in float32 when
``x`` is float32, while Numba types ``s`` as float64. The catalogue of such
differences (docs/levels/jit.md, entry SEM009) finds it before anything is
compiled, so level 2 declines it with that reason and verification has nothing
left to catch.
"""

import importlib.util
import warnings

import numpy as np

import optlevel
from optlevel import optimize

HAVE_NUMBA = importlib.util.find_spec("numba") is not None


@optimize(verify=True)
def scale_in_place(x, factor):
    for i in range(x.shape[0]):  # noqa: OL101 - the loop is what this example runs
        x[i] *= factor


@optimize(verify=True)
def running_total(x):
    s = 0.0
    for i in range(x.shape[0]):  # noqa: OL103 - the loop is what this example runs
        s += x[i]
    return s


def main():
    x = np.arange(100_000.0)
    y = x.copy()
    scale_in_place(y, 3.0)  # verified: the in-place writes match too
    print(f"scale_in_place -> level {optlevel.explain(scale_in_place, y, 3.0).chosen}")

    x32 = np.full(1_000_000, 0.1, dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        total = running_total(x32)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")
    report = optlevel.explain(running_total, x32)
    print(f"running_total(float32) -> level {report.chosen}")
    if HAVE_NUMBA:
        print(f"  level 2: {report.row('numba').reason}")
    print(f"  plain float32 accumulation gives {running_total.py_func(x32):.2f}; "
          f"a float64 accumulator would give {x32.astype(np.float64).sum():.2f}")

    np.testing.assert_array_equal(y, x * 3.0)
    assert total == running_total.py_func(x32)
    mismatches = [w for w in caught if issubclass(w.category, optlevel.ResultMismatchWarning)]
    assert not mismatches  # declined before compiling: nothing to catch
    assert 2 not in running_total.stats().levels


if __name__ == "__main__":
    main()
