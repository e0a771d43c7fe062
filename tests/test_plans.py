"""Plan states: warm-up before compiling in auto mode, verification by default where
cheap, repairs of a result's scalar type, arguments that do not fit, and every
transition under threads."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import ResultMismatchWarning, optimize
from optlevel.core.plan import State
from optlevel.core.warmup import COMPILE_ESTIMATE_S, compile_estimate, record_compile

# Level 1 advises on these loops at every level above 0; plan states are this module's
# subject, the advice test_vectorize_backend's.
pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")


def small_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * 2.0
    return s


def counting(x, calls):
    calls[0] += 1
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def off_by_one(func):
    def run(*args, **kwargs):
        return func(*args, **kwargs) + 1
    return run


def as_python_float(func):
    def run(*args, **kwargs):
        return float(func(*args, **kwargs))
    return run


def slow_prepare(backend, seconds):
    real = backend.prepare

    def prepare(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)
    backend.prepare = prepare


def wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_auto_does_not_compile_a_small_call_first(fake_backend):
    fake = fake_backend(name="numba")  # stands in for Numba, with its pay rule
    fake.compiles = True
    f = optimize(small_loop)
    x = np.arange(10.0)
    for _ in range(20):
        assert f(x) == small_loop(x)
    assert fake.prepared == 0
    assert f.stats().levels == {0: 20}
    (plan,) = f._dispatcher.plans.values()
    assert plan.state is State.WARMUP and "warming up" in plan.note


def test_warm_up_compiles_in_the_background_once_it_pays(fake_backend, monkeypatch):
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 0.001)
    fake = fake_backend(name="numba")
    fake.compiles = True
    f = optimize(small_loop)
    x = np.arange(100.0)
    for _ in range(2000):
        assert f(x) == small_loop(x)
        if fake.prepared:
            break
    assert fake.prepared == 1
    assert wait_for(lambda: f._dispatcher.plans[next(iter(f._dispatcher.plans))].level == 2)
    assert f(x) == small_loop(x)
    assert f.stats().levels[2] >= 1 and f.stats().levels[0] >= 1


def test_explicit_level_compiles_eagerly_even_when_small(fake_backend):
    fake = fake_backend(name="numba")
    fake.compiles = True
    f = optimize(small_loop, level=2)
    x = np.arange(10.0)
    assert f(x) == small_loop(x)
    assert fake.prepared == 1 and f.stats().levels == {2: 1}


def test_compile_estimate_is_the_median_measured_compile():
    assert compile_estimate() == COMPILE_ESTIMATE_S  # the fixture forgot this process's
    for seconds in (0.5, 0.1, 0.2):
        record_compile(seconds)
    assert compile_estimate() == 0.2


def test_verify_is_on_by_default_for_cheap_calls(fake_backend):
    fake_backend(make=off_by_one)
    f = optimize(counting, level=2)
    calls = np.zeros(1, dtype=np.int64)
    x = np.arange(5.0)
    with pytest.warns(ResultMismatchWarning,
                      match=r"the result is .*11\.0.*, plain Python's is .*10\.0"):
        assert f(x, calls) == 10.0
    assert f(x, calls) == 10.0
    assert calls[0] == 2  # the compiled run's write was replaced by the plain run's
    assert f.stats().levels == {0: 2}
    assert "differs" in optlevel.explain(f, x, calls).row("fake").reason


def test_verify_checks_calls_whose_plain_run_would_be_expensive_on_a_smaller_call(
        fake_backend):
    fake_backend(make=off_by_one)
    f = optimize(small_loop, level=2)
    x = np.zeros(3_000_000)  # estimated > 0.05 s of plain Python: a smaller call is checked
    with pytest.warns(ResultMismatchWarning, match="a call of its first"):
        assert f(x) == 0.0  # the plain result: core/sampling.py caught the wrong one
    unchecked = optimize(small_loop, level=2, verify=False)
    assert unchecked(x) == 1.0  # verify=False trusts the plan
    assert unchecked.stats().levels == {2: 1}


def test_verify_never_and_always(fake_backend):
    fake_backend(make=off_by_one)
    optlevel.configure(verify="never")
    x = np.arange(5.0)
    assert optimize(small_loop, level=2)(x) == small_loop(x) + 1
    optlevel.configure(verify="always")
    big = np.zeros(3_000_000)
    with pytest.warns(ResultMismatchWarning):
        assert optimize(small_loop, level=2)(big) == 0.0


def test_a_scalar_type_difference_is_repaired_and_reused_for_other_sizes(fake_backend):
    fake_backend(make=as_python_float)
    f = optimize(small_loop, level=2)
    small, big = np.arange(5.0), np.ones(3_000_000)
    assert type(small_loop(small)) is np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultMismatchWarning)
        assert type(f(small)) is np.float64
        assert type(f(small)) is np.float64
        assert type(f(big)) is np.float64  # not verified: the repair learned above
    assert f.stats().levels == {2: 3}


def test_a_mismatched_exception_type_demotes(fake_backend):
    def raises(func):
        def run(*args):
            raise ValueError("compiled code disagrees")
        return run
    fake_backend(make=raises)
    f = optimize(small_loop, level=2)
    x = np.arange(5.0)
    with pytest.warns(ResultMismatchWarning, match="raised ValueError"):
        assert f(x) == small_loop(x)
    assert f.stats().levels == {0: 1}


def test_same_exception_from_both_propagates_once(fake_backend):
    def bad(x):
        return x[10]
    fake_backend()
    f = optimize(bad, level=2)
    with pytest.raises(IndexError):
        f(np.arange(3.0))


class DoesNotFit(Exception):
    pass


def test_arguments_that_do_not_fit_run_plain_and_keep_the_plan(fake_backend):
    def picky(func):
        def run(x, n):
            if n > 2**62:
                raise DoesNotFit("int too big")
            return func(x, n)
        return run
    backend = fake_backend(make=picky)
    real = backend.prepare

    def prepare(*args, **kwargs):
        prepared = real(*args, **kwargs)
        prepared.unfit_errors = (DoesNotFit,)
        return prepared
    backend.prepare = prepare

    def scaled(x, n):
        return x.sum() * n

    f = optimize(scaled, level=2, verify=False)
    x = np.arange(3.0)
    assert f(x, 2) == 6.0
    with pytest.warns(optlevel.FallbackWarning, match="it ran at level 0.*int too big"):
        assert f(x, 2**70) == scaled(x, 2**70)
    assert f(x, 3) == 9.0
    levels = f.stats().levels
    assert levels == {2: 2, 0: 1}, levels
    assert backend.prepared == 1


def test_eight_threads_through_every_transition(fake_backend, monkeypatch):
    """Warm-up, background compile, swap and verification under 8 threads: one
    build, every result equal."""
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 0.002)
    fake = fake_backend(name="numba")
    fake.compiles = True
    slow_prepare(fake, 0.05)
    f = optimize(small_loop)
    x = np.arange(200.0)
    expected = small_loop(x)
    results, errors = [], []
    start = threading.Barrier(8)

    def worker():
        try:
            start.wait()
            for _ in range(300):
                results.append(f(x))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 2400 and all(r == expected for r in results)
    # the build sleeps 50 ms before it counts: 2400 quick calls may all end first
    assert wait_for(lambda: fake.prepared >= 1)
    time.sleep(0.1)  # room for a second, wrong, build to show
    assert fake.prepared == 1
    assert f.stats().calls == 2400  # every call counted once, at the level it ran
    assert wait_for(lambda: f(x) == expected and f.stats().levels.get(2, 0) > 0)


def first_element_sum(x):
    s = x[0]
    for i in range(1, x.shape[0]):
        s += x[i]
    return s


def test_a_proven_numpy_scalar_result_keeps_its_type_without_verification(fake_backend):
    fake = fake_backend(name="numba", make=as_python_float)
    fake.compiles = True
    f = optimize(first_element_sum, level=2, verify=False)
    x = np.ones(3_000_000, dtype=np.float32)
    result = f(x)
    assert type(result) is np.float32 and result == first_element_sum(x)
