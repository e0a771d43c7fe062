"""Scouting: in auto mode the first calls of a function with no Python-level loop run
plain Python, timed, before anything is planned; planning starts once the key has
spent ten planning costs in Python. Also explain's measured column."""

from __future__ import annotations

import time

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze
from optlevel.core import scout
from optlevel.core.plan import State
from optlevel.core.scout import SCOUT_FACTOR, TRIAL_CALLS, loop_free

X = np.arange(50.0)


def scaled(x):
    return x * 2.0


def slow_scaled(x):
    time.sleep(0.002)
    return x * 2.0


def with_loop(x):
    s = 0.0
    for v in x:
        s += v
    return s


def with_while(n):
    while n > 0:
        n -= 1
    return n


def with_comprehension(x):
    return [v * 2 for v in x]


def with_generator_expression(x):
    return sum(v for v in x)


def with_nested_loop(x):
    def inner():
        for v in x:
            print(v)
    return x


@pytest.mark.parametrize("func, free", [
    (scaled, True), (slow_scaled, True), (with_loop, False), (with_while, False),
    (with_comprehension, False), (with_generator_expression, False),
    (with_nested_loop, False),
])
def test_loop_free_reads_every_kind_of_loop(func, free):
    assert loop_free(analyze(func)) is free


def test_a_loop_free_function_runs_plain_and_asks_no_backend(fake_backend):
    fake = fake_backend(level=1)
    f = optimize(scaled)
    for _ in range(5):
        np.testing.assert_array_equal(f(X), scaled(X))
    (plan,) = f._dispatcher.plans.values()
    assert plan.state is State.SCOUTING and plan.level == 0 and plan.calls == 5
    assert fake.prepared == 0  # nothing was planned, so nothing was built
    assert "scouting" in f.stats().signatures[0].note


def test_a_scout_that_spent_the_budget_plans_the_next_call(fake_backend, monkeypatch):
    monkeypatch.setattr(scout, "LONG_CALL_PLANNINGS", 10**9)  # no call counts as long
    # planning (1 ms) and a trial (TRIAL_CALLS calls) must cost at most a tenth of
    # the time spent: calls of 2 ms run plain until more than SCOUT_FACTOR *
    # TRIAL_CALLS of them have run (35 here), then the scout hands the key back
    fake = fake_backend(level=1)
    f = optimize(slow_scaled)
    f(X)
    calls = 1
    while f._dispatcher.plans:  # the scout's plan, until it hands the key back
        f(X)
        calls += 1
        assert calls < 100
    assert fake.prepared == 0
    assert SCOUT_FACTOR * TRIAL_CALLS < calls <= 2 * SCOUT_FACTOR * TRIAL_CALLS
    np.testing.assert_array_equal(f(X), scaled(X))  # this call plans: the fake serves
    assert fake.prepared == 1
    levels = sorted(p.level for p in f._dispatcher.all_plans())
    assert levels == [0, 1]  # the scout (retired) and the fake's plan


def test_a_long_call_is_planned_from_the_second_call(fake_backend, monkeypatch):
    """A call long next to planning (20 planning costs: 20 ms when planning takes 1 ms)
    is not scouted 31 times: a 1.6 s GPU-sized call would run plain for 50 s."""
    monkeypatch.setattr(scout, "LONG_CALL_PLANNINGS", 0)  # every call counts as long
    fake = fake_backend(level=1)
    f = optimize(slow_scaled)
    f(X)
    assert not f._dispatcher.plans  # the scout handed the key back after one call
    np.testing.assert_array_equal(f(X), scaled(X))
    assert fake.prepared == 1


@pytest.mark.parametrize("how", ["explicit", "loop"])
def test_no_scout_for_an_explicit_level_or_a_function_with_loops(fake_backend, how):
    fake = fake_backend(level=1)
    f = optimize(scaled, level=1) if how == "explicit" else optimize(with_loop)
    f(X)
    assert fake.prepared == 1
    assert all(p.state is not State.SCOUTING for p in f._dispatcher.plans.values())


def test_explain_shows_measured_times_and_the_plain_prediction():
    f = optimize(scaled)
    before = optlevel.explain(f, X)
    assert before.measured_by_backend == {}
    assert before.plain_estimate is not None and before.plain_estimate > 0
    for _ in range(3):
        f(X)
    report = optlevel.explain(f, X)
    assert set(report.measured_by_backend) == {"python"}
    assert report.measured_by_backend["python"] > 0
    line = next(ln for ln in str(report).splitlines() if ln.strip().startswith("0 "))
    assert "unknown" not in line and "-" not in line.split()[4]
    assert report.to_dict()["measured_by_backend"]["python"] > 0
