"""Callables of every kind decorate fine: generators, coroutines, lambdas, exec-defined
functions, builtins, methods. Those Numba cannot take run at level 0, and explain says why."""

import asyncio
import inspect
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.core.registry import BACKENDS, requirement_missing

X = np.arange(5.0)


def doubled(x):
    for i in range(len(x)):
        yield x[i] * 2


async def async_total(x):
    t = 0.0
    for i in range(len(x)):
        t += x[i]
        await asyncio.sleep(0)
    return t


def test_generator_runs_at_level_0_and_yields_the_same():
    f = optimize(doubled, level=2)
    with pytest.warns(optlevel.FallbackWarning):
        gen = f(X)
    assert inspect.isgenerator(gen)
    assert list(gen) == list(doubled(X)) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert f.stats().levels == {0: 1}
    assert "generator function" in str(optlevel.explain(f, X))


def test_coroutine_runs_at_level_0_and_returns_the_same():
    f = optimize(async_total, level=2)
    with pytest.warns(optlevel.FallbackWarning):
        coro = f(X)
    assert inspect.iscoroutine(coro)
    assert asyncio.run(coro) == asyncio.run(async_total(X)) == 10.0
    assert f.stats().levels == {0: 1}
    assert "async function" in str(optlevel.explain(f, X))


@pytest.mark.numba
@pytest.mark.parametrize("func, blocker", [(doubled, "generator function"),
                                           (async_total, "async function")])
def test_explain_names_the_numba_blocker(func, blocker):
    row = optlevel.explain(optimize(func, level=2), X).row("numba")
    assert (row.level, row.backend, row.tried, row.kind) == (2, "numba", False, "declined")
    assert blocker in row.reason
    assert row.code == "PL015", row  # a form Numba cannot compile


HAS_NUMBA = requirement_missing(BACKENDS["numba"]) is None


def _exec_defined():
    ns = {}
    exec("def summed(x):\n"
         "    t = 0.0\n"
         "    for v in x:\n"
         "        t += v\n"
         "    return t\n", ns)
    return ns["summed"]


@pytest.mark.parametrize("func, reason", [
    (lambda x: x * 2 + 1, "a lambda"),
    (_exec_defined(), "no source available"),
])
def test_no_source_starts_at_level_0_and_says_why(func, reason):
    # Without source the AST findings are missing, not the compiler: auto measures
    # level 2 against level 0 (a trial), whose first call runs the plain function.
    f = optimize(func)
    report = optlevel.explain(f, X)
    np.testing.assert_array_equal(f(X), func(X))
    assert f.stats().levels.get(0) == 1 and sum(f.stats().levels.values()) == 1
    assert f"source: none — {reason}" in str(report)
    assert not report.to_dict()["features"]["has_source"]
    if HAS_NUMBA:
        row = report.row("numba")
        assert (row.kind, row.tried) == ("trial", True)
        assert "no source" in row.reason and reason in row.reason
        assert row.code == "PL009", row  # measured in a trial: no source is no refusal


@pytest.mark.parametrize("func, args", [(len, ([1, 2, 3],)), (np.sin, (X,)),
                                        (np.add, (X, X)), (max, (3, 7))])
def test_builtins_and_ufuncs_run_at_level_0(func, args):
    f = optimize(func)
    np.testing.assert_array_equal(f(*args), func(*args))
    assert f.stats().levels == {0: 1}
    assert "source: none — not a Python function" in str(optlevel.explain(f, *args))


def _body(x):
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t


class Summer:
    scale = 3.0

    def __init__(self, offset):
        self.offset = offset

    @optimize(level=2)
    def method(self, x):
        """Sum plus the instance's offset."""
        return _body(x) + self.offset

    @optimize(level=2)
    @staticmethod
    def static_outer(x):
        t = 0.0
        for i in range(len(x)):
            t += x[i]
        return t

    @staticmethod
    @optimize(level=2)
    def static_inner(x):
        t = 0.0
        for i in range(len(x)):
            t += x[i]
        return t

    @optimize(level=2)
    @classmethod
    def class_outer(cls, x):
        return cls.scale * x.sum()

    @classmethod
    @optimize(level=2)
    def class_inner(cls, x):
        return cls.scale * x.sum()


class Tripler(Summer):
    scale = 9.0


# level 1 advises on the static methods' loops; the answers are the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_methods_give_the_plain_answers():
    s = Summer(1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.FallbackWarning)  # self, cls: level 0
        assert s.method(X) == Summer.method(s, X) == s.method.py_func(s, X) == 11.5
        for name in ("static_outer", "static_inner"):
            assert getattr(s, name)(X) == getattr(Summer, name)(X) == 10.0
        for name in ("class_outer", "class_inner"):
            assert getattr(s, name)(X) == getattr(Summer, name)(X) == 30.0
            assert getattr(Tripler, name)(X) == getattr(Tripler(0), name)(X) == 90.0


# level 1 advises on the static methods' loops; the level they run at is the subject
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
@pytest.mark.numba
@pytest.mark.parametrize("name", ["static_outer", "static_inner"])
def test_staticmethods_run_at_level_2(ran_at, name):
    assert ran_at(getattr(Summer(0), name), X) == 2
    assert ran_at(getattr(Summer, name), X) == 2


def test_wraps_metadata_is_kept():
    def scaled(x, factor: float = 2.0):
        """Scale x."""
        return x * factor

    f = optimize(scaled, level=2)
    assert f.__name__ == "scaled"
    assert f.__qualname__ == scaled.__qualname__
    assert f.__doc__ == "Scale x."
    assert f.__wrapped__ is scaled and f.py_func is scaled
    assert f.__module__ == __name__
    assert inspect.signature(f) == inspect.signature(scaled)
    assert inspect.signature(Summer(0).method) == inspect.signature(lambda x: None)
    assert Summer.method.__doc__ == "Sum plus the instance's offset."
