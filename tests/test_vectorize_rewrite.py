"""Level 1's rewrite: the vectorized function returns exactly what the loop returns
(value and type), writes what it writes, and raises where it raises, over
generated inputs: empty arrays, NaN and infinities, float32, integers that wrap.
Where its run-time checks do not hold it runs the original loop."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optlevel.analysis import analyze
from optlevel.core.verify import compare, snapshot_args
from optlevel.levels.vectorize import runtime
from optlevel.levels.vectorize.rewrite import compile_rewrite, rewrite_for

FEW = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.too_slow])


# -- the loops ------------------------------------------------------------------------------

def conditional_accumulate(x, t):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i] ** 2
        else:
            s -= x[i]
    return s


def normalize_loop(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = (x[i] - x.mean()) / x.std()
    return out


def poly_map(x, a, b, c):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = a * x[i] ** 2 + b * x[i] + c
    return out


def threshold_activation(x, t, scale):
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        if x[i] > t:
            y[i] = scale * np.log(x[i])
        else:
            y[i] = x[i]
    return y


def count_above(x, t):
    n = 0
    for i in range(len(x)):
        if x[i] > t:
            n += 1
    return n


def int_total(x):
    s = 0
    for i in range(len(x)):
        s += x[i] * 3
    return s


def clip_chain(x):
    out = np.empty_like(x)
    for i in range(len(x)):
        if x[i] < -1:
            out[i] = -1
        elif x[i] > 1:
            out[i] = 1
        else:
            out[i] = x[i]
    return out


def dot_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s += a * b
    return s


def product(x):
    p = 1.0
    for v in x:
        p *= v
    return p


def outer(a, b):
    out = np.zeros((a.shape[0], b.shape[0]), dtype=np.result_type(a, b))
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = a[i] * b[j] + 1
    return out


def scale_in_place(x, f):
    for i in range(len(x)):
        x[i] = x[i] * f


def relu_in_place(x):
    for i in range(len(x)):
        if x[i] < 0:
            x[i] = 0


def half_counts(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s += 0.5
    return s


def last_values(x):
    i = -1
    t = None
    out = np.empty_like(x)
    for i in range(len(x)):
        t = x[i] * 2
        out[i] = t
    return i, t, out


def guarded_ratio(x, y):
    s = 0.0
    for i in range(len(x)):
        if x[i] != 0 and y[i] / x[i] > 1:
            s += y[i]
    return s


def matmul_rows(a, b):
    c = np.zeros((a.shape[0], b.shape[1]))
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            s = 0.0
            for k in range(a.shape[1]):
                s += a[i, k] * b[k, j]
            c[i, j] = s
    return c


def power_map(x, y, out):
    for i in range(len(x)):
        out[i] = x[i] ** y[i]


def shift_add(out, x):
    for i in range(len(x)):
        out[i] = x[i] + 1.0


def first_n(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i] * 2
    return out


# -- helpers -------------------------------------------------------------------------------

_built: dict = {}


def vectorized(func, order="loop"):
    """The rewrite of ``func``; reductions in the loop's order unless asked otherwise
    (these tests check that the rewrite is the loop, to the bit where it can be)."""
    if (func, order) not in _built:
        rewrite = rewrite_for(analyze(func), order)
        assert rewrite.ok, rewrite.reason
        _built[func, order] = compile_rewrite(rewrite, func)
    return _built[func, order]


@contextlib.contextmanager
def fast_path_counter():
    """Counts how often the vectorized block's checks passed (the fast path ran)."""
    real, seen = runtime.fits, []

    def spy(*args, **kwargs):
        ok = real(*args, **kwargs)
        seen.append(ok)
        return ok

    runtime.fits = spy
    try:
        yield seen
    finally:
        runtime.fits = real


def assert_identical(fast, plain):
    assert type(fast) is type(plain), (type(fast), type(plain))
    if isinstance(plain, np.ndarray):
        assert fast.dtype == plain.dtype and fast.shape == plain.shape
        assert np.array_equal(fast, plain, equal_nan=plain.dtype.kind in "fc"), (fast, plain)
    elif isinstance(plain, tuple):
        for a, b in zip(fast, plain, strict=True):
            assert_identical(a, b)
    elif isinstance(plain, (float, np.floating, complex, np.complexfloating)):
        assert fast == plain or (math.isnan(fast) and math.isnan(plain)), (fast, plain)
    else:
        assert fast == plain, (fast, plain)


def both(func, *args, close=False):
    """Run the loop and its rewrite on copies; both results and the arguments after."""
    plain_args, _ = snapshot_args(args, {})
    fast_args, _ = snapshot_args(args, {})
    with np.errstate(all="ignore"), fast_path_counter() as seen:
        plain = func(*plain_args)
        fast = vectorized(func)(*fast_args)
    if close:  # x[i] ** 2 is libm's pow on a scalar, x * x on an array: the last bit
        assert type(fast) is type(plain)
        assert compare(fast, plain) is None, compare(fast, plain)
    else:
        assert_identical(fast, plain)
    for a, b in zip(fast_args, plain_args):
        assert_identical(a, b)
    return any(seen)


floats64 = st.floats(allow_nan=True, allow_infinity=True, width=64)
finite32 = st.floats(-1e6, 1e6, width=32)
sizes = st.integers(0, 40)


def vec(dtype=np.float64, elements=floats64, size=sizes):
    return arrays(dtype, size, elements=elements)


# -- equal results over generated inputs -------------------------------------------------------

@FEW
@given(vec(), st.floats(-2, 2))
def test_conditional_accumulate_float64(x, t):
    ran = both(conditional_accumulate, x, t, close=True)
    assert ran == (x.size > 0)


@FEW
@given(vec(np.float32, finite32), st.floats(-2, 2))
def test_conditional_accumulate_float32_stays_float32(x, t):
    both(conditional_accumulate, x, t, close=True)  # float32 sums, in the loop's order


@FEW
@given(vec(np.int64, st.integers(-2**62, 2**62)), st.integers(-5, 5))
def test_conditional_accumulate_int64_wraps_like_the_loop(x, t):
    both(conditional_accumulate, x, t)


@FEW
@given(vec(elements=st.floats(-1e3, 1e3)))
def test_normalize_loop(x):
    both(normalize_loop, x)


@FEW
@given(vec(), st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3))
def test_poly_map(x, a, b, c):
    both(poly_map, x, a, b, c, close=True)


@FEW
@given(vec(np.float32, finite32))
def test_poly_map_float32(x):
    both(poly_map, x, 2.0, -1.0, 0.5, close=True)


@FEW
@given(vec(), st.floats(0, 2))
def test_threshold_activation(x, t):
    both(threshold_activation, x, t, 2.0, close=True)


@FEW
@given(vec(), st.floats(-1, 1))
def test_counting_stays_a_python_int(x, t):
    both(count_above, x, t)


@FEW
@given(st.sampled_from([np.int8, np.int32, np.int64, np.uint8]), st.data())
def test_integer_sums_wrap_like_the_loop(dtype, data):
    info = np.iinfo(dtype)
    x = data.draw(arrays(dtype, sizes, elements=st.integers(info.min, info.max)))
    both(int_total, x)


@FEW
@given(vec())
def test_elif_chain(x):
    both(clip_chain, x)


@FEW
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(
    vec(size=st.just(n)), vec(size=st.just(n)))))
def test_zip_reduction(xy):
    both(dot_zip, *xy)


@FEW
@given(vec(elements=st.floats(-2, 2)))
def test_product(x):
    both(product, x)


@FEW
@given(vec(elements=st.floats(-1e3, 1e3), size=st.integers(0, 3000)))
def test_sums_without_powers_are_exact_to_the_bit(x):
    both(dot_zip, x, x[::-1].copy())
    both(half_counts, x)


@FEW
@given(vec(size=st.integers(0, 8)), vec(size=st.integers(0, 8)))
def test_nested_broadcast(a, b):
    both(outer, a, b)


@FEW
@given(vec(), st.floats(-4, 4))
def test_in_place_writes(x, f):
    both(scale_in_place, x, f)
    both(relu_in_place, x)


@FEW
@given(vec(np.int16, st.integers(-300, 300)))
def test_in_place_int_writes(x):
    both(relu_in_place, x)


@FEW
@given(vec())
def test_python_float_constants_sum_like_python(x):
    both(half_counts, x)


@FEW
@given(vec())
def test_loop_variables_keep_their_last_values(x):
    both(last_values, x)


@FEW
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(
    vec(elements=st.floats(-3, 3), size=st.just(n)), vec(size=st.just(n)))))
def test_short_circuit_condition(xy):
    both(guarded_ratio, *xy)


@FEW
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
def test_inner_reduction_of_a_triple_loop(n, m, p):
    rng = np.random.default_rng(n * 100 + m * 10 + p)
    both(matmul_rows, rng.standard_normal((n, m)), rng.standard_normal((m, p)))


# -- where the checks send it back to the loop ----------------------------------------------

def test_a_list_runs_the_loop():
    assert not both(count_above, [1.0, -2.0, 3.0], 0.5)
    assert not both(dot_zip, [1.0, -2.0, 3.0], [2.0, 2.0, 2.0])


def test_an_array_shorter_than_the_loop_raises_like_python():
    with pytest.raises(IndexError):
        first_n(np.ones(3), 5)
    with pytest.raises(IndexError), fast_path_counter() as seen:
        vectorized(first_n)(np.ones(3), 5)
    assert seen == [False]


def test_overlapping_views_run_the_loop():
    base = np.arange(10.0)
    plain, fast = base.copy(), base.copy()
    shift_add(plain[1:], plain[:-1])
    with fast_path_counter() as seen:
        vectorized(shift_add)(fast[1:], fast[:-1])
    assert seen == [False]
    np.testing.assert_array_equal(fast, plain)  # each step read what the last one wrote


def test_the_same_array_in_and_out_is_fine():
    both(shift_add, np.arange(5.0), np.arange(5.0))
    x = np.arange(5.0)
    plain, fast = x.copy(), x.copy()
    shift_add(plain, plain)
    with fast_path_counter():
        vectorized(shift_add)(fast, fast)
    np.testing.assert_array_equal(fast, plain)


def test_read_only_output_raises_like_python():
    out = np.zeros(3)
    out.flags.writeable = False
    with pytest.raises(ValueError):
        vectorized(shift_add)(out, np.ones(3))


def test_nan_into_an_int_array_raises_like_python():
    x = np.array([1.0, np.nan])
    for fn in (shift_add, vectorized(shift_add)):
        out = np.zeros(2, dtype=np.int64)
        with pytest.raises(ValueError, match="NaN"):
            fn(out, x)
        assert out[0] == 2  # the first element was written before the error


def test_an_exception_midway_leaves_the_loops_partial_writes():
    x = np.array([2, 3, 4], dtype=np.int64)
    y = np.array([1, -1, 2], dtype=np.int64)  # int ** negative int raises on element 1
    plain, fast = np.zeros(3, np.int64), np.zeros(3, np.int64)
    with pytest.raises(ValueError) as plain_error:
        power_map(x, y, plain)
    with pytest.raises(ValueError) as fast_error:
        vectorized(power_map)(x, y, fast)
    assert str(fast_error.value) == str(plain_error.value)
    np.testing.assert_array_equal(fast, plain)


def test_python_int_overflow_raises_like_python():
    def times_300(x, out):
        for i in range(len(x)):
            out[i] = x[i] * 300

    x = np.ones(3, dtype=np.int8)
    with pytest.raises(OverflowError):
        times_300(x, np.zeros(3, np.int8))
    with pytest.raises(OverflowError):
        vectorized(times_300)(x, np.zeros(3, np.int8))


def test_pairwise_order_is_close():
    features = analyze(conditional_accumulate)
    fast = vectorized(conditional_accumulate, "pairwise")
    x = np.random.default_rng(0).standard_normal(10_000)
    result = fast(x, 0.5)
    assert type(result) is np.float64
    assert math.isclose(result, conditional_accumulate(x, 0.5), rel_tol=1e-12)
    assert "'pairwise'" in rewrite_for(features, "pairwise").source


def test_auto_order_is_the_loops_for_float32_and_pairwise_for_float64():
    x = np.random.default_rng(0).standard_normal(5_000)
    with fast_path_counter() as seen:
        wide = vectorized(dot_zip, "auto")(x, x)
        narrow = vectorized(dot_zip, "auto")(x.astype(np.float32), x.astype(np.float32))
    assert all(seen)
    assert type(wide) is np.float64 and math.isclose(wide, dot_zip(x, x), rel_tol=1e-12)
    x32 = x.astype(np.float32)
    assert type(narrow) is np.float32 and narrow == dot_zip(x32, x32)  # to the bit


def test_the_generated_source_keeps_the_loop_as_its_fallback():
    source = rewrite_for(analyze(conditional_accumulate)).source
    assert "_ol.fits(" in source and "_ol.reduce('+', s" in source
    assert "for i in range(x.shape[0]):" in source  # the original loop, as the fallback
    assert "except Exception:" in source
