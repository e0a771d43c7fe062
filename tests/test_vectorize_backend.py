"""Level 1 as a backend: when it runs, what it tells the user (VectorizationAdvice at
the loop's line, explain, stats), how the planner orders it against level 2, and the
first call's check against plain Python."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.bench.workloads import conditional_accumulate, normalize_loop
from optlevel.core.registry import BACKENDS
from optlevel.errors import ConfigError, ResultMismatchWarning, VectorizationAdvice
from optlevel.levels.vectorize import runtime

N = 20_000


def data(n=N, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


def squares(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


def squares_and_print(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    print("done")
    return s


def log_value(v):
    return v


def squares_and_helper(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return log_value(s)


def loop_line(func):
    import inspect

    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if "for " in line)


@pytest.fixture
def advised():
    """The test's function has a loop level 1 advises about: the test expects that advice
    (what it says is test_advice_points_at_the_loop_once_per_function's subject)."""
    with pytest.warns(VectorizationAdvice):
        yield


@pytest.fixture
def no_warnings():
    """explain only looks at a call: it issues no warning, so the call's own advice
    is still to come."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert not [str(w.message) for w in caught]


def test_explain_leaves_the_advice_to_the_call():
    f = optimize(squares, level=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optlevel.explain(f, data())
    assert not caught
    with pytest.warns(VectorizationAdvice, match="squares"):  # the call's, not used up
        f(data())


def test_level_1_runs_the_rewrite(ran_at, advised):
    f = optimize(conditional_accumulate, level=1)
    x = data()
    assert ran_at(f, x, 0.5) == 1
    result = f(x, 0.5)
    expected = conditional_accumulate(x, 0.5)
    assert type(result) is type(expected) is np.float64
    assert result == pytest.approx(expected, rel=1e-12)  # float64 sums: pairwise
    [s] = f.stats().signatures
    assert (s.level, s.backend) == (1, "vectorize")
    assert f"vectorized the loop at line {loop_line(conditional_accumulate)} (OL103)" in s.note
    assert "first call checked against plain Python" in s.note


def test_normalize_loop_beats_level_2_by_hoisting(ran_at, advised, monkeypatch):
    optlevel.configure(max_level=2)  # levels 3 and 4 aside: this is about 1 against 2
    # a compile priced as cheap: the race starts at once (no warm-up of plain Python)
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 1e-6)
    f = optimize(normalize_loop)
    x = data(2000)
    # level 1's known estimate against level 2's unknown one: measured on the first
    # calls (plain Python times the first), and level 1 keeps it
    levels = [ran_at(f, x) for _ in range(8)]
    assert levels[0] == 0 and levels[-1] == 1, levels
    np.testing.assert_array_equal(f(x), normalize_loop(x))
    row = optlevel.explain(f, x).row("vectorize")
    assert row.cost is not None and "hoisted" in row.reason


def test_without_numba_auto_picks_level_1_for_a_scalar_loop(ran_at, advised, monkeypatch):
    monkeypatch.delitem(BACKENDS, "numba")
    optlevel.configure(max_level=2)
    f = optimize(conditional_accumulate)
    assert ran_at(f, data(), 0.5) == 1


def test_level_2_is_tried_before_the_rewrite_of_a_scalar_loop(no_warnings):
    rows = optlevel.explain(optimize(conditional_accumulate), data(), 0.5).rows
    row = next(r for r in rows if r.backend == "vectorize")
    assert row.tried and row.cost is None  # unknown: the level (2 before 1) decides


def test_small_arrays_do_not_pay(ran_at, advised):
    f = optimize(squares, level=1)
    assert ran_at(f, np.arange(4.0)) == 0
    row = optlevel.explain(f, np.arange(4.0)).row("vectorize")
    assert row.kind == "pays" and "fixed cost" in row.reason
    assert row.code == "PL008", row


def test_advice_points_at_the_loop_once_per_function():
    f = optimize(squares, level=1)
    with pytest.warns(VectorizationAdvice) as caught:
        f(data())
    [w] = [w for w in caught if issubclass(w.category, VectorizationAdvice)]
    assert w.filename == __file__ and w.lineno == loop_line(squares)
    message = str(w.message)
    assert "OL103" in message and "s += np.sum(x * x)" in message
    assert "Level 1 runs this rewrite itself" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", VectorizationAdvice)
        f(data(100))  # another signature: the same finding is not repeated


def test_no_advice_at_level_0():
    f = optimize(squares, level=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", VectorizationAdvice)
        f(data())
        f(data(), optlevel=0)


def test_explain_lists_findings_and_the_rewrite(no_warnings):
    text = str(optlevel.explain(optimize(normalize_loop, level=1), data(100)))
    assert "level 1: line" in text and "OL101" in text and "OL104" in text
    assert "level-1 rewrite" in text and "_ol.need_scalar(x.mean())" in text
    report = optlevel.explain(optimize(normalize_loop, level=1)).to_dict()
    rules = [d["rule"] for d in report["features"]["vectorize"]["diagnostics"]]
    assert rules == ["OL101", "OL104", "OL104"]


def test_a_function_with_io_is_not_rewritten(ran_at, advised, capsys):
    f = optimize(squares_and_print, level=1)
    with pytest.warns(optlevel.FallbackWarning, match="print"):
        assert ran_at(f, data()) == 0
    row = optlevel.explain(f, data()).row("vectorize")
    assert row.kind == "declined" and "print" in row.reason
    assert row.code == "PL016", row  # I/O: its meaning is kept in Python


def test_a_function_calling_a_helper_is_not_rewritten(ran_at, advised):
    f = optimize(squares_and_helper, level=1)
    with pytest.warns(optlevel.FallbackWarning, match="log_value"):
        assert ran_at(f, data()) == 0


def test_a_mismatch_on_the_first_call_keeps_level_0(ran_at, advised, monkeypatch):
    real = runtime.reduce
    monkeypatch.setattr(runtime, "reduce", lambda *a: real(*a) + 1.0)  # a wrong rewrite
    f = optimize(squares, level=1)
    x = data()
    with pytest.warns(ResultMismatchWarning, match="level 1 \\(vectorize\\)"):
        assert ran_at(f, x) == 0
    assert f(x) == squares(x)
    level, backend, reason = f.stats().fallbacks[0]  # the core's first-call check
    assert (level, backend) == (1, "vectorize")
    assert "differs from the plain function's" in reason


def test_the_sum_order_option(advised):
    x = data()
    exact = optimize(squares, level=1, sum_order="loop")(x)
    auto = optimize(squares, level=1)(x)
    pairwise = optimize(squares, level=1, sum_order="pairwise")(x)
    assert exact == auto == squares(x)  # to the bit: the loop's order, by default too
    assert pairwise == pytest.approx(squares(x), rel=1e-12)
    with pytest.raises(ConfigError, match="sum_order"):
        optimize(squares, level=1, sum_order="fast")(x)


@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_a_float64_sum_keeps_the_loops_order_by_default(ran_at):
    """conditional_accumulate over 1M float64: NumPy's pairwise sum differs from the
    loop's in the last bits, and level 1 keeps the loop's unless asked otherwise."""
    x = np.random.default_rng(5).random(200_000)
    plain = conditional_accumulate(x, 0.5)
    default = optimize(conditional_accumulate, level=1)
    pairwise = optimize(conditional_accumulate, level=1, sum_order="pairwise")
    for f in (default, pairwise):
        f(x, 0.5)  # the first call is checked against the plain function
        assert ran_at(f, x, 0.5) == 1
    assert default(x, 0.5) == plain
    assert pairwise(x, 0.5) != plain  # the order shows: the default's equality is earned
    assert pairwise(x, 0.5) == pytest.approx(plain, rel=1e-12)


def test_strict_level_1(advised):
    f = optimize(squares, level=1, strict=True)
    assert f(np.arange(4.0)) == 14.0  # strict runs it even where it does not pay
    assert f.stats().levels == {1: 1}
    g = optimize(np.sum, level=1, strict=True)
    with pytest.raises(optlevel.LevelUnavailable, match="nothing to vectorize"):
        g(np.arange(4.0))


def test_torch_arguments_are_declined(no_warnings):
    torch = pytest.importorskip("torch")
    row = optlevel.explain(optimize(squares, level=1), torch.ones(5)).row("vectorize")
    assert row.kind == "declined" and "torch" in row.reason
    assert row.code == "PL007", row


TOTALS = np.zeros(N)


def adds_into_a_global(x):
    for i in range(x.shape[0]):
        TOTALS[i] += x[i]
    return TOTALS


def test_a_function_writing_module_state_is_not_rewritten(ran_at, advised):
    f = optimize(adds_into_a_global, level=1)
    x = data()
    with pytest.warns(optlevel.FallbackWarning, match="TOTALS"):
        assert ran_at(f, x) == 0
    np.testing.assert_array_equal(TOTALS, x)  # added once: the call ran once


class Scaler:
    def __init__(self, offset):
        self.offset = offset

    @optimize(level=1, verify=False)  # level 1's first calls are checked all the same
    def total(self, x, b=1.5, *, c=0.5):
        s = 0.0
        for i in range(len(x)):
            s += x[i] * b + c
        return s + self.offset


def make_scaled(scale):
    @optimize(level=1)
    def scaled(x):
        out = np.empty_like(x)
        for i in range(len(x)):
            out[i] = x[i] * scale
        return out

    return scaled


def test_methods_defaults_and_closures(ran_at, advised):
    scaler, x = Scaler(2.0), data()
    assert ran_at(scaler.total, x) == 1
    assert scaler.total(x) == pytest.approx(Scaler.total.py_func(scaler, x), rel=1e-12)
    assert scaler.total(x, b=2.0, c=1.0) == pytest.approx(
        Scaler.total.py_func(scaler, x, b=2.0, c=1.0), rel=1e-12)
    scaled = make_scaled(3.0)
    assert ran_at(scaled, x) == 1
    np.testing.assert_array_equal(scaled(x), x * 3.0)


def test_a_vectorized_loop_inside_another_loop_is_measured(ran_at, advised):
    from optlevel.bench.workloads import rowwise_python_matmul

    f = optimize(rowwise_python_matmul, level=1)
    rng = np.random.default_rng(0)
    a, b = rng.random((96, 96)), rng.random((96, 96))
    row = optlevel.explain(f, a, b).row("vectorize")
    assert row.kind == "trial" and "inside another loop" in row.reason
    assert row.code == "PL009", row
    levels = [ran_at(f, a, b) for _ in range(3)]
    assert levels[0] == 0 and levels[1] == 1  # plain timed, then level 1 timed
    np.testing.assert_allclose(f(a, b), rowwise_python_matmul(a, b), rtol=1e-12)


def test_calibration_builds_its_reference_rewrite_once():
    """Two of level 1's measures time the same rewrite of a reference loop: it is
    analysed and compiled once per process, and gives the reference's values."""
    from optlevel.levels.vectorize import costs

    optlevel.reset("vectorize.reference_rewrite")
    first = costs._reference_rewrite()
    assert costs._reference_rewrite() is first
    x = np.linspace(0.0, 1.0, 101)
    assert first(x, 0.5) == pytest.approx(costs._reference(x, 0.5))
    for key in ("vectorize.vector_ns", "vectorize.overhead_s"):
        assert costs.MEASURES[key](True) > 0
    assert costs._reference_rewrite() is first
