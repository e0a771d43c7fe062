"""The cyclic collector pauses around a Numba compile (optlevel.core.collector) and
comes back as it was found; a level-3 worker sets a piece's inputs aside from it."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from optlevel import optimize
from optlevel.core import collector


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after(collector_on):
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("the block's own error")
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off(collector_on):
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def _running_total(x):
    out = np.empty_like(x)
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
        out[i] = s
    return out


def _scaled(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * 0.5 + 1.0
    return out


@pytest.mark.parametrize("level, func", [(2, _running_total), (3, _scaled)],
                         ids=["numba", "prange"])
def test_no_collection_runs_while_numba_compiles(level, func, collector_on, monkeypatch):
    from numba.core.dispatcher import Dispatcher

    inside = {"now": False, "during": 0, "outside": 0}
    compile_ = Dispatcher.compile

    def watched(self, sig):
        inside["now"] = True
        try:
            return compile_(self, sig)
        finally:
            inside["now"] = False

    def seen(phase, info):
        if phase == "start":
            inside["during" if inside["now"] else "outside"] += 1

    monkeypatch.setattr(Dispatcher, "compile", watched)
    thresholds = gc.get_threshold()
    gc.set_threshold(50, 2, 2)  # a collection every few allocations: the compile would
    gc.callbacks.append(seen)   # set off thousands of them
    try:
        x = np.random.default_rng(level).random(20_000)
        f = optimize(func, level=level, strict=True)
        got = f(x)
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*thresholds)
    np.testing.assert_array_equal(got, func(x))
    assert f.stats().levels == {level: 1}
    assert inside["outside"] > 0  # the watch sees collections: the 0 below means something
    assert inside["during"] == 0
    assert gc.isenabled()


class _Node:
    pass


def test_set_aside_freezes_what_exists_and_collects_a_cycle_made_inside(collector_on):
    import weakref

    before = [[float(k)] * 4 for k in range(100)]  # a piece's inputs, say
    with collector.set_aside() as aside:
        assert aside and gc.get_freeze_count() > 0
        node = _Node()
        node.self = node  # a cycle the block leaves behind
        gone = weakref.ref(node)
        del node
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    assert gone() is None  # found at the block's end, as a young collection would
    assert before[5] == [5.0] * 4


def test_set_aside_leaves_someone_elses_freeze_and_an_off_collector_alone(collector_on):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector.set_aside() as aside:
            assert not aside
        assert gc.get_freeze_count() == frozen  # their frozen objects stay frozen
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        with collector.set_aside() as aside:
            assert not aside and gc.get_freeze_count() == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
