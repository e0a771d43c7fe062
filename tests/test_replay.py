"""Level 2's guards and replays (optlevel issue 14): compiled code that meets a case
where its meaning may leave Python's runs the call again in plain Python.

Every case compares level 2 and auto with the plain function — value, type,
exception type and message, warnings, argument contents — on the first call and
on later calls of a warm plan.
"""

from __future__ import annotations

import math
import sys
import types
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import PerformanceWarning, optimize

pytestmark = pytest.mark.numba
pytest.importorskip("numba")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# --- the examples ---------------------------------------------------------------


def cubes(n):
    s = 0
    for i in range(n):
        s += i ** 3
    return s


def poly_hash(n):
    h = 0
    for i in range(n):
        h = (h * 1000003 + i) % (2 ** 61 - 1)
    return h


def count_from(start, n):
    c = start
    for _ in range(n):
        c += 1
    return c


def negate_all(x, n):
    t = 0
    for i in range(x.shape[0]):
        t += x[i]
    return -n + t


def absolute(x, n):
    t = 0
    for i in range(x.shape[0]):
        t += x[i]
    return abs(n) + t


def shift_two(x, n):
    t = 0
    for i in range(x.shape[0]):
        t += x[i]
    return (n << 2) + t


def collatz(limit):
    best = 0
    arg = 0
    for s in range(1, limit):
        n = s
        steps = 0
        while n != 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            steps += 1
        if steps > best:
            best = steps
            arg = s
    return arg, best


def doubling(n):
    p = 1
    while p < n:
        p *= 2
    return p


def histogram(x, lo, width, nbins):
    counts = np.zeros(nbins, np.int64)
    for i in range(x.shape[0]):
        k = int((x[i] - lo) / width)
        if 0 <= k < nbins:
            counts[k] += 1
    return counts


def mean_u8(a, b):
    out = np.empty(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        out[i] = (a[i] + b[i]) // 2
    return out


def gamma_sum(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += math.gamma(x[i])
    return t


def complex_ratio(z, d):
    t = 0j
    for i in range(z.shape[0]):
        t += z[i] / d
    return t


def int_total(x):
    t = 0
    for i in range(x.shape[0]):
        t += int(x[i])
    return t


def scale_into(x, out, d):
    """Writes into ``out`` before it divides by ``d``: a zero must not leave ``out``
    half-written twice over."""
    for i in range(x.shape[0]):
        out[i] = out[i] + x[i]
        out[i] = out[i] // d
    return out


def wrap_index(x, k):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i - k]
    return t


def u32_products(a, b):
    s = np.uint32(0)
    for i in range(a.shape[0]):
        s = s + a[i] * b[i]  # uint32 * uint32: NumPy 2 wraps at 2**32, with a warning
    return s


def outcome(func, args):
    """(value or exception type and message, warnings, argument contents after)."""
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = func(*args)
            result = ("value", type(value), _repr(value))
        except Exception as exc:  # the exception is what is compared
            result = ("raises", type(exc), str(exc))
    seen = sorted({(w.category.__name__, str(w.message)) for w in caught
                   if not issubclass(w.category, optlevel.OptlevelWarning)})
    return result, seen, [_repr(a) for a in args]


def _repr(value):
    if isinstance(value, np.ndarray):  # bytes: NaN equals NaN, -0.0 is not 0.0
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, tuple):
        return tuple(_repr(v) for v in value)
    return (type(value), repr(value))


def agree(func, *calls, mode=2):
    """Each call of ``calls`` gives plain Python's outcome, at ``mode`` (2 or auto),
    first call and again on the warm plan; returns the optimized function."""
    fast = optimize(func, level=mode) if mode == 2 else optimize(func)
    for args in calls:
        for _ in range(2):
            assert outcome(fast, args) == outcome(func, args), (func.__name__, args)
    return fast


def compiled(fast):
    return any(p.level == 2 for p in fast._dispatcher.all_plans())


def replays(fast):
    return sum(p.calls for p in fast._dispatcher.all_plans()
               if p.level == 0 and "replayed" in (p.note or ""))


EXAMPLES = [
    (cubes, [(1000,), (100_000,)]),
    (poly_hash, [(100,), (5000,)]),
    (count_from, [(5, 10), (2 ** 63 - 5, 10)]),
    (negate_all, [(np.arange(3), 4), (np.zeros(1, np.int64), -2 ** 63)]),
    (absolute, [(np.arange(3), -4), (np.zeros(1, np.int64), -2 ** 63)]),
    (shift_two, [(np.arange(3), 5), (np.zeros(1, np.int64), 2 ** 62)]),
    (collatz, [(300,)]),
    (doubling, [(1000,), (2 ** 63 - 1,)]),
    (histogram, [(np.linspace(0, 1, 50), 0.0, 0.1, 10), (np.linspace(0, 1, 5), 0.0, 0.0, 4)]),
    (mean_u8, [(np.array([200, 3], np.uint8), np.array([100, 5], np.uint8)),
               (np.array([20], np.uint8), np.array([10], np.uint8))]),
    (gamma_sum, [(np.array([3.0, 4.0]),), (np.array([3.0, 200.0]),),
                 (np.array([1.0, -1.0]),)]),
    (complex_ratio, [(np.ones(2, complex), 2j), (np.ones(2, complex), 0j)]),
    (int_total, [(np.array([1.5, 2.5]),), (np.array([1.0, math.nan]),),
                 (np.array([1.0, math.inf]),), (np.array([1e30, 1.0]),)]),
    (scale_into, [(np.ones(4), np.full(4, 3.0), 2.0), (np.ones(4), np.full(4, 3.0), 0.0)]),
    (wrap_index, [(np.arange(4.0), 1), (np.arange(4.0), 9)]),
    # a product of two uint32 values past 2**63, which int64 cannot hold: NumPy wraps
    # it at 2**32 with a warning, the compiled code replays
    (u32_products, [(np.array([3, 7], np.uint32), np.array([5, 9], np.uint32)),
                    (np.array([4_000_000_000], np.uint32),
                     np.array([4_000_000_011], np.uint32))]),
]


@pytest.mark.parametrize("func, calls", EXAMPLES, ids=[f.__name__ for f, _ in EXAMPLES])
def test_level2_gives_plain_pythons_outcome(func, calls):
    fast = agree(func, *calls)
    assert compiled(fast), fast._dispatcher.all_plans()


@pytest.mark.parametrize("func, calls", EXAMPLES, ids=[f.__name__ for f, _ in EXAMPLES])
def test_auto_gives_plain_pythons_outcome(func, calls):
    agree(func, *calls, mode=None)


def test_the_adversarial_call_replays_and_the_plan_stays():
    fast = agree(cubes, (100_000,), (10,))
    assert replays(fast) == 2  # the big call, twice; the small one ran compiled
    assert fast.stats().levels.get(2) == 2


def test_stats_count_replays_per_signature():
    fast = optimize(cubes, level=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.VectorizationAdvice)  # cubes' loop: OL103
        for n in (10, 100_000, 10, 100_000, 100_000):
            assert fast(n) == cubes(n)
        assert fast(np.int64(10)) == cubes(10)  # another signature: compiled, no replay
        quiet = optimize(cubes, level=2)
        quiet(10)
    stats = fast.stats()
    rows = {(s.signature, s.level): s.replays for s in stats.signatures}
    assert rows == {("n: int", 2): 3, ("n: int", 0): 0, ("n: int64", 2): 0}, rows
    assert stats.replays == 3 and stats.to_dict()["replays"] == 3
    assert sorted(s["replays"] for s in stats.to_dict()["signatures"]) == [0, 0, 3]
    header = str(stats).splitlines()[1]
    assert header.split()[:4] == ["signature", "level", "calls", "replays"], header
    assert "replays" not in str(quiet.stats())  # the column shows where a replay happened


def write_then_divide(x, out, d):
    for i in range(out.shape[0]):
        out[i] = out[i] + x[i]
        if i == 1:
            out[i] = 1.0 / d  # a Python float divisor: ZeroDivisionError midway
    return out


def test_writes_are_undone_before_the_replay():
    x, out = np.ones(4), np.full(4, 3.0)
    fast = optimize(write_then_divide, level=2)
    fast(x, out.copy(), 2.0)
    with pytest.raises(ZeroDivisionError, match="float division by zero"):
        fast(x, out, 0.0)
    want = np.full(4, 3.0)
    with pytest.raises(ZeroDivisionError):
        write_then_divide(x, want, 0.0)
    np.testing.assert_array_equal(out, want)  # written once, as plain Python writes
    assert out.tolist() == [4.0, 4.0, 3.0, 3.0]


def test_aliased_writes_are_undone():
    a = np.arange(8.0)
    b = a.copy()
    fast = optimize(write_then_divide, level=2)
    fast(np.ones(3), np.ones(3), 1.0)
    with pytest.raises(ZeroDivisionError):
        fast(a[:4], a[2:6], 0.0)
    with pytest.raises(ZeroDivisionError):
        write_then_divide(b[:4], b[2:6], 0.0)
    np.testing.assert_array_equal(a, b)


def test_frequent_replays_demote_with_one_warning():
    fast = optimize(poly_hash, level=2)
    fast(10)
    with pytest.warns(PerformanceWarning, match="replayed 11 of its last"):
        for _ in range(12):
            assert fast(3000) == poly_hash(3000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only
        for _ in range(5):
            assert fast(3000) == poly_hash(3000)
    assert fast(10) == poly_hash(10)
    plan = next(p for p in fast._dispatcher.all_plans() if p.level == 2)
    counts = plan.prepared.fn.replay_counts()
    assert counts["demoted"] and counts["replays"] == 11


# --- hypothesis over the integer and float ranges where the guards sit -------------


def arith(a, b, x):
    t = 0
    for i in range(x.shape[0]):
        t += x[i]
    return (a + b, a - b, a * b, -a, abs(b), a // (b | 1), a % (b | 1), t)


def shifts_and_powers(a, s, e, x):
    t = 0
    for i in range(x.shape[0]):
        t += x[i]
    return (a << s, a >> s, a ** e, t)


def float_ops(a, b, x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    return (a / b, a // b, a % b, int(a), t)


EDGE = st.sampled_from([0, 1, -1, 2 ** 31, 2 ** 62, 2 ** 63 - 1, -(2 ** 63), -(2 ** 63) + 1,
                        3037000499, 3037000500, -3037000500])
INTS = st.one_of(EDGE, st.integers(-(2 ** 63), 2 ** 63 - 1))
_ONES = np.ones(2, np.int64)
_FONES = np.ones(2)
_ARITH = optimize(arith, level=2)
_SHIFTS = optimize(shifts_and_powers, level=2)
_FLOATS = optimize(float_ops, level=2)


@settings(max_examples=60, deadline=None)
@given(INTS, INTS)
def test_hypothesis_int_arithmetic(a, b):
    assert outcome(_ARITH, (a, b, _ONES)) == outcome(arith, (a, b, _ONES))


@settings(max_examples=60, deadline=None)
@given(INTS, st.integers(-3, 70), st.integers(-2, 70))
def test_hypothesis_shifts_and_powers(a, s, e):
    assert outcome(_SHIFTS, (a, s, e, _ONES)) == outcome(shifts_and_powers, (a, s, e, _ONES))


@settings(max_examples=60, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True),
       st.one_of(st.just(0.0), st.just(-0.0), st.floats(allow_nan=True)))
def test_hypothesis_float_division_and_int(a, b):
    assert outcome(_FLOATS, (a, b, _FONES)) == outcome(float_ops, (a, b, _FONES))


# --- bounds: proofs that must hold, checks that must stay ------------------------------


def laplace(u):
    n, m = u.shape
    t = 0.0
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            t += u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4 * u[i, j]
    return t


def ring_sum(x, k):
    n = x.shape[0]
    t = 0.0
    for i in range(n):
        t += x[(i + k) % n]
    return t


def clamped(x, y):
    n = len(x)
    t = 0.0
    for i in range(n):
        j = min(max(i - 2, 0), n - 1)
        t += x[min(max(i - 2, 0), n - 1)] + x[i] * 0 + j * 0
    return t


def backwards(x):
    t = 0.0
    for i in range(x.shape[0] - 1, -1, -1):
        t = t * 0.5 + x[i]
    return t


def grouped(keys, vals, out):
    for i in range(keys.shape[0]):
        out[keys[i]] += vals[i]
    return out


def next_one(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i + 1]
    return t


def bounds_of(func):
    from optlevel.analysis.source import get_source
    from optlevel.levels.numba.proofs import Proofs

    return Proofs(get_source(func).tree)


def first_after(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    else:
        t += x[0]  # runs when x is empty too: must keep its check
    return t


@pytest.mark.parametrize("func", [laplace, ring_sum, backwards, clamped])
def test_bounds_proven(func):
    assert bounds_of(func).all_proven()


@pytest.mark.parametrize("func, kept", [(grouped, "out[keys[i]]"), (next_one, "x[i + 1]"),
                                        (first_after, "x[0]")])
def test_bounds_kept(func, kept):
    proofs = bounds_of(func)
    assert not proofs.all_proven()
    assert any(kept in lb.checked for lb in proofs.loops())


def test_explain_names_proven_and_checked_subscripts():
    text = str(optlevel.explain(optimize(grouped, level=2), np.zeros(2, np.int64),
                                np.ones(2), np.zeros(3)))
    # vals[i] is proven when vals is as long as keys (checked before each call)
    assert "proven vals[i] (when vals.shape[0] >= keys.shape[0]), keys[i]; " \
        "checked out[keys[i]]" in text


def test_kernels_with_proofs_and_checks_agree():
    u = np.random.default_rng(1).random((6, 7))
    agree(laplace, (u,))
    agree(ring_sum, (np.arange(5.0), 3), (np.arange(5.0), -12))
    agree(backwards, (np.arange(5.0),))
    agree(grouped, (np.array([0, 2, 1]), np.ones(3), np.zeros(3)),
          (np.array([0, 5]), np.ones(2), np.zeros(3)),  # IndexError, written half: replayed
          (np.array([0, -1]), np.ones(2), np.zeros(3)))  # negative: from the end
    agree(next_one, (np.arange(4.0),))
    agree(clamped, (np.arange(5.0), None), (np.zeros(0), None))
    agree(first_after, (np.arange(3.0),), (np.zeros(0),))


# --- frozen values: module attributes and closure arrays --------------------------------


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def _scaled(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * _cfg_s.SCALE  # noqa: F821 - set below
    return t


def test_module_attribute_rebound_after_the_first_call():
    global _cfg_s
    _cfg_s = _module("_ol_cfg_scale", SCALE=2.0)
    fast = optimize(_scaled, level=2)
    x = np.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.VectorizationAdvice)
        assert fast(x) == 6.0
    _cfg_s.SCALE = 5.0
    assert fast(x) == 15.0


def _weighted(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * _cfg_w.W[i]  # noqa: F821 - set below
    return t


def test_module_array_declines_and_follows_changes():
    global _cfg_w
    _cfg_w = _module("_ol_cfg_w", W=np.ones(3))
    fast = optimize(_weighted, level=2)
    x = np.ones(3)
    with pytest.warns(optlevel.FallbackWarning, match=r"_cfg_w\.W.*SEM014"):
        assert fast(x) == 3.0
    _cfg_w.W[:] = 3.0
    assert fast(x) == 9.0


def test_closure_array_changed_in_place():
    w = np.ones(3)

    def inner(x):
        t = 0.0
        for i in range(x.shape[0]):
            t += x[i] * w[i]
        return t

    fast = optimize(inner, level=2)
    x = np.ones(3)
    with pytest.warns(optlevel.FallbackWarning, match="closure.*SEM014"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.VectorizationAdvice)
        assert fast(x) == 3.0
    w[:] = 4.0
    assert fast(x) == 12.0


def pairwise(a, b, out):
    for i in range(a.shape[0]):
        out[i] = a[i] + b[i]
    return out


def stencil_into(u):
    out = np.zeros_like(u)
    n, m = u.shape
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = u[i - 1, j] + u[i + 1, j] - 2.0 * u[i, j]
    return out


def test_proofs_under_shape_conditions_checked_per_call():
    proofs = bounds_of(pairwise)
    assert proofs.proven_if() == (("b", 0, "a", 0), ("out", 0, "a", 0))
    assert bounds_of(stencil_into).proven_if() == ()  # out is made like u
    fast = agree(pairwise, (np.ones(3), np.ones(3), np.zeros(3)),
                 (np.ones(3), np.ones(2), np.zeros(3)),  # b too short: Python's IndexError
                 (np.ones(3), np.ones(3), np.zeros(5)))
    plan = next(p for p in fast._dispatcher.all_plans() if p.level == 2)
    disp = plan.prepared.fn.__wrapped__
    assert not disp.targetoptions["boundscheck"]
    agree(stencil_into, (np.random.default_rng(2).random((5, 6)),))


# --- functions without source, dtypes Numba lacks ----------------------------------------


def _made_by_exec():
    ns: dict = {}
    exec("def cubes_exec(n):\n s = 0\n for i in range(n):\n  s += i ** 3\n return s\n", ns)
    return ns["cubes_exec"]


@pytest.mark.parametrize("mode", [2, None])
def test_function_without_source_is_checked_on_the_ir(mode):
    func = _made_by_exec()
    fast = optimize(func, level=mode)
    for n in (10, 100_000, 10, 100_000):  # small first: the warm plan meets the big one
        assert outcome(fast, (n,)) == outcome(func, (n,))


def long_sum(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i]
    return t


def test_longdouble_falls_back_with_the_reason():
    x = np.ones(3, np.longdouble)
    fast = optimize(long_sum, level=2)
    with pytest.warns(optlevel.FallbackWarning, match="float128|longdouble"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.VectorizationAdvice)
        fast(x)
    assert outcome(fast, (x,)) == outcome(long_sum, (x,))
    assert optlevel.explain(fast, x).row("numba").code == "SEM016"


def test_counters_stepped_by_one_are_small_but_a_large_start_is_not():
    from optlevel.analysis.source import get_source
    from optlevel.levels.numba.proofs import Proofs
    from optlevel.levels.numba.rewrite import rewrite_tree

    assert "steps" in Proofs(get_source(collatz).tree).counters
    assert "c" not in Proofs(get_source(count_from).tree).counters  # c = start
    text = __import__("ast").unparse(rewrite_tree(get_source(count_from).tree)[0])
    assert "__ol_kiadd(c, 1)" in text


def test_module_attribute_in_a_function_without_source():
    cfg = _module("_ol_cfg_exec", SCALE=2.0)
    ns = {"cfg": cfg}
    exec("def scaled(x):\n t = 0.0\n for i in range(x.shape[0]):\n  t += x[i] * cfg.SCALE\n"
         " return t\n", ns)
    fast = optimize(ns["scaled"], level=2)
    x = np.ones(3)
    assert fast(x) == 6.0
    cfg.SCALE = 5.0
    assert fast(x) == 15.0


def narrow_ops(a, b):
    out = np.zeros(5, np.int64)
    for i in range(a.shape[0]):
        out[0] += a[i] + b[i]
        out[1] += a[i] - b[i]
        out[2] += a[i] * b[i]
        out[3] += a[i] // b[i]  # b[i] == 0: NumPy's 0 and warning, by a replay
        out[4] += a[i] % b[i]
    return out


_NARROW = optimize(narrow_ops, level=2)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["uint8", "int8", "int16", "uint16", "int32"]),
       st.sampled_from(["uint8", "int8", "int16", "int32"]),
       st.lists(st.integers(-(2 ** 31), 2 ** 31 - 1), min_size=2, max_size=2))
def test_hypothesis_narrow_ints_follow_numpy2(da, db, values):
    a = np.array([values[0]]).astype(da)
    b = np.array([values[1]]).astype(db)
    assert outcome(_NARROW, (a, b)) == outcome(narrow_ops, (a, b))
    plan = _NARROW._dispatcher.plans.get(next(iter(_NARROW._dispatcher.plans)))
    assert compiled(_NARROW), plan  # level 2 compiled these dtypes (no SEM009 decline)


# --- checks hoisted out of an if's arms (Collatz at numba.njit's speed) ----------------


def collatz_steps(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def narrow_arms(a, b):
    out = np.zeros(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        v = a[i]
        w = b[i]
        if v % 2 == 0:
            v = v * w
        else:
            v = v + w
        out[i] = v
    return out


def guarded_by_order(n, k):
    s = 0
    while k > 0:
        if n < 2 ** 61:
            s = n * 4
        else:
            s = n - 1
        k -= 1
    return s


def test_checks_are_hoisted_out_of_the_arms_of_an_if():
    from optlevel.analysis.source import get_source
    from optlevel.levels.numba.rewrite import rewrite_tree

    text = __import__("ast").unparse(rewrite_tree(get_source(collatz_steps).tree)[0])
    assert "__ol_ckadd(__ol_ckmul(3, n), 1)\n        if n % 2 == 0" in text
    assert "n = __ol_hkadd(__ol_hkmul(3, n), 1)" in text
    # an order test may guard the range: its arms keep their own checks
    text = __import__("ast").unparse(rewrite_tree(get_source(guarded_by_order).tree)[0])
    assert "__ol_c" not in text and "__ol_kmul(n, 4)" in text


def test_hoisted_checks_replay_exactly():
    # 2**62 + 1 is odd: 3 * n + 1 passes 2**63 (Python keeps going); 2**63 - 2 is even:
    # the hoisted check of the odd arm fires for an arm not taken (replayed, exact)
    fast = agree(collatz_steps, (27,), (2 ** 62 + 1,), (2 ** 63 - 2,), (27,))
    assert compiled(fast) and replays(fast) == 4
    u8 = np.array([2, 3, 84, 85], np.uint8)  # 84 * 3 and 85 + 200 wrap in NumPy
    fast = agree(narrow_arms, (u8, np.full(4, 3, np.uint8)), (u8, np.full(4, 200, np.uint8)),
                 (np.arange(6, dtype=np.int16), np.arange(6, dtype=np.int16)))
    assert compiled(fast)
    agree(guarded_by_order, (5, 3), (2 ** 62, 3))


# --- checks deferred to the end of a loop (vectorizable) ---------------------------------


def add_into(a, b, out):
    for i in range(a.shape[0]):
        out[i] = a[i] + b[i]
    return out


def second_difference_into(u, out):
    for i in range(1, u.shape[0] - 1):
        out[i] = u[i - 1] + u[i + 1] - 2.0 * u[i]
    return out


def test_loop_checks_are_deferred_to_a_flag_tested_after_the_loop():
    from optlevel.analysis.source import get_source
    from optlevel.levels.numba.rewrite import rewrite_tree

    text = __import__("ast").unparse(rewrite_tree(get_source(add_into).tree)[0])
    assert "__ol_bad0 = __ol_bad0 | __ol_fadd(__ol_t0, __ol_t1)" in text
    # (the stored value is checked for the array it goes into: a float into an int array)
    assert "out[i] = __ol_store(out, __ol_t2)" in text and \
        text.index("__ol_settle(__ol_bad0)") > text.index("out[i] = __ol_store(out, __ol_t2)")
    # an accumulator's own op and the arms of an if keep their checks where they stand
    text = __import__("ast").unparse(rewrite_tree(get_source(poly_hash).tree)[0])
    assert "h = __ol_mod(__ol_kadd(__ol_kmul(h, 1000003), i)" in text
    # a loop that could run long on a wrapped value keeps its checks where they stand
    text = __import__("ast").unparse(rewrite_tree(get_source(collatz).tree)[0])
    assert "__ol_bad" not in text


def test_deferred_checks_replay_exactly_with_writes_undone():
    small = np.array([1, 2, 3], np.uint8)
    wraps = np.array([1, 2, 200], np.uint8)  # 200 + 100 wraps in NumPy: the last write
    fast = agree(add_into, (small, small, np.zeros(3, np.uint8)),
                 (wraps, np.full(3, 100, np.uint8), np.zeros(3, np.uint8)),
                 (np.array([2 ** 62, 1]), np.array([2 ** 62, 1]), np.zeros(2, np.int64)),
                 (np.ones(2), np.ones(2), np.zeros(2)))
    assert compiled(fast) and replays(fast) == 4
    out = np.full(3, 7, np.uint8)
    with pytest.warns(RuntimeWarning, match="overflow"):
        fast(wraps, np.full(3, 100, np.uint8), out)
    assert out.tolist() == [101, 102, 44]  # plain Python's writes, not a wrapped copy's


def test_float_loops_with_a_deferred_flag_copy_nothing():
    from optlevel.levels.numba.jit import may_replay

    fast = optimize(second_difference_into, level=2)
    u = np.arange(5.0)
    assert outcome(fast, (u, np.zeros(5))) == outcome(second_difference_into, (u, np.zeros(5)))
    plan = next(p for p in fast._dispatcher.all_plans() if p.level == 2)
    disp = plan.prepared.fn.__wrapped__
    built = type("Built", (), {"replays": False, "checked": True, "disp": disp})
    assert not may_replay(built, next(iter(disp.overloads)))  # LLVM folded the flag away


def test_deferred_narrow_flags_at_the_edges():
    """The flag and wrapped value of every narrow + and - (carry and sign rules)
    against NumPy 2 on all pairs of edge values (the ops themselves: called one
    by one through level 2, frequent replays would demote the signature)."""
    import itertools

    import numba

    from optlevel.levels.numba.intops import OPS

    fadd, fsub, wadd, wsub = OPS["fadd"], OPS["fsub"], OPS["wadd"], OPS["wsub"]

    @numba.njit
    def run(a, b):
        flags = np.zeros((2, a.shape[0]), np.bool_)
        wrapped = np.empty((2, a.shape[0]), a.dtype)
        for i in range(a.shape[0]):
            flags[0, i] = fadd(a[i], b[i])
            flags[1, i] = fsub(a[i], b[i])
            wrapped[0, i] = wadd(a[i], b[i])
            wrapped[1, i] = wsub(a[i], b[i])
        return flags, wrapped

    for dtype in ("int8", "uint8", "int16", "uint16", "int32", "uint32"):
        info = np.iinfo(dtype)
        edges = [int(info.min), int(info.min) + 1, -1, 0, 1, int(info.max) - 1, int(info.max)]
        edges = [v for v in edges if info.min <= v <= info.max]
        a, b = (np.array(v, dtype) for v in zip(*itertools.product(edges, edges)))
        flags, wrapped = run(a, b)
        wide_a, wide_b = a.astype(np.int64), b.astype(np.int64)
        for k, exact in enumerate((wide_a + wide_b, wide_a - wide_b)):
            assert (flags[k] == ((exact < info.min) | (exact > info.max))).all(), dtype
        with np.errstate(over="ignore"):
            assert (wrapped[0] == a + b).all() and (wrapped[1] == a - b).all(), dtype


# --- SEM009: a Python int that is one on every call, with a narrow int --------------------


def times_constant(a):
    out = np.zeros(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        v = a[i]
        if v % 2 == 0:
            v = v * 3
        else:
            v = v + 100
        out[i] = v
    return out


def plus_counter(a):
    out = np.zeros(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        v = a[i] + i
        out[i] = v
    return out


def times_argument(a, k):
    out = np.zeros(a.shape[0], np.int64)
    for i in range(a.shape[0]):
        out[i] = a[i] * k
    return out


def test_python_ints_that_are_always_python_ints_follow_nep50_compiled():
    u8 = np.array([2, 3, 84, 85], np.uint8)  # 84 * 3 and 85 + 100 wrap in uint8
    fast = agree(times_constant, (u8[:2],), (u8,), (np.arange(5, dtype=np.int8),))
    assert compiled(fast)
    fast = agree(plus_counter, (np.array([1, 2, 3], np.uint8),),
                 (np.full(300, 250, np.uint8),),  # i = 6 passes 255; i > 255 leaves uint8
                 (np.arange(4, dtype=np.int16),))
    assert compiled(fast)


def test_a_python_int_argument_with_a_narrow_int_still_declines():
    # Numba compiles one code for a Python int and an np.int64 argument; NumPy 2 treats
    # them differently (uint8 * 3 is uint8, uint8 * np.int64(3) is int64)
    fast = agree(times_argument, (np.array([1, 200], np.uint8), 3),
                 (np.array([1, 200], np.uint8), np.int64(3)))
    assert optlevel.explain(fast, np.array([1], np.uint8), 3).row("numba").code == "SEM009"


_PROBE = """
import warnings, numpy as np, optlevel
from optlevel.levels.numba.jit import may_replay
from tests.test_replay import add_into, second_difference_into
warnings.simplefilter("ignore")
u, small = np.arange(6.0), np.array([1, 2], np.uint8)
for func, args in ((second_difference_into, (u, np.zeros(6))),
                   (add_into, (small, small, np.zeros(2, np.uint8)))):
    fast = optlevel.optimize(func, level=2)
    fast(*args)
    plan = next(p for p in fast._dispatcher.all_plans() if p.level == 2)
    disp = plan.prepared.fn.__wrapped__
    built = type("Built", (), {"replays": False, "checked": True, "disp": disp})
    sig, cres = next(iter(disp.overloads.items()))
    print(func.__name__, getattr(cres.library, "ol_replays", None), may_replay(built, sig))
"""


@pytest.mark.slow
def test_code_from_the_disk_cache_knows_whether_it_replays(tmp_path):
    import os
    import subprocess

    env = dict(os.environ, OPTLEVEL_CACHE_DIR=str(tmp_path),
               PYTHONPATH=str(__import__("pathlib").Path(__file__).parents[1]))
    runs = [subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    # first process: compiled (IR read); second: loaded from disk (object code read)
    assert runs[0] == ["second_difference_into", "None", "False", "add_into", "None", "True"]
    assert runs[1] == ["second_difference_into", "False", "False", "add_into", "True", "True"]
