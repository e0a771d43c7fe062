"""Level 1's layout checks: walks against the argument's real memory order (OL201,
OL202), non-contiguous inputs (OL203), and the copy in the better order that level 1
hands the function where that pays and cannot change what the caller sees."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze, describe_args
from optlevel.core.calibrate import profile_for
from optlevel.errors import VectorizationAdvice
from optlevel.levels.vectorize.layout import copy_plan, escapes


def colsums(x):
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        out[j] = x[:, j].sum()
    return out


def colsums_repeated(x, reps):
    out = np.zeros(x.shape[1])
    for _ in range(reps):
        for j in range(x.shape[1]):
            out[j] += x[:, j].sum()
    return out


def colsums_and_marks(x, reps):
    out = np.zeros(x.shape[1])
    for _ in range(reps):
        for j in range(x.shape[1]):
            out[j] += x[:, j].sum()
    x[0, 0] = -1.0
    return out


def first_column(x, reps):
    out = np.zeros(x.shape[1])
    for _ in range(reps):
        for j in range(x.shape[1]):
            out[j] += x[:, j].sum()
    return out, x[:, 0]


def total_by_columns(x):
    s = 0.0
    for j in range(x.shape[1]):
        for i in range(x.shape[0]):
            s = s + x[i, j] * 2
    return s


def squares(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


def line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


def matrix(order="C", side=200):
    return np.asarray(np.random.default_rng(0).random((side, side)), order=order)


def advice(f, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f(*args)
    return [w for w in caught if issubclass(w.category, VectorizationAdvice)]


def test_column_walk_of_a_c_array_is_reported_at_run_time():
    [w] = advice(optimize(colsums, level=1), matrix("C"))
    assert "OL201" in str(w.message) and "C order" in str(w.message)
    assert w.lineno == line_of(colsums, "x[:, j]") and w.filename == __file__
    assert "np.asfortranarray(x)" in str(w.message)


def test_column_walk_of_a_fortran_array_is_fine():
    assert advice(optimize(colsums, level=1), matrix("F")) == []


def test_inner_loop_across_rows_depends_on_the_layout():
    found = advice(optimize(total_by_columns, level=1), matrix("C"))
    assert [w for w in found if "OL202" in str(w.message)]
    found = advice(optimize(total_by_columns, level=1), matrix("F"))
    assert not [w for w in found if "OL202" in str(w.message)]


def test_a_strided_view_is_reported():
    x = np.random.default_rng(0).random(80_000)[::2]
    found = advice(optimize(squares, level=2), x)
    [w] = [w for w in found if "OL203" in str(w.message)]
    assert "np.ascontiguousarray(x)" in str(w.message)


def test_small_arrays_are_not_reported():
    assert advice(optimize(colsums, level=1), matrix("C", side=20)) == []


@pytest.fixture
def costs(tmp_path, monkeypatch):
    """A fresh machine profile where a strided pass costs 6 ns per element more than a
    contiguous one and a transposing copy 8 ns (what the 2-core machine measured)."""
    monkeypatch.setenv("OPTLEVEL_CACHE_DIR", str(tmp_path))
    optlevel.reload_config()
    profile = profile_for(optlevel.config.settings())
    profile.set("vectorize.strided_ns", 6.0)
    profile.set("vectorize.copy_ns", 8.0)
    return profile


def test_many_passes_over_the_wrong_order_get_a_copy(costs, ran_at):
    f = optimize(colsums_repeated, level=1)
    x = matrix("C")
    with pytest.warns(VectorizationAdvice, match="OL201"):  # the walk against the order
        assert ran_at(f, x, 3) == 1
        np.testing.assert_array_equal(f(x, 3), colsums_repeated(x, 3))
        np.testing.assert_array_equal(f(x=x, reps=3), colsums_repeated(x, 3))
    assert x.flags.c_contiguous  # the caller's array is untouched
    for s in f.stats().signatures:  # positional and keyword calls: two signatures
        assert "copies x in Fortran order" in s.note


def test_one_pass_does_not_pay_for_the_copy(costs):
    tree = analyze(colsums).source.tree
    walks = list(analyze(colsums).vectorize.walks)
    signature = describe_args((matrix("C"),), {}, ("x",))
    assert copy_plan(walks, signature, tree, frozenset(), lambda: (6.0, 8.0)) == {}
    assert copy_plan(walks, signature, tree, frozenset(), lambda: (20.0, 8.0)) == {"x": "F"}


@pytest.mark.parametrize("func", [colsums_and_marks, first_column])
def test_no_copy_of_an_array_the_function_writes_or_returns(func):
    features = analyze(func)
    signature = describe_args((matrix("C"), 3), {}, ("x", "reps"))
    asked = []
    plan = copy_plan(list(features.vectorize.walks), signature, features.source.tree,
                     features.mutated_params, lambda: asked.append(1) or (6.0, 8.0))
    assert plan == {} and asked == []  # nothing to copy: the machine is not calibrated


def test_a_walk_along_the_order_does_not_calibrate_the_machine():
    features = analyze(colsums)
    signature = describe_args((matrix("F"),), {}, ("x",))  # column walks on columns
    plan = copy_plan(list(features.vectorize.walks), signature, features.source.tree,
                     features.mutated_params, lambda: pytest.fail("costs asked for"))
    assert plan == {}


def test_escape_analysis():
    tree = analyze(colsums_repeated).source.tree
    assert not escapes(tree, "x")
    assert escapes(analyze(first_column).source.tree, "x")
