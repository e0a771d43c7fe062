"""A first call too large to check in full is checked on part of it (core/sampling.py).

The verification budget is lowered for these tests (the calls stay small); the
backends are the test's fake level-2 backend running a deliberately wrong kernel
where the test says so.
"""

from __future__ import annotations

import numpy as np
import pytest

import optlevel
from optlevel.analysis import analyze
from optlevel.core import sampling, verification
from optlevel.errors import ResultMismatchWarning


@pytest.fixture
def small_budget(monkeypatch):
    """Plain Python's budget for a full check: 1 µs, so every call here is too large."""
    monkeypatch.setattr(verification, "VERIFY_BUDGET_S", 1e-6)


def rowwise(x, y):
    return np.sin(x) * y + 1.0


def priced(x, r):
    return x * np.exp(-r) + r


def cumulative(x):
    return np.cumsum(x) * 2.0


def matmul(a, b):
    return a @ b


def from_scalars(n, a):
    return np.full(n, a) * 2.0


def off_by_a_little(func):
    """The kind of wrong kernel issue 17 found: every value off by 1e-6 relative."""
    def wrong(*args, **kwargs):
        return func(*args, **kwargs) * (1 + 1e-6)
    return wrong


def off_in_one_row(row):
    def make(func):
        def wrong(*args, **kwargs):
            out = func(*args, **kwargs).copy()
            out[row] += 1.0
            return out
        return wrong
    return make


def backends_of(f):
    return {s.backend for s in f.stats().signatures}


def test_a_wrong_kernel_is_caught_on_rows_before_its_result_returns(small_budget, fake_backend):
    fake_backend(make=off_by_a_little)
    x, y = np.linspace(0, 1, 20_000), np.linspace(1, 2, 20_000)
    f = optlevel.optimize(rowwise, level=2)
    with pytest.warns(ResultMismatchWarning, match="part of its rows"):
        out = f(x, y)
    assert np.array_equal(out, rowwise(x, y))
    assert np.array_equal(f(x, y), rowwise(x, y))  # demoted: plain from now on
    assert "python" in backends_of(f)


def test_a_wrong_last_row_is_caught(small_budget, fake_backend):
    fake_backend(make=off_in_one_row(-1))
    x, y = np.ones((3000, 4)), np.ones((3000, 4))
    f = optlevel.optimize(rowwise, level=2)
    with pytest.warns(ResultMismatchWarning):
        out = f(x, y)
    assert np.array_equal(out, rowwise(x, y))


def test_a_right_kernel_is_kept_and_returns_its_own_result(small_budget, fake_backend):
    fake_backend()
    x, y = np.linspace(0, 1, 20_000), np.linspace(1, 2, 20_000)
    f = optlevel.optimize(rowwise, level=2)
    assert np.array_equal(f(x, y), rowwise(x, y))
    assert backends_of(f) == {"fake"}


def test_without_a_row_proof_a_smaller_call_is_checked_first(small_budget, fake_backend):
    fake_backend(make=off_by_a_little)
    x = np.linspace(0, 1, 20_000)
    assert analyze(cumulative).split.kind != "rows"
    f = optlevel.optimize(cumulative, level=2)
    with pytest.warns(ResultMismatchWarning, match="a call of its first"):
        out = f(x)
    assert np.array_equal(out, cumulative(x))


def test_a_matrix_product_is_checked_on_rows_of_one_side(small_budget, fake_backend):
    """Cutting both square matrices makes plain Python raise; the first rows of ``a``
    with ``b`` whole is a smaller call of the same kind (on the H100 the plan of
    ``a @ b`` waited for a smaller call forever, and every call ran plain NumPy)."""
    rng = np.random.default_rng(3)
    a, b = rng.random((300, 300)), rng.random((300, 300))
    fake_backend(make=off_by_a_little)
    f = optlevel.optimize(matmul, level=2)
    with pytest.warns(ResultMismatchWarning, match="a call of its first"):
        assert np.array_equal(f(a, b), a @ b)
    fake_backend()
    g = optlevel.optimize(matmul, level=2)
    assert np.array_equal(g(a, b), a @ b) and np.array_equal(g(a, b), a @ b)
    assert backends_of(g) == {"fake"}  # settled after the check, not waiting


def test_a_call_with_nothing_to_cut_is_checked_whole_unless_verify_false(small_budget,
                                                                        fake_backend):
    """Nothing to cut: the call is checked in full (plain Python's cost, once), not
    answered by plain Python until a smaller call comes (which may never come)."""
    fake_backend(make=off_by_a_little)
    f = optlevel.optimize(from_scalars, level=2)
    with pytest.warns(ResultMismatchWarning):
        assert np.array_equal(f(50_000, 1.5), from_scalars(50_000, 1.5))
    assert np.array_equal(f(50_000, 1.5), from_scalars(50_000, 1.5))
    assert backends_of(f) == {"python"}
    fake_backend()
    right = optlevel.optimize(from_scalars, level=2)
    assert np.array_equal(right(50_000, 1.5), from_scalars(50_000, 1.5))
    assert "checked in full" in right.stats().signatures[0].note
    assert np.array_equal(right(50_000, 1.5), from_scalars(50_000, 1.5))
    assert backends_of(right) == {"fake"}
    fake_backend(make=off_by_a_little)
    unchecked = optlevel.optimize(from_scalars, level=2, verify=False)
    assert not np.array_equal(unchecked(50_000, 1.5), from_scalars(50_000, 1.5))
    assert backends_of(unchecked) == {"fake"}


def test_the_sample_is_a_small_share_of_the_rows():
    x, y = np.ones(1_000_000), np.ones(1_000_000)
    features = analyze(rowwise)
    sample, _ = sampling.choose(rowwise, features, (x, y), {}, budget=0.05)
    assert sample.kind == "rows" and set(sample.params) == {"x", "y"} and sample.rows == 10**6
    small, _ = sampling.choose(cumulative, analyze(cumulative), (x,), {}, budget=0.05)
    assert small.kind == "smaller" and 0 < small.rows <= sampling.SAMPLE_SHARE * 10**6
    scaled, _ = sampling.choose(priced, analyze(priced), (x, np.float32(0.5)), {}, budget=0.05)
    assert scaled.kind == "rows" and scaled.params == ("x",)
    none, _ = sampling.choose(from_scalars, analyze(from_scalars), (10, 2.0), {}, budget=0.05)
    assert none.kind == "none"
