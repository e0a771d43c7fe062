"""A trial whose entrants both compile pays one compile up front, in auto mode: the
second (prange's beside Numba's) waits until the first one's measured calls say it
can pay back (at once when ten calls would, else by ski rental), then races."""

from __future__ import annotations

import time

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.contract import Estimate, Pays
from optlevel.core.plan import State
from optlevel.core.registry import BACKENDS

pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")


def total(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def summed(seconds):
    """A compiled stand-in: the same sum as one NumPy call, after ``seconds``."""
    def make(func):
        def run(x):
            if seconds:
                time.sleep(seconds)
            return float(np.sum(x))
        return run
    return make


@pytest.fixture
def racers(fake_backend, monkeypatch):
    """Level 2 (unknown cost) and level 3 (a known, low cost), both compiling: the
    planner doubts its order and races them."""
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 0.03)
    monkeypatch.delitem(BACKENDS, "vectorize")

    def make(jit_seconds, par_seconds=0.0, jit_decline=None):
        jit = fake_backend(name="jit", level=2, cost=None, make=summed(jit_seconds),
                           decline=jit_decline)
        par = fake_backend(name="par", level=3, cost=1e-6, make=summed(par_seconds))
        jit.compiles = par.compiles = True
        return jit, par
    return make


def _plan(f):
    (plan,) = f._dispatcher.plans.values()
    return plan


def _run_until(f, x, done, limit=2000):
    for n in range(1, limit + 1):
        assert f(x) == pytest.approx(total(x))
        if done():
            return n
    raise AssertionError("never happened")


def test_the_second_compile_waits_for_its_payback_then_races(racers):
    jit, par = racers(0.001)
    f = optimize(total)
    x = np.arange(20_000.0)
    _run_until(f, x, lambda: jit.prepared)  # warm-up, then level 2 built
    assert par.prepared == 0  # only the lower level compiled up front
    plan = _plan(f)  # no trial: level 2 pays by its estimate, the doubt was par's
    assert (plan.backend, plan.origin) == ("jit", "planned")
    _run_until(f, x, lambda: _plan(f).state is State.READY)
    assert "level 3 (par) is measured against it" in plan.note
    assert not f._dispatcher.decided  # provisional: not remembered, not stored
    assert not f.stats().settled  # its steady state is not reached (optlevel bench waits)
    # ski rental: par builds once the key has spent a compile's worth (0.03 s) in jit
    spent = _run_until(f, x, lambda: par.prepared)
    assert spent >= 10 and plan.time >= 0.02
    assert not f.stats().settled  # a trial between jit and par
    _run_until(f, x, lambda: _plan(f).state is State.READY and _plan(f).backend == "par")
    assert _plan(f).origin == "trial"
    assert f._dispatcher.decided  # now decided for good
    assert f.stats().settled and f.stats().to_dict()["settled"] is True
    assert "measured slower than level 3 (par)" in optlevel.explain(f, x).row("jit").reason


def test_a_level_2_in_doubt_races_plain_python_while_the_second_compile_waits(racers):
    # 0.2 ms a call against plain Python's 1.4 ms: with 1 ms, a sleep that overshot on a
    # loaded machine lost the trial to plain Python once
    jit, par = racers(0.0002)
    jit.estimate = lambda *a: Estimate(Pays.TRIAL, "measured first", None)
    f = optimize(total)
    x = np.arange(20_000.0)
    _run_until(f, x, lambda: jit.prepared)
    assert par.prepared == 0 and _plan(f).state is not State.READY  # a trial: jit, plain
    _run_until(f, x, lambda: _plan(f).state is State.READY)
    plan = _plan(f)
    assert (plan.backend, plan.origin) == ("jit", "trial")
    assert "level 3 (par) is measured against it" in plan.note
    assert not f._dispatcher.decided
    _run_until(f, x, lambda: par.prepared)
    _run_until(f, x, lambda: _plan(f).state is State.READY and _plan(f).backend == "par")


def test_a_winner_whose_calls_would_pay_back_races_on_the_next_call(racers):
    jit, par = racers(0.01)  # 10 ms a call: ten calls outweigh a 0.03 s compile
    f = optimize(total)
    x = np.arange(200_000.0)  # plain Python: about 20 ms, so jit wins its trial
    _run_until(f, x, lambda: jit.prepared)
    assert par.prepared == 0
    n = _run_until(f, x, lambda: par.prepared)
    assert n <= 6  # the trial's samples, then the next call plans and builds par
    _run_until(f, x, lambda: _plan(f).state is State.READY and _plan(f).backend == "par")


def test_a_first_entrant_that_declines_leaves_the_second_to_build_at_once(racers):
    jit, par = racers(0.001, jit_decline="cannot compile this")
    f = optimize(total)
    x = np.arange(20_000.0)
    _run_until(f, x, lambda: jit.prepared)
    assert par.prepared == 1  # the same call: nothing else to race
    _run_until(f, x, lambda: _plan(f).state is State.READY)
    assert _plan(f).backend == "par"


def test_an_explicit_ceiling_builds_every_entrant_at_once(racers):
    jit, par = racers(0.001)
    f = optimize(total, level=3)
    x = np.arange(20_000.0)
    f(x)
    assert (jit.prepared, par.prepared) == (1, 1)


def _levels_1_and_2_only(monkeypatch):
    for name, backend in list(BACKENDS.items()):
        if backend.level >= 3:
            monkeypatch.delitem(BACKENDS, name)


def test_a_warm_up_races_what_needs_no_compile_while_the_compile_waits(fake_backend,
                                                                       monkeypatch):
    # The compile cannot pay back yet (a 5 s estimate against ~2 ms calls): instead of
    # plain Python alone, the first calls race the entrant that builds without one
    # (level 1 here), and the compile waits for its payback against that winner.
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 5.0)
    _levels_1_and_2_only(monkeypatch)
    fast = fake_backend(name="rewrite", level=1, cost=None, make=summed(0))
    jit = fake_backend(name="jit", level=2, cost=None, make=summed(0))
    jit.estimate = lambda *a: Estimate(Pays.TRIAL, "measured first", None)
    fast.compiles, jit.compiles = False, True
    f = optimize(total)
    x = np.arange(20_000.0)
    n = _run_until(f, x, lambda: _plan(f).state is State.READY, limit=50)
    plan = _plan(f)
    assert (plan.backend, plan.origin) == ("rewrite", "trial") and n <= 6
    assert jit.prepared == 0  # no compile paid
    assert "level 2 (jit) is measured against it" in plan.note
    assert not f._dispatcher.decided  # provisional until the compile has raced


def test_a_warm_up_whose_uncompiled_entrant_declines_keeps_waiting_in_python(fake_backend,
                                                                            monkeypatch):
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 5.0)
    _levels_1_and_2_only(monkeypatch)
    fast = fake_backend(name="rewrite", level=1, cost=None, make=summed(0),
                        decline="not this loop")
    jit = fake_backend(name="jit", level=2, cost=None, make=summed(0))
    jit.estimate = lambda *a: Estimate(Pays.TRIAL, "measured first", None)
    fast.compiles, jit.compiles = False, True
    f = optimize(total)
    x = np.arange(20_000.0)
    _run_until(f, x, lambda: _plan(f).state is State.READY, limit=50)
    plan = _plan(f)
    assert plan.backend == "python" and jit.prepared == 0  # the compile still waits
    assert "level 2 (jit) is measured against it" in plan.note
