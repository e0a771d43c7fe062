"""The catalogue of places where compiled code means something else than Python.

For each entry: what raw ``numba.njit`` gives against the plain function (where
they differ), and what optlevel does — the plain, level-2 and auto results are
equal in value and type, and a decline names the entry in ``explain``.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import optlevel
from optlevel import FallbackWarning, optimize
from optlevel.levels.numba.catalogue import CATALOGUE, ENTRIES, counts, markdown_table

ROOT = Path(__file__).resolve().parent.parent

# Level 1 looks at every call above level 0 and advises on these loops (at their lines);
# that advice is test_vectorize_backend's subject, not this catalogue's.
pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")


def raw(func):
    """``func`` as raw Numba compiles it, with level 2's settings."""
    import numba

    return numba.njit(error_model="numpy")(func)


def outcome(func, *args):
    """(value, type) of a call, or ("raises", exception type)."""
    try:
        value = func(*args)
    except Exception as exc:  # the outcome is what is compared
        return "raises", type(exc)
    return value, type(value)


def same(a, b):
    """Equal outcomes: the same type, and equal values (NaN equal to NaN)."""
    (va, ta), (vb, tb) = a, b
    if ta is not tb:
        return False
    if isinstance(va, str) or isinstance(vb, str):  # "raises", or a str result
        return va == vb
    if isinstance(va, np.ndarray):
        return va.dtype == vb.dtype and np.array_equal(va, vb, equal_nan=va.dtype.kind in "fc")
    if isinstance(va, float) and math.isnan(va):
        return math.isnan(vb)
    return va == vb


def copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def levels_agree(func, *args):
    """Plain, level 2 and auto outcomes are the same; returns the level-2 function."""
    plain = outcome(func, *copies(args))
    fast = optimize(func, level=2)
    auto = optimize(func)
    with warnings.catch_warnings():
        # a decline at level=2 warns; the outcome is compared here, the warning's
        # text is test_fallback's subject
        warnings.simplefilter("ignore", FallbackWarning)
        at_2 = outcome(fast, *copies(args))
        at_auto = outcome(auto, *copies(args))
    assert same(at_2, plain), (at_2, plain)
    assert same(at_auto, plain), (at_auto, plain)
    return fast


def declined(func, *args, entry):
    """Level 2 declines ``func`` for these arguments, naming ``entry``."""
    fast = levels_agree(func, *args)
    reason = optlevel.explain(fast, *args).row("numba").reason
    assert f"[{entry}]" in reason, reason
    levels = fast.stats().levels
    assert 2 not in levels and sum(levels.values()) == 1, levels
    return reason


def replayed(func, *args, entry):
    """Level 2 compiles ``func`` (no decline), its catalogue finding ``entry`` is a
    guard, and these arguments make the compiled code replay in plain Python: the
    outcome is plain Python's, the call counted at level 0 beside the level-2 plan."""
    fast = levels_agree(func, *args)
    reason = optlevel.explain(fast, *args).row("numba").reason
    assert "[SEM" not in reason, reason  # not declined
    guarded = [f for f in fast._dispatcher.features.semantic_findings if f.detail == entry]
    assert all(f.action == "guard" for f in guarded), guarded
    plans = fast._dispatcher.all_plans()
    assert any(p.level == 2 for p in plans), plans
    assert any(p.level == 0 and "replayed" in (p.note or "") for p in plans), plans
    return fast


def ran_at_2(func, *args):
    fast = levels_agree(func, *args)
    assert fast.stats().levels.get(2), fast.stats().levels
    return fast


X = np.random.default_rng(0).normal(size=1000)

# --- SEM001: str() ---------------------------------------------------------------------


def uses_dict(a):
    d = {}
    for v in a[:100]:
        d[str(round(float(v), 1))] = 1
    return len(d)


def int_labels(n):
    out = ""
    for i in range(n):
        out = out + str(i)
    return out


@pytest.mark.slow  # raw Numba's and level 2's compiles of str(): almost 3 s
@pytest.mark.numba
def test_sem001_str_of_a_float():
    assert raw(uses_dict)(X) == 1 and uses_dict(X) == 35  # '<object type:float64>'
    reason = declined(uses_dict, X, entry="SEM001")
    assert "line" in reason and "str()" in reason


@pytest.mark.numba
def test_sem001_str_of_an_int_is_compiled():
    assert raw(int_labels)(12) == int_labels(12)
    assert "SEM001" not in optlevel.explain(optimize(int_labels, level=2), 12).row(
        "numba").reason


# --- SEM002: Python ints beyond 64 bits -----------------------------------------------


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def factorial(n):
    p = 1
    for i in range(1, n + 1):
        p *= i
    return p


def sum_of_cubes(n):
    s = 0
    for i in range(n):
        s += i * i * i
    return s


def power_of_two(x, n):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    return t + 2 ** n


def int_elements_product(x):
    p = 1
    for v in x:
        p *= v
    return p


def bounded_hash(x):
    h = 0
    for i in range(x.shape[0]):
        h = (h * 31 + i) % 1000003
    return h


@pytest.mark.numba
@pytest.mark.parametrize("func, n", [(fib, 120), (factorial, 25), (sum_of_cubes, 100000)])
def test_sem002_python_ints_beyond_64_bits(func, n):
    assert raw(func)(n) != func(n)  # wrapped
    replayed(func, n, entry="SEM002")


@pytest.mark.numba
def test_sem002_power_with_a_varying_exponent():
    assert raw(power_of_two)(np.ones(3), 70) != power_of_two(np.ones(3), 70)
    replayed(power_of_two, np.ones(3), 70, entry="SEM002")


@pytest.mark.numba
def test_sem002_numpy_ints_wrap_in_python_too():
    x = np.full(70, 2, dtype=np.int64)
    with np.errstate(over="ignore"):
        assert raw(int_elements_product)(x) == int_elements_product(x)  # both wrap
        # the overflow replays: plain Python wraps, with NumPy's own warning
        replayed(int_elements_product, x, entry="SEM002")


@pytest.mark.numba
def test_sem002_reduced_modulo_a_constant_is_bounded():
    ran_at_2(bounded_hash, np.ones(50))


# --- SEM003: negative integer powers ----------------------------------------------------


def harmonic(n):
    s = 0.0
    for i in range(1, n):
        s += i ** -1
    return s


def squares(n):
    s = 0.0
    for i in range(n):
        s += i ** 2
    return s


@pytest.mark.numba
def test_sem003_negative_integer_power():
    assert raw(harmonic)(2000) == 1.0
    assert round(harmonic(2000), 2) == 8.18
    replayed(harmonic, 2000, entry="SEM003")


@pytest.mark.numba
def test_sem003_non_negative_exponent_compiles():
    ran_at_2(squares, 100)


# --- SEM004/SEM005: division by zero --------------------------------------------------


def int_steps(x, a, b):
    t = 0
    for i in range(x.shape[0]):
        t += a // b + (i % b)
    return t


def mean_of(x):
    t = 0.0
    for i in range(len(x)):
        t += x[i]
    return t / len(x)


def ratios(x, y):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] / y
    return t


def both_divisions(x, a, b):
    t = a / b
    for i in range(x.shape[0]):
        t += x[i] / b
    return t


@pytest.mark.numba
def test_sem004_python_division_by_zero_raises_like_python():
    ones = np.ones(3)
    assert raw(int_steps)(ones, 1, 0) == 0  # error_model="numpy": no exception
    fast = ran_at_2(int_steps, ones, 7, 2)
    with pytest.raises(ZeroDivisionError):
        fast(ones, 1, 0)
    with pytest.raises(ZeroDivisionError):
        int_steps(ones, 1, 0)
    # the raising call replayed in Python (counted nowhere: it raised)
    assert fast.stats().levels.get(2) == 1 and not fast.stats().levels.get(0)


@pytest.mark.numba
def test_sem004_mean_of_an_empty_array():
    fast = ran_at_2(mean_of, np.arange(4.0))
    with pytest.raises(ZeroDivisionError):
        mean_of(np.zeros(0))
    with pytest.raises(ZeroDivisionError):
        fast(np.zeros(0))


@pytest.mark.numba
def test_sem004_numpy_scalars_keep_numpy_rules():
    with np.errstate(divide="ignore"):
        assert ratios(np.ones(3), 0.0) == math.inf  # a NumPy float64 / 0.0: inf
        fast = ran_at_2(ratios, np.ones(3), 2.0)
        assert fast(np.ones(3), 0.0) == math.inf  # replayed: NumPy's rule, as plain


@pytest.mark.numba
def test_sem005_both_kinds_of_division_are_guarded():
    fast = ran_at_2(both_divisions, np.ones(3), 1.0, 2.0)
    # a zero divisor replays: the Python float raises, as in plain Python
    with pytest.raises(ZeroDivisionError, match="float division by zero"):
        fast(np.ones(3), 1.0, 0.0)
    with pytest.raises(ZeroDivisionError, match="float division by zero"):
        both_divisions(np.ones(3), 1.0, 0.0)


# --- SEM006: round with ndigits --------------------------------------------------------


def round_to(x, n):
    return round(x, n)


def round_elements(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = round(x[i], 2)
    return out


def rounded_sum(x, v, n):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    return t + round(v, n)


@pytest.mark.numba
@pytest.mark.parametrize("v, n", [(2.675, 2), (125, -1)])
def test_sem006_round_ndigits_of_python_numbers(v, n):
    assert not same(outcome(raw(round_to), v, n), outcome(round_to, v, n))
    declined(rounded_sum, np.ones(2), v, n, entry="SEM006")


@pytest.mark.numba
def test_sem006_numpy_floats_round_like_numba():
    x = np.array([2.675, 0.285, 1.005, -3.14159])
    np.testing.assert_array_equal(raw(round_elements)(x), round_elements(x))
    ran_at_2(round_elements, x)


# --- SEM007: float to int --------------------------------------------------------------


def binning(x, lo, width, counts):
    for i in range(x.shape[0]):
        counts[int((x[i] - lo) / width)] += 1
    return counts


def int_total(x):
    t = 0
    for i in range(x.shape[0]):
        t += int(x[i])
    return t


def floor_total(x):
    t = 0
    for i in range(x.shape[0]):
        t += math.floor(x[i]) + round(x[i])
    return t


@pytest.mark.numba
@pytest.mark.parametrize("bad, error", [(math.nan, ValueError), (math.inf, OverflowError)])
def test_sem007_int_of_nan_and_inf_raise_like_python(bad, error):
    x = np.array([1.0, bad])
    assert raw(int_total)(x) == 1 - 2 ** 63  # garbage
    ran_at_2(int_total, np.array([1.5, 2.5]))
    for func in (int_total, floor_total):
        fast = optimize(func, level=2)
        fast(np.array([1.5]))
        with pytest.raises(error):
            fast(x)
        with pytest.raises(error):
            func(x)
        assert fast.stats().levels.get(2) == 1 and not fast.stats().levels.get(0)


@pytest.mark.numba
def test_sem007_beyond_64_bits_runs_that_call_in_python():
    fast = ran_at_2(int_total, np.array([1.5, 2.5]))
    big = np.array([1e30, 1.0])
    assert same(outcome(fast, big), outcome(int_total, big))
    assert fast(big) == int(1e30) + 1  # an int beyond 64 bits, as Python gives
    assert fast.stats().levels == {2: 1, 0: 2}


@pytest.mark.numba
def test_sem007_beyond_64_bits_in_a_function_that_writes_replays():
    x = np.array([0.05, 1e30])
    fast = ran_at_2(binning, np.array([0.05, 0.15]), 0.0, 0.1, np.zeros(4, np.int64))
    got, want = np.zeros(4, np.int64), np.zeros(4, np.int64)
    with pytest.raises(IndexError) as fast_error:  # replayed: Python's huge int, bad index
        fast(x, 0.0, 0.1, got)
    with pytest.raises(IndexError) as plain_error:
        binning(x, 0.0, 0.1, want)
    assert str(fast_error.value) == str(plain_error.value)
    np.testing.assert_array_equal(got, want)  # written once, as plain Python writes


# --- SEM008: math domain and range errors ---------------------------------------------


def root_sum(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += math.sqrt(x[i]) + math.log(x[i] + 1.0)
    return t


def exp_sum(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += math.exp(x[i])
    return t


@pytest.mark.numba
@pytest.mark.parametrize("func, bad, error", [(root_sum, -4.0, ValueError),
                                              (root_sum, -1.0, ValueError),
                                              (exp_sum, 1000.0, OverflowError)])
def test_sem008_math_errors_raise_like_python(func, bad, error):
    x = np.array([1.0, bad])
    assert outcome(raw(func), x)[0] != "raises"  # nan or inf, silently
    fast = ran_at_2(func, np.array([1.0, 2.0]))
    with pytest.raises(error):
        fast(x)
    with pytest.raises(error):
        func(x)


def never_raising_math(x, out):
    for i in range(x.shape[0]):
        out[i, 0] = math.erf(x[i])
        out[i, 1] = math.erfc(x[i])
        out[i, 2] = math.atan(x[i])
        out[i, 3] = math.asinh(x[i])
        out[i, 4] = math.tanh(x[i])
        out[i, 5] = math.fabs(x[i])
    return out


@pytest.mark.numba
def test_sem008_leaves_unchecked_only_the_math_functions_python_never_raises_in():
    from optlevel.levels.numba.shims import CHECKED_MATH

    assert not {"erf", "erfc", "atan", "asinh", "tanh", "fabs"} & set(CHECKED_MATH)
    x = np.array([0.0, -0.0, 1e-310, -1e-310, 0.5, -3.0, 30.0, 1e300, -1e300, np.inf,
                  -np.inf, np.nan, 2.0 ** 1023])
    fast = ran_at_2(never_raising_math, np.linspace(-2, 2, 5), np.empty((5, 6)))
    got = fast(x, np.zeros((x.size, 6)))
    want = raw(never_raising_math)(x, np.zeros((x.size, 6)))
    np.testing.assert_array_equal(got, want)  # nan where Python gives nan, bit for bit
    assert np.array_equal(np.signbit(got), np.signbit(want))


# --- SEM009: NEP 50 ----------------------------------------------------------------------


def float_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def int_sum(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def brighten(img, out):
    for i in range(img.shape[0]):
        out[i] = img[i] + 100
    return out


@pytest.mark.numba
def test_sem009_float32_accumulator():
    x = np.random.default_rng(1).random(3000).astype(np.float32)
    assert type(float_sum(x)) is np.float32 and type(raw(float_sum)(x)) is float
    assert float_sum(x) != raw(float_sum)(x)
    reason = declined(float_sum, x, entry="SEM009")
    assert "float32" in reason
    ran_at_2(float_sum, x.astype(np.float64))


@pytest.mark.numba
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32])
def test_sem009_narrow_int_accumulator_wraps_in_python(dtype):
    x = np.full(3000, 100, dtype=dtype)
    with np.errstate(over="ignore"):
        if dtype != np.int32:
            assert int_sum(x) != raw(int_sum)(x) == 300000
        declined(int_sum, x, entry="SEM009")


@pytest.mark.numba
def test_sem009_stored_straight_into_the_same_dtype_compiles():
    img = np.array([10, 200, 255], dtype=np.uint8)
    with np.errstate(over="ignore"):
        out = ran_at_2(brighten, img, np.zeros(3, np.uint8))(img, np.zeros(3, np.uint8))
    np.testing.assert_array_equal(out, [110, 44, 99])  # wrapped in both


# --- SEM010/SEM011: bools ---------------------------------------------------------------


def both_set(x):
    n = 0
    for i in range(x.shape[0] - 1):
        n += x[i] * x[i + 1]
    return n


def bool_pair(x):
    t = x[0] + x[1]
    for i in range(x.shape[0]):
        t = t + x[i]
    return t


def inverted(x, flag):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] + ~flag
    return t


@pytest.mark.numba
def test_sem010_numpy_bool_arithmetic():
    x = np.array([True, True, False])
    assert not same(outcome(raw(bool_pair), x), outcome(bool_pair, x))
    declined(bool_pair, x, entry="SEM010")
    declined(both_set, x, entry="SEM010")


@pytest.mark.numba
def test_sem011_invert_of_a_python_bool():
    assert raw(inverted)(np.ones(2), True) == 2.0 and inverted(np.ones(2), True) == -2.0
    declined(inverted, np.ones(2), True, entry="SEM011")


# --- SEM012/SEM013/SEM014: frozen globals and closures ----------------------------------

SCALE = 2.0
WEIGHTS = np.array([1.0, 2.0, 3.0])


def scaled(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * SCALE
    return t


def weighted(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * WEIGHTS[i]
    return t


def make_closure():
    k = 1.0

    def times_k(x):
        t = 0.0
        for i in range(x.shape[0]):
            t += x[i] * k
        return t

    def set_k(value):
        nonlocal k
        k = value

    return times_k, set_k


@pytest.mark.numba
def test_sem012_global_rebound_after_compiling(monkeypatch):
    ones = np.ones(4)
    frozen = raw(scaled)
    fast = ran_at_2(scaled, ones)
    assert frozen(ones) == fast(ones) == 8.0
    monkeypatch.setitem(globals(), "SCALE", 3.0)
    assert frozen(ones) == 8.0  # raw Numba keeps the old value
    assert fast(ones) == scaled(ones) == 12.0
    assert set(fast.stats().levels) == {2}
    assert "SEM012" in str(optlevel.explain(fast, ones).features.semantic_findings)


@pytest.mark.numba
def test_sem013_closure_rebound_by_a_nonlocal_setter():
    times_k, set_k = make_closure()
    frozen, fast = raw(times_k), optimize(times_k, level=2)
    ones = np.ones(4)
    assert frozen(ones) == fast(ones) == 4.0
    set_k(5.0)
    assert frozen(ones) == 4.0
    assert fast(ones) == times_k(ones) == 20.0
    assert set(fast.stats().levels) == {2}


@pytest.mark.numba
def test_sem014_global_array_declines():
    declined(weighted, np.ones(3), entry="SEM014")


# --- SEM015/SEM016/SEM017: arguments Numba does not take as they are -------------------


@pytest.mark.numba
def test_sem015_big_endian_array():
    x = np.arange(5.0).astype(">f8")
    with pytest.raises(Exception) as info:
        raw(float_sum)(x)
    assert "Numba" in type(info.value).__name__ or "numba" in type(info.value).__module__
    reason = declined(float_sum, x, entry="SEM015")
    assert "'x'" in reason and "byte order" in reason


@pytest.mark.numba
@pytest.mark.parametrize("x", [np.zeros(3, dtype=[("a", "f8")]), np.ones(3, np.float16)],
                         ids=["structured", "float16"])
def test_sem016_dtypes_numba_does_not_take(x):
    # Auto is capped at level 2 here: the level-3 and level-4 backends parse
    # ArgInfo.dtype with np.dtype(), which raises TypeError for a structured dtype's
    # str() (reported to the lead); level 2 is what this entry is about.
    optlevel.configure(max_level=2)

    def first(x):
        t = x[0]
        for i in range(x.shape[0]):
            t = x[i]
        return t

    reason = declined(first, x, entry="SEM016")
    assert "'x'" in reason


def add_n(x, n):
    t = 0
    for i in range(x.shape[0]):
        if x[i] > 0:
            t += n
    return t


def add_n_or_raise(x, n):
    t = 0
    for i in range(x.shape[0]):
        if x[i] > 0:
            t += n
    if t < 0:
        raise OverflowError("negative")
    return t


@pytest.mark.numba
@pytest.mark.parametrize("func", [add_n, add_n_or_raise])
def test_sem017_int_argument_beyond_64_bits(func):
    x = np.ones(3)
    jit = raw(func)
    jit(x, 5)
    with pytest.raises(OverflowError):
        jit(x, 2 ** 70)
    fast = ran_at_2(func, x, 5)
    # level 2 was asked for and these calls run plain: said once, with the reason
    with pytest.warns(optlevel.FallbackWarning, match="do not fit level 2's compiled code"):
        for big in (2 ** 70, 2 ** 63, -(2 ** 63) - 1):
            assert same(outcome(fast, x, big), outcome(func, x, big))
    assert fast(x, 6) == 18
    levels = fast.stats().levels  # a call that raised is counted nowhere
    assert levels[2] == 2 and levels[0] >= 2


# --- SEM018: float32 reductions (verified) ---------------------------------------------


def centered(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] - np.nanvar(x)
    return t


@pytest.mark.numba
def test_sem018_float32_reductions_are_verified():
    features = optimize(centered).features
    assert [f.detail for f in features.verify_reasons] == ["SEM018"]
    x = np.random.default_rng(2).random(200).astype(np.float32)
    assert abs(raw(centered)(x) - centered(x)) <= 1e-3 * np.abs(x).sum()


# --- SEM031: NumPy's sums of float arrays (guarded: NumPy's own add loop) ---------------


def row_sums_and_means(x):
    out = np.empty((x.shape[0], 8), dtype=x.dtype)
    for i in range(x.shape[0]):
        out[i, 0] = np.sum(x[i])
        out[i, 1] = x[i].sum()
        out[i, 2] = np.mean(x[i])
        out[i, 3] = x[i].mean()
        out[i, 4] = np.var(x[i])
        out[i, 5] = x[i].var()
        out[i, 6] = np.std(x[i])
        out[i, 7] = x[i].std()
    return out


def running_total(x):
    t = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            t += x[i, j]
        t = t * 0.5 + np.sum(x) + x.std()
    return t


def _layouts(dtype):
    rng = np.random.default_rng(4)
    base = rng.standard_normal((61, 300)) * 10.0 ** rng.integers(-4, 4, (61, 300))
    base = base.astype(dtype)
    return {"C": base, "F": np.asfortranarray(base), "reversed strided": base[:, ::-3],
            "one row": base[:1], "short rows": base[:, :7]}


@pytest.mark.numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sem031_float_sums_are_numpys_own(dtype):
    """Raw Numba adds one element after the other and differs from NumPy in most rows;
    level 2 calls NumPy's own add loop as np.add.reduce does: equal bit for bit, for
    contiguous, Fortran-ordered and reversed strided rows alike, np.sum and .sum(),
    np.mean, np.var, np.std and their methods (float32 stays float32)."""
    for name, x in _layouts(dtype).items():
        expected = row_sums_and_means(x)
        fast = ran_at_2(row_sums_and_means, x)
        got = fast(x)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), name
    x = _layouts(dtype)["C"]
    assert (raw(row_sums_and_means)(x) != row_sums_and_means(x)).any()  # raw Numba: not
    found = [f for f in optimize(row_sums_and_means).features.semantic_findings
             if f.detail == "SEM031"]
    assert len(found) == 8 and {f.action for f in found} == {"guard"}, found


@pytest.mark.numba
def test_sem031_replays_where_numpy_would_not_hand_the_array_to_its_loop():
    """A non-contiguous 2-D array (NumPy cuts it into rows), an overflowing sum (NumPy
    warns), a mean of nothing (NumPy warns): the call replays in plain Python, with
    plain Python's value and warnings."""
    x = np.random.default_rng(5).standard_normal((40, 30))
    fast = ran_at_2(running_total, x)  # contiguous: compiled, NumPy's sum
    assert fast(x) == running_total(x)
    y = x[::2, ::3]
    assert raw(running_total)(y) != running_total(y)  # Numba's own sum: another value
    for _ in range(3):
        assert fast(y) == running_total(y)  # the compiled code replays: plain's value
    def said(func, *args):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = func(*args)
        return result, sorted({str(w.message) for w in seen if w.category is RuntimeWarning})

    big = np.full((10, 2), 1e308)
    got, warned = said(fast, big)
    assert (got, warned) == said(running_total, big)
    assert got == math.inf and "overflow encountered in reduce" in warned
    empty = optimize(row_sums_and_means, level=2)
    (got, warned), (expected, plain_warned) = (said(empty, np.ones((3, 0))),
                                               said(row_sums_and_means, np.ones((3, 0))))
    assert same((got, type(got)), (expected, type(expected))) and warned == plain_warned
    assert "Mean of empty slice" in warned


def test_sem031_a_function_without_source_that_sums_is_declined():
    """Without source the checked rewrite cannot reach the sum: level 2 declines."""
    ns: dict = {}
    exec("import numpy as np\n"
         "def h(x):\n"
         "    out = np.empty(x.shape[0])\n"
         "    for i in range(x.shape[0]):\n"
         "        out[i] = np.sum(x[i])\n"
         "    return out\n", ns)
    f = optimize(ns["h"], level=2)
    x = np.random.default_rng(8).standard_normal((300, 40))
    with pytest.warns(FallbackWarning, match="SEM031"):
        got = f(x)
    assert 2 not in dict(f.stats().levels)
    assert got.tobytes() == ns["h"](x).tobytes()


@pytest.mark.numba
def test_sem031_a_loop_that_disagrees_with_numpy_is_never_used(monkeypatch):
    """NumPy's add loop is trusted only after it gave np.add.reduce's values: a loop
    that does not (here subtract's, as a misread layout could give) is refused, and
    the ops then replay every float sum rather than compile Numba's own order."""
    from numba.core import types as nbtypes

    from optlevel.levels.numba import npreduce, ufunc_loops

    monkeypatch.setattr(npreduce, "_checked", {})
    monkeypatch.setattr(npreduce, "_intrinsics", {})
    monkeypatch.setattr(npreduce, "_SYMBOLS", {})  # what the import registers then
    monkeypatch.setattr(npreduce, "loop_of",
                        lambda name, char: ufunc_loops.loop_of("subtract", char))
    assert npreduce.reduce_loop("d") is None
    assert npreduce._exact(nbtypes.float64[:], "sum") is npreduce._replays
    assert npreduce._exact(nbtypes.int64[:], "sum") is None  # Numba's own: exact


def nan_rows(x):
    out = np.empty((x.shape[0], 2), dtype=x.dtype)
    for i in range(x.shape[0]):
        out[i, 0] = np.nansum(x[i])
        out[i, 1] = np.nanmean(x[i])
    return out


@pytest.mark.numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sem031_nansum_and_nanmean_are_numpys_own(dtype):
    """NumPy sums a copy whose nans are 0 (and divides by the count of the others, in
    float64, for the mean): so does level 2; a row of nothing but nans replays (NumPy
    warns "Mean of empty slice")."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((200, 90)).astype(dtype)
    x[rng.random(x.shape) < 0.2] = np.nan
    x[7] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = nan_rows(x)
        fast = optimize(nan_rows, level=2, strict=True, verify=False)
        got = fast(x)
        clean = fast(np.nan_to_num(x))
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    assert clean.tobytes() == nan_rows(np.nan_to_num(x)).tobytes()
    assert fast.stats().levels.get(2), fast.stats().levels
    assert (raw(nan_rows)(np.nan_to_num(x)) != nan_rows(np.nan_to_num(x))).any()


def log_of_row_sums(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.log(x[i, 0]) * x[i].mean() + np.sum(x[i])
    return out


@pytest.mark.numba
def test_sem031_sums_beside_numpys_own_math():
    """np.log makes level 2 hand the function a copy of numpy calling NumPy's loops
    (SEM030); its np.sum and .mean() are rewritten all the same."""
    x = np.abs(np.random.default_rng(9).standard_normal((500, 60)))
    fast = optimize(log_of_row_sums, level=2, verify=False)
    for _ in range(6):  # level 2 asks for a trial (SEM030 calls): its calls come later
        assert fast(x).tobytes() == log_of_row_sums(x).tobytes()
    assert fast.stats().levels.get(2), fast.stats().levels


@pytest.mark.numba
def test_sem031_prange_code_of_older_semantics_is_not_loaded(tmp_path):
    """prange's disk cache is keyed by the source it writes: its header names what
    compiled code means (helpers.CHECKED_VERSION), so code an older optlevel built
    (a C library's log, Numba's own sums) is never loaded where calls mean NumPy's."""
    from optlevel.levels.numba.helpers import CHECKED_VERSION

    def log_rows(x):
        out = np.empty(x.shape[0])
        for i in range(x.shape[0]):
            out[i] = np.log(x[i]) + np.sum(x[i:i + 8])
        return out

    optlevel.configure(executor="threads", cache_dir=str(tmp_path))
    f = optimize(log_rows, level=3, strict=True, verify=False)
    x = np.random.default_rng(10).uniform(0.5, 9.0, 20000)
    assert f(x).tobytes() == log_rows(x).tobytes()
    assert {s.backend for s in f.stats().signatures} == {"prange"}
    headers = [p.read_text().splitlines()[0] for p in (tmp_path / "prange").glob("*.py")]
    assert headers and all(CHECKED_VERSION in h for h in headers), headers


@pytest.mark.numba
def test_sem031_integer_sums_stay_numbas():
    k = np.arange(600).reshape(20, 30) % 7
    fast = ran_at_2(row_sums_and_means, k)
    assert fast(k).dtype == row_sums_and_means(k).dtype


@pytest.mark.numba
def test_sem031_prange_calls_numpys_sum_too():
    """prange rebuilds the function from its source: its sums are NumPy's as well."""
    def windows(x, w):
        out = np.empty(x.shape[0] - w)
        for i in range(x.shape[0] - w):
            out[i] = np.sum(x[i:i + w]) + x[i:i + w].mean()
        return out

    x = np.random.default_rng(6).standard_normal(5000)
    optlevel.configure(executor="threads")
    f = optimize(windows, level=3, strict=True, verify=False)
    assert f(x, 50).tobytes() == windows(x, 50).tobytes()
    assert {s.backend for s in f.stats().signatures} == {"prange"}
    import numba

    assert (numba.njit(parallel=True)(windows)(x, 50) != windows(x, 50)).any()


# --- SEM019/SEM020: containers -----------------------------------------------------------


def total_len(rows):
    n = 0
    for row in rows:
        n += len(row)
    return n


def index_of(x):
    d = {}
    for i in range(x.shape[0]):
        d[i] = x[i]
    return d


@pytest.mark.numba
def test_sem019_list_arguments():
    # Not a filterwarnings mark: pytest imports a mark's category even for a skipped
    # test, and the suite also runs without Numba.
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        # raw Numba's own notice that reflected lists are deprecated, not optlevel's
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        with pytest.raises(TypeError):
            raw(total_len)([[1, 2], [3]])  # reflected lists of lists are rejected
    declined(total_len, [[1, 2], [3]], entry="SEM019")


@pytest.mark.numba
def test_sem020_dict_results():
    x = np.array([1.0, 2.0, 2.0])
    assert type(raw(index_of)(x)) is not dict
    fast = levels_agree(index_of, x)
    assert "SEM020" in optlevel.explain(fast, x).row("numba").reason


# --- SEM021: bounds -----------------------------------------------------------------------


def one_past(x):
    t = 0.0
    for i in range(x.shape[0] + 1):
        t += x[i]
    return t


@pytest.mark.numba
def test_sem021_out_of_bounds_raises():
    fast = optimize(one_past, level=2)
    with pytest.raises(IndexError):
        fast(np.ones(3))
    with pytest.raises(IndexError) as plain:
        one_past(np.ones(3))
    with pytest.raises(IndexError) as again:
        fast(np.ones(3))
    assert str(again.value) == str(plain.value)  # Python's message: the call replayed
    assert [s.level for s in fast.stats().signatures] == [2, 0]


# --- SEM022/SEM023: powers of Python floats, shifts --------------------------------------


def cube_root_sum(x, v):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    return t + v ** (1 / 3)


def shifted(x, n):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * (1 << n)
    return t


@pytest.mark.numba
def test_sem022_negative_python_float_to_a_fractional_power():
    assert math.isnan(raw(cube_root_sum)(np.ones(1), -8.0))
    assert isinstance(cube_root_sum(np.ones(1), -8.0), complex)
    replayed(cube_root_sum, np.ones(1), -8.0, entry="SEM022")


@pytest.mark.numba
def test_sem023_shift_by_a_varying_count():
    assert raw(shifted)(np.ones(1), 70) != shifted(np.ones(1), 70)
    replayed(shifted, np.ones(1), 70, entry="SEM023")


# --- SEM024/SEM025: random numbers and I/O --------------------------------------------


def noisy(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] + np.random.random() * 0
    return t


def chatty(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    print("total", t)
    return t


@pytest.mark.numba
@pytest.mark.parametrize("func, entry", [(noisy, "SEM024"), (chatty, "SEM025")])
def test_sem024_sem025_random_and_io_decline(func, entry, capsys):
    declined(func, np.ones(2), entry=entry)
    row = optlevel.explain(optimize(func, level=2), np.ones(2)).row("numba")
    assert row.code == entry, row  # the catalogue entry is the code


# --- Differences looked for and not found ------------------------------------------------


def hashes(a, b):
    return hash(a), hash((a, b)), hash(-1)


def nan_min_max(a, b):
    return min(a, b), max(a, b), min(b, a)


def float_mod(a, b):
    return a % b, a // b


def last(x, i):
    return x[i]


@pytest.mark.numba
@pytest.mark.parametrize("func, args", [
    (hashes, (1.5, 7)), (hashes, (2 ** 62, 3)),
    (nan_min_max, (math.nan, 1.0)), (nan_min_max, (1.0, math.nan)),
    (float_mod, (-7.5, 2.0)), (float_mod, (7.5, -2.0)), (float_mod, (-7, 3)),
    (last, (np.arange(3.0), -1)),
])
def test_checked_and_the_same(func, args):
    compiled, plain = raw(func)(*args), func(*args)
    compiled = compiled if isinstance(compiled, tuple) else (compiled,)
    plain = plain if isinstance(plain, tuple) else (plain,)
    for a, b in zip(compiled, plain):
        assert a == b or (math.isnan(a) and math.isnan(b))


# --- the catalogue itself ----------------------------------------------------------------


def test_catalogue_ids_are_unique_and_complete():
    ids = [e.id for e in CATALOGUE]
    assert ids == [f"SEM{i:03d}" for i in range(1, len(ids) + 1)]
    assert set(ENTRIES) == set(ids)
    for entry in CATALOGUE:
        assert entry.action in ("decline", "guard", "verify"), entry
        assert entry.title and entry.python and entry.compiled and entry.how and entry.source


def test_docs_table_is_the_catalogue():
    text = (ROOT / "docs" / "levels" / "jit.md").read_text()
    assert markdown_table() in text  # regenerate with catalogue.markdown_table()
    listed = re.findall(r"^\| (SEM\d{3}) \|", text, flags=re.M)
    assert listed == [e.id for e in CATALOGUE]
    found = counts()
    summary = (f"{found['entries']} entries: {found['decline']} decline, {found['guard']} "
               f"guard (level 2 runs, made equal), {found['verify']} verified")
    assert summary in " ".join(text.split())


def heap_path(x, start):
    i = start
    t = 0.0
    while i < x.shape[0]:
        t += x[i]
        i = 2 * i + 1
    return t


@pytest.mark.numba
def test_sem002_an_index_bounded_by_its_while_test_compiles():
    ran_at_2(heap_path, np.arange(100.0), 0)
