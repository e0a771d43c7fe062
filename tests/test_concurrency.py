"""Threads calling a cold function compile it once; background compiles swap in later."""

import threading
import time

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.core.registry import BACKENDS

# Level 1 advises on these loops (once, from whichever thread plans first); compiling
# once under threads is this module's subject, the advice test_vectorize_backend's.
pytestmark = [pytest.mark.numba, pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")]

THREADS = 6


def index_weighted(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * i
    return t


def cubed_sum(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] ** 3
    return t


@pytest.fixture
def prepares(monkeypatch):
    """The real Numba backend's prepare, counted; ``prepares.gate`` holds it back."""
    numba = BACKENDS["numba"]
    real = numba.prepare
    calls = []
    gate = threading.Event()
    gate.set()

    def spy(*args, **kwargs):
        calls.append(threading.current_thread().name)
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "prepare", spy)
    spy.calls, spy.gate = calls, gate
    return spy


def test_threads_on_a_cold_function_compile_once(prepares):
    f = optimize(index_weighted, level=2)
    x = np.arange(50.0)
    barrier = threading.Barrier(THREADS, timeout=30)
    results = []

    def call():
        barrier.wait()
        results.append(f(x))

    threads = [threading.Thread(target=call) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [index_weighted(x)] * THREADS
    assert len(prepares.calls) == 1
    [sig] = f.stats().signatures
    assert (sig.level, sig.calls) == (2, THREADS) and sig.compile_time > 0
    [plan] = f._dispatcher.plans.values()
    fn = plan.prepared.fn
    disp = fn if hasattr(fn, "overloads") else fn.__wrapped__  # level 2's guard
    assert len(disp.overloads) == 1  # the Numba dispatcher: one compiled signature


def test_background_compile_runs_plain_first_then_level_2(prepares):
    optlevel.configure(compile="background")
    f = optimize(cubed_sum, level=2)
    x = np.arange(10.0)
    prepares.gate.clear()  # hold the compile until the first calls are done
    assert f(x) == f(x) == cubed_sum(x)
    assert f.stats().levels == {0: 2}
    assert "compiling for level 2 in the background" in f.stats().signatures[0].note
    prepares.gate.set()
    deadline = time.monotonic() + 10
    while 2 not in {s.level for s in f.stats().signatures}:
        assert time.monotonic() < deadline, "the background compile did not finish"
        time.sleep(0.02)
    assert f(x) == cubed_sum(x)
    assert f.stats().levels == {0: 2, 2: 1}
    assert prepares.calls == [f"optlevel-compile-{f.__qualname__}"]
