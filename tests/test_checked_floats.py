"""Level 2's checked ``+ - *`` on floats and complex numbers are Numba's own operators,
typed and lowered in the caller (no implementation compiled per op and type pair),
with Python's results, and integers still checked; ``/ // %`` of floats and the checked
math functions keep their zero test and CPython's error rule there too."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest

from optlevel import optimize

numba = pytest.importorskip("numba")

pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")


def mixed(x, k):
    s = 0.0
    t = 0
    for i in range(x.shape[0]):
        s = s + x[i] * 2.5 - k  # float with float, then with an int
        s += 1  # in place, int literal
        t = t + k * i  # int with int: checked for 64 bits
    return s, t


def complex_sum(z, w):
    acc = 0j
    for i in range(z.shape[0]):
        acc = acc + z[i] * w - 1.5
    return acc


def float32_lane(x):
    s = np.float32(0)
    for i in range(x.shape[0]):
        s = s + x[i] * x[i]
    return s


def distances(x, z):
    # a NumPy start: from the Python float 1e300 the type returned would depend on
    # whether any d passed (level 2 declines that: tests/test_level2_result_types.py)
    best = x[0] * 0.0 + 1e300
    total = 0.0
    m = 0
    for i in range(x.shape[0]):
        d = abs(x[i] - 0.5) + abs(z[i]) - (-x[i])  # float and complex abs, negation
        total = total + (-d)
        m = m + abs(i - 40) + (-i)  # ints: the checked ops
        if d < best:
            best = d
    return best, total, m


@pytest.mark.parametrize(("func", "args"), [
    (distances, (np.linspace(-1.0, 1.0, 30), np.arange(30) * (1 - 1j))),
    (mixed, (np.linspace(0.0, 3.0, 50), 3)),
    (complex_sum, (np.arange(20) * (1 + 2j), 0.5 - 1j)),
    (float32_lane, (np.linspace(0.0, 1.0, 40, dtype=np.float32),)),
])
def test_level2_float_ops_give_plain_pythons_values_and_types(func, args):
    f = optimize(func, level=2, strict=True)
    for _ in range(2):  # the checked first call, then the compiled code alone
        got, want = f(*args), func(*args)
        assert type(got) is type(want)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert f.stats().levels == {2: 2}


def test_an_int_past_64_bits_still_replays():
    f = optimize(mixed, level=2, strict=True, verify=False)
    x = np.ones(3)
    assert f(x, 2 ** 62) == mixed(x, 2 ** 62)  # k * i leaves 64 bits: plain Python's int


def test_float_and_complex_operands_compile_no_implementation_of_their_own():
    from numba.core.registry import cpu_target

    from optlevel.levels.numba.intops import OPS

    add, mul, absolute, neg = OPS["add"], OPS["mul"], OPS["abs"], OPS["neg"]

    @numba.njit
    def g(a, b):
        return neg(absolute(mul(add(a, b), b)))

    assert g(1.5, 2) == -abs((1.5 + 2) * 2)
    assert g(1 + 2j, 0.5) == -abs((1 + 2j + 0.5) * 0.5)
    assert g(3, -4) == -4  # ints: + and * lowered with LLVM's overflow intrinsics
    assert g(np.int8(3), np.int8(-4)) == -4  # narrow ints: the checked overloads
    for stub in (add, mul, absolute, neg):
        overloads = [t for t in cpu_target.typing_context.resolve_value_type(stub).templates
                     if hasattr(t, "_impl_cache")]
        keys = [key[1] for t in overloads for key in t._impl_cache]
        assert keys and not [args for args in keys if _numbers_with_a_float(args)], keys
        assert not [args for args in keys if args == (numba.int64, numba.int64)], keys


def _numbers_with_a_float(args):
    """Numbers only (no bool, no array), a float or complex among them: the operand
    types Numba's own operator serves."""
    t = numba.types
    return all(isinstance(a, (t.Integer, t.Float, t.Complex)) for a in args) and \
        any(isinstance(a, (t.Float, t.Complex)) for a in args)


# --- / // % on floats: a zero test lowered in the caller, a replay where it meets zero --


def ratios(x, y, out):
    for i in range(x.shape[0]):
        out[i, 0] = x[i] / y[i]
        out[i, 1] = x[i] // y[i]
        out[i, 2] = x[i] % y[i]
        out[i, 3] = 7 / y[i] + 7 // y[i] + 7 % y[i]  # an int over a float
    return out


def scalar_ratio(a, b):
    return a / b + a // b + a % b


def halve_in_place(x):
    for i in range(x.shape[0]):
        x[i] = 2.0 / x[i]
    return x


SIGNED = np.array([5.5, -5.5, 5.5, -5.5, 0.0, -0.0, 1e300, 3.0, np.inf, -np.inf, np.nan, 7.0])
DIVISORS = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 1e-300, np.inf, 2.0, -3.0, 1.0, np.nan])


def test_float_division_floor_and_remainder_are_pythons_bit_for_bit():
    f = optimize(ratios, level=2, strict=True)
    for _ in range(2):  # the checked first call, then the compiled code alone
        with np.errstate(all="ignore"):
            got = f(SIGNED, DIVISORS, np.zeros((12, 4)))
            want = ratios(SIGNED, DIVISORS, np.zeros((12, 4)))
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))  # -0.0 where Python's
    assert f.stats().levels == {2: 2}


def test_a_zero_divisor_replays_with_numpys_warning_and_pythons_error():
    f = optimize(ratios, level=2, strict=True, verify=False)
    f(SIGNED, DIVISORS, np.zeros((12, 4)))
    y = DIVISORS.copy()
    y[5] = 0.0
    with np.errstate(divide="warn", invalid="ignore", over="ignore"), \
            pytest.warns(RuntimeWarning, match="divide by zero"):  # NumPy scalars: inf
        got = f(SIGNED, y, np.zeros((12, 4)))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got, ratios(SIGNED, y, np.zeros((12, 4))))
    g = optimize(scalar_ratio, level=2, strict=True, verify=False)
    assert g(7.5, 2.0) == scalar_ratio(7.5, 2.0)
    with pytest.raises(ZeroDivisionError, match="^float division by zero$"):
        g(7.5, 0.0)  # Python floats: the replay raises Python's error (Numba's message
        # would be "division by zero")


def test_a_replayed_division_starts_again_from_the_callers_untouched_array():
    from optlevel.levels.numba.lowered import LOWERED_REPLAYS

    f = optimize(halve_in_place, level=2, strict=True, verify=False)
    f(np.array([1.0, 4.0]))
    assert any("halve_in_place" in name for name in LOWERED_REPLAYS)
    x = np.array([1.0, 2.0, 4.0, 0.0])  # compiled code writes three slots, then meets 0
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        got = f(x)
    assert got is x
    np.testing.assert_array_equal(x, [2.0, 1.0, 0.5, np.inf])  # each slot divided once


def test_float_divisions_compile_no_implementation_of_their_own():
    from numba.core.registry import cpu_target

    from optlevel.levels.numba.intops import OPS

    div, floor, mod = OPS["truediv"], OPS["floordiv"], OPS["mod"]

    @numba.njit
    def g(a, b):
        return div(a, b) + floor(a, b) + mod(a, b)

    assert g(7.5, 2) == 7.5 / 2 + 7.5 // 2 + 7.5 % 2
    assert g(7, 2) == 7 / 2 + 7 // 2 + 7 % 2  # ints: the checked overloads (zero, MIN // -1)
    complex_ = numba.types.Complex
    for stub in (div, floor, mod):
        overloads = [t for t in cpu_target.typing_context.resolve_value_type(stub).templates
                     if hasattr(t, "_impl_cache")]
        keys = [key[1] for t in overloads for key in t._impl_cache]
        reals = [args for args in keys if _numbers_with_a_float(args)
                 and not any(isinstance(a, complex_) for a in args)]
        assert keys and not reals, keys  # complex numbers keep the overload


# --- math functions: CPython's domain and range errors, checked in the caller ----------


def math_mix(x, y):
    out = 0.0
    for i in range(x.shape[0]):
        # (no math.hypot: CPython's own algorithm, declined, SEM029)
        out += math.pow(x[i], y[i]) + math.atan2(x[i], y[i])
        out += math.log1p(x[i]) + math.sqrt(x[i]) + math.ldexp(x[i], 3) + math.cosh(y[i])
    return out


def test_checked_math_gives_pythons_values_and_errors():
    f = optimize(math_mix, level=2, strict=True, verify=False)
    x, y = np.linspace(0.5, 4.0, 9), np.linspace(-2.0, 2.0, 9)
    assert f(x, y) == math_mix(x, y)
    assert f.stats().levels == {2: 1}
    for bad_x, bad_y in [(-8.0, 1 / 3), (10.0, 400.0), (1e308, 1e308), (-2.0, 0.5),
                         (0.0, -1.0), (1.0, 800.0)]:
        x2, y2 = np.array([1.0, bad_x]), np.array([1.0, bad_y])
        try:
            want = math_mix(x2, y2)
        except (ValueError, OverflowError, ZeroDivisionError) as exc:
            with pytest.raises(type(exc), match=f"^{re.escape(str(exc))}$"):
                f(x2, y2)
        else:
            assert f(x2, y2) == want


def test_checked_math_compiles_no_function_of_its_own():
    from optlevel.levels.numba.checked import replacement

    checked = replacement("math")
    for name in ("log", "sqrt", "exp", "pow", "hypot", "atan2", "cosh"):
        stub = getattr(checked, name)
        assert not isinstance(stub, numba.core.dispatcher.Dispatcher), name
        assert stub(2.0, 3.0) == getattr(math, name)(2.0, 3.0) if name in (
            "pow", "hypot", "atan2") else stub(2.0) == getattr(math, name)(2.0)


def test_a_loops_deferred_flag_is_settled_in_the_callers_code():
    from numba.core.registry import cpu_target

    from optlevel.levels.numba.guard import Replay
    from optlevel.levels.numba.intops import OPS

    settle = OPS["settle"]

    @numba.njit
    def g(flag):
        settle(flag)
        return 1

    assert g(False) == 1
    with pytest.raises(Replay):
        g(True)
    templates = cpu_target.typing_context.resolve_value_type(settle).templates
    assert not [t for t in templates if getattr(t, "_impl_cache", None)]


# --- int(), round(), math.floor/ceil/trunc: floats tested in the caller, ints exact -----


def conversions(x, k):
    s = 0
    for i in range(x.shape[0]):
        s += int(x[i]) + round(x[i]) + math.floor(x[i]) + math.ceil(x[i]) + math.trunc(x[i])
        s += round(k[i]) + int(k[i]) + math.floor(k[i])
    return s


def test_conversions_give_pythons_ints_and_replay_where_python_raises():
    f = optimize(conversions, level=2, strict=True, verify=False)
    x = np.array([2.5, -2.5, 3.5, -0.5, 0.5, -2.7, 1e15, -9.2e14])
    k = np.array([2 ** 53 + 1, -(2 ** 55) - 1, 7, 0, -1, 1, 2, 3], dtype=np.int64)
    assert f(x, k) == conversions(x, k)  # round() of an int past 2**53 stays exact
    assert f.stats().levels == {2: 1}
    for bad in (np.nan, np.inf, -np.inf, 1e19):
        x2 = x.copy()
        x2[3] = bad
        try:
            conversions(x2, k)
        except (ValueError, OverflowError) as exc:
            with pytest.raises(type(exc), match=f"^{re.escape(str(exc))}$"):
                f(x2, k)
        else:  # 1e19 fits a Python int: the replay returns it
            assert f(x2, k) == conversions(x2, k)


def truncated(x):
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        out[i] = int(x[i])
    return out


def test_int_of_a_float_at_the_edges_of_64_bits():
    """The compiled test is one compare, |x| >= 2**63 or NaN: the largest floats
    inside convert compiled, -2**63 itself (which fits) replays to the same ints."""
    f = optimize(truncated, level=2, strict=True, verify=False)
    inside = np.array([2.0 ** 63 - 1024, -(2.0 ** 63 - 1024), 3.7, -3.7, -0.0])
    got = f(inside)
    assert got.dtype == np.int64 and got.tolist() == truncated(inside).tolist()
    assert f.stats().levels == {2: 1}
    edge = np.append(inside, -(2.0 ** 63))
    assert f(edge).tolist() == truncated(edge).tolist() == inside.astype(int).tolist() + \
        [-(2 ** 63)]
    for bad in (2.0 ** 63, np.nan, -np.inf, -1e19):
        with pytest.raises((OverflowError, ValueError)):
            truncated(np.array([1.5, bad]))
        with pytest.raises((OverflowError, ValueError)):
            f(np.array([1.5, bad]))


# --- ** of floats: C's pow, as Python's; Python's errors replay -------------------------


def power_sum(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] ** n + x[i] ** 7 + x[i] ** 2
    return s


def power(a, b):
    return a ** b


def test_a_float_to_an_int_power_is_cs_pow_bit_for_bit():
    x = np.random.default_rng(3).uniform(0.5, 2.0, 2000)
    f = optimize(power_sum, level=2, strict=True)
    for n in (7, -13, 30, 2.5, -0.75):
        assert f(x, n) == power_sum(x, n), n  # Numba's own float ** int multiplies
    assert set(f.stats().levels) == {2}


def test_a_float_power_replays_where_python_raises_or_turns_complex():
    f = optimize(power, level=2, strict=True, verify=False)
    assert f(1.5, 2.5) == 1.5 ** 2.5
    assert f(-8.0, 1 / 3) == (-8.0) ** (1 / 3)  # Python: a complex number
    assert type(f(-8.0, 1 / 3)) is complex
    with pytest.raises(ZeroDivisionError):
        f(0.0, -1.0)
    with pytest.raises(OverflowError, match=re.escape("(34, 'Numerical result out of range')")):
        f(10.0, 400.0)
    assert f(2, 0.5) == 2 ** 0.5  # an int base


def int_steps(n, k):
    t = 0
    for i in range(n):
        t = t * 3 + i - k
    return t


def test_64_bit_int_ops_replay_past_64_bits_from_code_lowered_in_the_caller():
    from optlevel.levels.numba.lowered import LOWERED_REPLAYS

    f = optimize(int_steps, level=2, strict=True, verify=False)
    assert f(5, 2) == int_steps(5, 2)
    assert any("int_steps" in name for name in LOWERED_REPLAYS)
    assert f(39, -(2 ** 62)) == int_steps(39, -(2 ** 62))  # Python ints: they grow
    assert type(f(60, 1)) is int and f(60, 1) == int_steps(60, 1) < -(2 ** 64)


def test_a_checked_op_is_built_only_when_code_calls_it(tmp_path):
    """Each op registers Numba overloads when built (63 of them took 4-5 ms): a new
    process compiling a loop of floats builds the few its rewrite calls."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import numpy as np
        from optlevel import optimize
        from optlevel.levels.numba import intops

        @optimize(level=2, strict=True)
        def scaled(x, out):
            for i in range(x.shape[0]):
                out[i] = x[i] * 2.5 + x[i - 1]
            return out

        x = np.arange(10.0)
        got = scaled(x, np.empty(10))
        assert np.array_equal(got, x * 2.5 + np.roll(x, 1))
        assert "add" in intops.OPS and "neg" not in intops.OPS._built  # asking builds nothing
        print(len(intops.OPS._built), len(intops.OPS))
    """)
    path = tmp_path / "floats.py"  # level 2 reads the function's source from its file
    path.write_text(script)
    env = {**os.environ, "OPTLEVEL_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    built, every = map(int, done.stdout.split())
    assert 0 < built < every // 4, (built, every)
