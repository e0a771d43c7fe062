"""Falling back: what Numba rejects, helpers and globals, the failure cache, broken backends,
and verify."""

import inspect
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import FallbackWarning, LevelUnavailable, ResultMismatchWarning, optimize
from optlevel.core.registry import BACKENDS

# Level 1 advises on these loops at every level above 0; the fallbacks of level 2 are
# this module's subject, the advice is test_vectorize_backend's.
pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")

X = np.arange(5.0)


def line_of(func, text):
    """The file line number of the first line of ``func`` containing ``text``."""
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


def fallback_messages(caught):
    return [str(w.message) for w in caught if issubclass(w.category, FallbackWarning)]


def prints_in_loop(x):
    t = 0.0
    for i in range(len(x)):
        t += x[i]
        print("partial", t)
    return t


def uses_with(x):
    t = 0.0
    with np.errstate(all="ignore"):
        for i in range(len(x)):
            t += x[i] / 2
    return t


def defines_class(x):
    class Box:
        pass
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t


def late_failure(x):
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t, x.tolist()  # passes the AST pre-check; Numba has no ndarray.tolist


@pytest.mark.numba
@pytest.mark.parametrize("func, text", [(prints_in_loop, "print("),
                                        (uses_with, "with np.errstate"),
                                        (defines_class, "class Box")])
def test_precheck_rejection_names_the_line(func, text):
    f = optimize(func, level=2)
    with pytest.warns(FallbackWarning) as caught:
        assert f(X) == func(X)
    [message] = fallback_messages(caught)
    assert f"line {line_of(func, text)}" in message
    assert f.stats().levels == {0: 1}


@pytest.mark.numba
def test_late_compile_failure_warns_once_and_briefly():
    f = optimize(late_failure, level=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [f(X) for _ in range(3)] + [f(np.arange(300.0))]
    assert all(r == late_failure(x) for r, x in zip(results, [X, X, X, np.arange(300.0)]))
    [message] = fallback_messages(caught)
    assert f"line {line_of(late_failure, 'x.tolist()')}" in message
    assert "tolist" in message
    assert "Failed in" not in message and "nopython" not in message
    assert "\n" not in message and len(message) < 700
    levels = f.stats().levels  # level 1 may vectorize the loop where it pays
    assert 2 not in levels and sum(levels.values()) == 4


@pytest.mark.numba
def test_late_compile_failure_with_strict_raises():
    f = optimize(late_failure, level=2, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        with pytest.raises(LevelUnavailable,
                           match=f"line {line_of(late_failure, 'x.tolist()')}"):
            f(X)


def helper(v):
    return 2.0 * v + 1.0


def printing_helper(v):
    print(v)
    return v


def calls_helper(x):
    t = 0.0
    for i in range(len(x)):
        t += helper(x[i])
    return t


def calls_printing_helper(x):
    t = 0.0
    for i in range(len(x)):
        t += printing_helper(x[i])
    return t


WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def reads_global_array(x):
    t = 0.0
    for i in range(len(x)):
        t += x[i] * WEIGHTS[i]
    return t


@pytest.mark.numba
def test_plain_helper_is_compiled_too():
    f = optimize(calls_helper, level=2, strict=True)
    assert f(X) == calls_helper(X) == 25.0
    assert f.stats().levels == {2: 1}


@pytest.mark.numba
@pytest.mark.parametrize("func, words", [
    (calls_printing_helper, ["helper 'printing_helper'", "print()"]),
    (reads_global_array, ["global array 'WEIGHTS'", "freeze"]),
])
def test_helper_or_global_makes_level_2_decline(func, words):
    optlevel.configure(compile="eager")  # small arrays would warm up in Python first
    f = optimize(func)  # auto: falls back without a warning
    assert f(X) == func(X)
    assert f.stats().levels == {0: 1}
    row = optlevel.explain(f, X).row("numba")
    assert not row.tried
    for word in words:
        assert word in row.reason
    [numba] = [why for _, backend, why in f.stats().signatures[0].fallbacks
               if backend == "numba"]
    assert words[0] in numba


@pytest.fixture
def prepare_calls(monkeypatch):
    """Count calls of the real Numba backend's prepare."""
    numba = BACKENDS["numba"]
    real, calls = numba.prepare, []

    def spy(*args, **kwargs):
        calls.append(args[2])  # the ArgSignature
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "prepare", spy)
    return calls


@pytest.mark.numba
def test_failed_signature_is_not_retried(prepare_calls):
    optlevel.configure(compile="eager")
    f = optimize(late_failure)
    for _ in range(3):
        f(X)
    optlevel.configure(workers=1)  # a settings change drops plans, not failures
    f(X)
    assert len(prepare_calls) == 1
    assert f.stats().levels == {0: 4}
    row = optlevel.explain(f, X).row("numba")
    assert row.reason.startswith("not used: Numba could")
    assert row.code == "PL010", (row.code, row.reason)  # failed while building


def late_failure_too(x):  # its own function: a fresh Numba dispatcher for the test below
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t, x.tolist()


@pytest.mark.numba
def test_failed_types_do_not_compile_again_in_another_size(monkeypatch):
    from numba.core.dispatcher import Dispatcher

    real, compiled = Dispatcher.compile, []

    def spy(self, sig):
        if self.py_func.__name__ == "late_failure_too":  # not level 2's checked ops
            compiled.append(sig)
        return real(self, sig)

    monkeypatch.setattr(Dispatcher, "compile", spy)
    optlevel.configure(compile="eager")
    f = optimize(late_failure_too)
    for n in (3, 30, 300, 3000):  # four size classes, one set of Numba types
        assert f(np.ones(n)) == late_failure_too(np.ones(n))
    assert len(compiled) == 1


def counting_body(x, calls):
    calls[0] += 1
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t


class LateBuildError(Exception):
    """Stands for a compiler error that surfaces only when the prepared code is called."""


def raises_late_build_error(func):
    def fn(*args, **kwargs):
        raise LateBuildError("could not finish building")
    return fn


def test_declining_backend_falls_back(fake_backend):
    fake = fake_backend(decline="the fake cannot serve this")
    f = optimize(counting_body, level=2)
    calls = np.zeros(1, dtype=np.int64)
    with pytest.warns(FallbackWarning, match="the fake cannot serve this"):
        assert f(X, calls) == 10.0
    assert f(X, calls) == 10.0
    assert calls[0] == 2 and fake.prepared == 1
    assert f.stats().levels == {0: 2}
    assert [f for f in f.stats().fallbacks if f[0] == 2] == [(2, "fake",
                                                              "the fake cannot serve this")]


def test_internal_error_at_call_time_recovers(fake_backend):
    fake = fake_backend(make=raises_late_build_error, internal_errors=(LateBuildError,))
    f = optimize(counting_body, level=2)
    calls = np.zeros(1, dtype=np.int64)
    with pytest.warns(FallbackWarning, match="failed when called: LateBuildError"):
        assert f(X, calls) == 10.0
    assert calls[0] == 1  # the plain body ran once: the failed build never ran it
    assert f(X, calls) == 10.0
    assert calls[0] == 2 and fake.prepared == 1
    assert f.stats().levels == {2: 0, 0: 2}
    row = optlevel.explain(f, X, calls).row("fake")
    assert "failed when called: LateBuildError" in row.reason
    assert row.code == "PL011", (row.code, row.reason)  # its built code failed when called


def raises_silently(func):
    def fn(*args, **kwargs):
        raise LateBuildError()  # no message at all
    return fn


def test_an_internal_error_without_a_message_recovers(fake_backend):
    fake_backend(make=raises_silently, internal_errors=(LateBuildError,))
    f = optimize(counting_body, level=2)
    calls = np.zeros(1, dtype=np.int64)
    with pytest.warns(FallbackWarning, match="failed when called: LateBuildError"):
        assert f(X, calls) == 10.0  # recover() once crashed on the empty message
    assert calls[0] == 1 and f.stats().levels == {2: 0, 0: 1}


def test_user_error_of_the_same_type_outside_internal_errors_propagates(fake_backend):
    fake_backend(make=raises_late_build_error)  # LateBuildError is not declared internal
    # verify=False: with verification on, plain Python's answer would win (tested below)
    f = optimize(counting_body, level=2, verify=False)
    with pytest.raises(LateBuildError):
        f(X, np.zeros(1))


def off_by_one(func):
    def fn(*args, **kwargs):
        return func(*args, **kwargs) + 1
    return fn


@pytest.mark.parametrize("how", ["decorator", "configure"])
def test_verify_catches_a_wrong_result(fake_backend, how):
    fake_backend(make=off_by_one)
    if how == "configure":
        optlevel.configure(verify=True)
    f = optimize(counting_body, level=2, verify=True if how == "decorator" else None)
    calls = np.zeros(1, dtype=np.int64)
    with pytest.warns(ResultMismatchWarning, match="level 2 \\(fake\\)"):
        assert f(X, calls) == 10.0  # the plain result
    assert calls[0] == 1  # the plain run's writes are the ones kept
    assert [f(X, calls) for _ in range(2)] == [10.0, 10.0]
    assert calls[0] == 3
    assert f.stats().levels == {0: 3}
    row = optlevel.explain(f, X, calls).row("fake")
    assert row.code == "PL012" and row.kind == "declined", row  # its result differed


def test_verify_passes_a_right_result(fake_backend):
    fake_backend()
    f = optimize(counting_body, level=2, verify=True)
    calls = np.zeros(1, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultMismatchWarning)
        assert f(X, calls) == f(X, calls) == 10.0
    assert f.stats().levels == {2: 2}


def builds_dict(x):
    d = {}
    for i in range(x.shape[0]):
        d[i] = x[i]
    return d


@pytest.mark.numba
def test_a_result_numba_would_return_as_a_typed_dict_stays_a_dict():
    f = optimize(builds_dict, level=2)
    with pytest.warns(FallbackWarning, match="returns a dict"):
        result = f(X)
    assert type(result) is dict and result == builds_dict(X)
    assert f.stats().levels == {0: 1}


@pytest.mark.numba
def test_fallback_warning_names_requested_and_realized_levels():
    f = optimize(prints_in_loop, level=2)
    with pytest.warns(FallbackWarning) as caught:
        f(X)
    [message] = fallback_messages(caught)
    assert "level 2 (jit) was requested; it ran at level 0 (python)" in message
    assert "level=0" in message  # how to silence it
    assert caught[0].filename == __file__  # points at the user's call


def test_a_level_left_because_it_would_not_pay_is_not_blamed_on_another_backend():
    """``level=3`` on 1,000 elements: prange cannot run a function without a loop, and
    threads could but would not pay. Not paying is the planner's choice, as quiet as
    under auto (explain says why), so no warning blames level 3's fallback on prange's
    refusal: before, the call warned that it ran at level 0 "because prange (level 3)
    cannot run it", which a user would read as level 3 being out of reach."""
    from optlevel.bench import workloads as W

    optlevel.configure(executor="threads")
    f = optimize(W.elementwise, level=3, verify=False)
    x = np.random.default_rng(0).random(1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.array_equal(f(x), W.elementwise(x))
    assert not [m for m in fallback_messages(caught) if "level 3" in m.split("because")[1]]
    report = optlevel.explain(f, x)
    assert report.row("threads").kind == "pays"
    assert report.row("prange").kind == "declined"
    assert 3 not in f.stats().levels
