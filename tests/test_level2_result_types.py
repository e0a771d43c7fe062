"""Level 2 returns plain Python's result type where that type depends on the path a
call takes: ``total = 0`` then ``total += x[i]`` under an ``if`` is the int 0 when no
element passes and an ``np.float64`` otherwise, where compiled code returns a float
either way. A check used to learn one repair from a first call and force it on every
later call (``np.float64(0.0)`` for the int 0, or a Python float for a NumPy one)."""

import copy
import math

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze
from optlevel.analysis.signature import describe_args
from optlevel.levels.numba.returns import starting_values

# level 1 advises on these loops (and the advice is right); the types are the subject
pytestmark = [pytest.mark.numba,
              pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")]


def sum_above(x, t):
    total = 0
    for i in range(x.shape[0]):
        if x[i] > t:
            total += x[i]
    return total


def running_max(x):
    m = 0.0
    for i in range(len(x)):
        m = max(m, x[i])
    return m


def best_value(x):
    best = -math.inf
    for i in range(len(x)):
        if x[i] > best:
            best = x[i]
    return best


def doubled_sum_above(x, t):
    total = 0
    for i in range(x.shape[0]):
        x[i] = x[i] * 2.0
        if x[i] > t:
            total += x[i]
    return total


def counts(x):
    c = 0
    for i in range(len(x)):
        if x[i] > 0:
            c += 1
    return c


X = np.random.default_rng(0).standard_normal(20_000)


def same(got, expected):
    return type(got) is type(expected) and (got == expected or got != got and expected != expected)


@pytest.mark.parametrize("func, calls", [
    (sum_above, [(X, 0.5), (X, 100.0), (X, 0.5), (X, 100.0)]),
    (sum_above, [(X, 100.0), (X, 0.5), (X, 100.0), (X, 0.5)]),  # the start value first
    (running_max, [(np.abs(X) + 1,), (-np.abs(X) - 1,), (np.abs(X) + 1,)]),
    (running_max, [(-np.abs(X) - 1,), (np.abs(X) + 1,), (-np.abs(X) - 1,)]),
    (best_value, [(X,), (np.full(100, -np.inf),), (X,)]),
    (doubled_sum_above, [(X, 0.5), (X, 1e9), (X, 0.5)]),
])
def test_the_result_type_follows_the_path_each_call_took(func, calls):
    f = optimize(func, level=2)
    for args in calls:
        plain_args, opt_args = copy.deepcopy(args), copy.deepcopy(args)
        expected, got = func(*plain_args), f(*opt_args)
        assert same(got, expected), (func.__name__, got, expected)
        for a, b in zip(opt_args, plain_args):  # written arrays: once, not twice
            np.testing.assert_array_equal(a, b)
    assert 2 in f.stats().levels  # the calls not at a start value stayed compiled


def test_only_returns_of_starting_constants_and_numpy_values_are_read_so():
    def found(func, *args):
        features = analyze(func)
        return starting_values(func, features, describe_args(args, {}, features.params))

    assert found(sum_above, X, 0.5) == ((0,), np.float64)
    assert found(running_max, X) == ((0.0,), np.float64)
    assert found(best_value, X) == ((-math.inf,), np.float64)
    assert found(counts, X) is None  # an int either way


def counts_or_takes(a):
    r = 0
    for i in range(a.shape[0]):
        if a[i] > 5:
            r = a[i]
        else:
            r = r + 1
    return r


def total_and_count(a):
    t = 0
    c = 0
    for i in range(a.shape[0]):
        if a[i] > 0:
            t += a[i]
            c += 1
    return (t, c)


@pytest.mark.parametrize("func, warm, other", [
    (counts_or_takes, np.arange(2000, dtype=np.int64), np.zeros(2000, np.int64)),
    (total_and_count, np.arange(2000.0), np.zeros(2000)),
])
def test_a_type_the_values_cannot_tell_is_not_compiled(func, warm, other):
    """``r = r + 1`` beside ``r = a[i]``: the int 2000 or an ``np.int64(2000)``; a
    tuple's parts are not repaired one by one. Level 2 declines (SEM027) rather than
    return one type for both paths."""
    f = optimize(func, level=2)
    with pytest.warns(optlevel.FallbackWarning, match=r"depends on the branches.*SEM027"):
        assert repr(f(warm)) == repr(func(warm))
    for x in (warm, other):
        assert repr(f(x)) == repr(func(x))
    assert 2 not in f.stats().levels
    row = optlevel.explain(f, other).row("numba")
    assert row.code == "SEM027" and "depends on the branches" in row.reason
