"""Wrong answers a tester found at level 2, each against plain Python.

Each test decorates a function at ``level=2``, warms it on good values (only the
first call of a signature is checked against the plain function), then calls it
with the bad ones and compares with plain Python: the value and its type, the
exception's type and message, and the arguments after the call (partial writes
included). Where level 2 declines, ``explain`` names the catalogue entry.
"""

from __future__ import annotations

import copy
import math
import warnings
from math import exp2

import numpy as np
import pytest

import optlevel
from optlevel import FallbackWarning, optimize

pytestmark = [pytest.mark.numba,
              pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")]


def _key(value):
    """What is compared of a value: arrays by dtype, shape and bytes (NaN equal to
    NaN, -0.0 not equal to 0.0); scalars by type and repr; tuples item by item."""
    if isinstance(value, np.ndarray):
        return "array", value.dtype.str, value.shape, value.tobytes()
    if isinstance(value, tuple):
        return ("tuple",) + tuple(_key(v) for v in value)
    return type(value).__name__, repr(value)


def run(func, args):
    """(outcome, arguments after the call) of ``func`` on a deep copy of ``args``."""
    args = copy.deepcopy(args)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # NumPy's RuntimeWarnings, fallback warnings
        try:
            result = ("returned", _key(func(*args)))
        except Exception as exc:  # the outcome is what is compared
            result = ("raised", type(exc).__name__, str(exc))
    return result, [_key(a) for a in args]


def level2(func, *warm):
    """``func`` at level 2, called once on each of ``warm``."""
    fast = optimize(func, level=2)
    for args in warm:
        run(fast, args)
    return fast


def agrees(fast, func, args):
    """Level 2 and plain Python give the same outcome and leave the same arguments."""
    got, want = run(fast, args), run(func, args)
    assert got == want, (got[0], want[0])
    return want


def compiled(fast):
    return bool(fast.stats().levels.get(2))


def declined_with(fast, args, code):
    """``explain`` gives level 2's reason for these arguments: catalogue ``code``."""
    row = optlevel.explain(fast, *copy.deepcopy(args)).row("numba")
    assert row.code == code, (row.code, row.reason)
    assert f"[{code}]" in row.reason and "line " in row.reason, row.reason
    return row.reason


# --- 1: a float stored into an integer array element -------------------------------------


def store_doubled(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0
    return out


def add_into(x, out):
    for i in range(x.shape[0]):
        out[i] += x[i]
    return out


def quantize(x, out):
    for i in range(x.shape[0]):
        out[i] = int(x[i] * 255)
    return out


_GOOD = np.linspace(0.0, 5.0, 11)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8,
                                   np.uint32, np.uint64])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e30, 3e9, 200.0, -3.0])
def test_float_stored_into_an_int_array_raises_as_plain(dtype, bad):
    fast = level2(store_doubled, (_GOOD, np.zeros(11, dtype)))
    assert compiled(fast)
    x = _GOOD.copy()
    x[4] = bad  # elements 0..3 are written before plain raises (or stores its value)
    outcome, _ = agrees(fast, store_doubled, (x, np.zeros(11, dtype)))
    if np.dtype(dtype).kind == "i" and not abs(bad) < 1e20:  # NaN, inf, 1e30
        assert outcome[0] == "raised"  # an unsigned array casts np.float64 (a warning)


def test_float_stored_into_an_int_array_truncates_toward_zero_compiled():
    fast = level2(store_doubled, (_GOOD, np.zeros(11, np.int64)))
    x = np.array([-1.35, 1.35, -0.2, 0.2, -4.9999, 3.5, -2.5])
    outcome, _ = agrees(fast, store_doubled, (x, np.zeros(7, np.int64)))
    assert np.frombuffer(outcome[1][3], np.int64).tolist() == [-2, 2, 0, 0, -9, 7, -5]
    assert set(fast.stats().levels) == {2}  # compiled, no replay


def test_float_added_into_an_int_array_element_raises_as_plain():
    fast = level2(add_into, (_GOOD, np.zeros(11, np.int32)))
    assert compiled(fast)
    x = _GOOD.copy()
    x[6] = math.nan
    assert agrees(fast, add_into, (x, np.arange(11, dtype=np.int32)))[0][1] == "ValueError"


def test_python_int_from_int_stored_into_uint8_raises_as_plain():
    fast = level2(quantize, (_GOOD / 10, np.zeros(11, np.uint8)))
    assert compiled(fast)
    outcome, _ = agrees(fast, quantize, (_GOOD / 4, np.zeros(11, np.uint8)))
    assert outcome[:2] == ("raised", "OverflowError")  # 1.25 * 255 leaves uint8


def store_counter(out):
    for i in range(out.shape[0]):
        out[i] = i
    return out


def store_argument(out, c):
    for i in range(out.shape[0]):
        out[i] = c
    return out


def test_range_counter_stored_into_a_narrow_array_raises_as_plain():
    fast = level2(store_counter, (np.zeros(5, np.uint8),))
    assert compiled(fast)
    outcome, _ = agrees(fast, store_counter, (np.zeros(300, np.uint8),))
    assert outcome == ("raised", "OverflowError", "Python integer 256 out of bounds for uint8")


def test_python_int_argument_stored_into_a_narrow_array_declines():
    args = (np.zeros(4, np.uint8), 300)
    fast = level2(store_argument, (np.zeros(4, np.uint8), 3))
    agrees(fast, store_argument, args)
    assert "uint8" in declined_with(fast, args, "SEM009")
    # an np.int64 wraps in NumPy as in compiled code; a Python float into float64 compiles
    agrees(fast, store_argument, (np.zeros(4, np.uint8), np.int64(300)))
    fast = level2(store_argument, (np.zeros(4), 3.0))
    assert compiled(fast)


# --- 2: NEP 50, a narrow NumPy element with a Python number -------------------------------


def scale(x, c):
    for i in range(x.shape[0]):
        x[i] = x[i] * c


def scale_into(x, c, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * c
    return out


def scale_plus_one(x, c):
    for i in range(x.shape[0]):
        x[i] = x[i] * c + 1


def tenth(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * 0.1
    return out


def doubled(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0
    return out


def thirds(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] / 3
    return out


def plus_counter(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] + i
    return out


def plus_300(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] + 300
    return out


def modulo(x, m, out):
    for i in range(x.shape[0]):
        out[i] = x[i] % m
    return out


def thirds_floor(x, out):
    for i in range(x.shape[0]):
        v = x[i] // 3
        out[i] = v * 3
    return out


@pytest.mark.parametrize("dtype, c", [(np.uint8, -1), (np.uint8, 300), (np.uint32, -1),
                                      (np.uint64, -1), (np.int16, 40000), (np.int32, 2 ** 40)])
def test_in_place_narrow_int_times_python_int_argument_declines(dtype, c):
    x = np.arange(1, 6, dtype=dtype)
    fast = level2(scale, (x, 2), (x, 3))
    outcome, after = agrees(fast, scale, (x, c))
    assert outcome[:2] == ("raised", "OverflowError") and after[0] == _key(x)
    reason = declined_with(fast, (x, c), "SEM009")
    assert np.dtype(dtype).name in reason and "`x[i] * c`" in reason


@pytest.mark.parametrize("func, c", [(scale_into, 0.1), (scale_into, 3)])
def test_float32_times_python_number_argument_declines(func, c):
    x = np.random.default_rng(0).standard_normal(2000).astype(np.float32)
    args = (x, c, np.zeros_like(x))
    fast = level2(func, (x, 0.5, np.zeros_like(x)), args)
    agrees(fast, func, args)
    assert "float32" in declined_with(fast, args, "SEM009")


def test_float32_in_place_update_with_python_int_declines():
    x = np.random.default_rng(1).standard_normal(2000).astype(np.float32)
    fast = level2(scale_plus_one, (x, 3))
    agrees(fast, scale_plus_one, (x, 3))  # NumPy rounds x * 3 to float32 before the + 1
    declined_with(fast, (x, 3), "SEM009")


def test_float32_times_inexact_constant_declines_exact_ones_compile():
    x = np.random.default_rng(2).standard_normal(2000).astype(np.float32)
    fast = level2(tenth, (x, np.zeros_like(x)))
    agrees(fast, tenth, (x, np.zeros_like(x)))  # 0.1 is not a float32
    declined_with(fast, (x, np.zeros_like(x)), "SEM009")
    for func in (doubled, thirds):  # one operation, rounded once to float32: NumPy's
        fast = level2(func, (x, np.zeros_like(x)))
        assert compiled(fast)
        agrees(fast, func, (x, np.zeros_like(x)))


def test_float32_stored_into_float64_declines():
    x = np.random.default_rng(3).standard_normal(100).astype(np.float32)
    fast = level2(doubled, (x, np.zeros(100)))
    agrees(fast, doubled, (x, np.zeros(100)))
    declined_with(fast, (x, np.zeros(100)), "SEM009")


def complex_sum(z):
    s = 0j
    for i in range(z.shape[0]):
        s += abs(z[i]) + z[i] * z[i].conjugate()
    return s


def real_sum(z):
    s = 0.0
    for i in range(z.shape[0]):
        s += z[i].real
    return s


def squares(z, out):
    for i in range(z.shape[0]):
        out[i] = z[i] ** 2
    return out


_Z = (np.random.default_rng(4).standard_normal(3000) +
      1j * np.random.default_rng(5).standard_normal(3000)).astype(np.complex64)


@pytest.mark.parametrize("func, args", [(complex_sum, (_Z,)), (real_sum, (_Z,)),
                                        (squares, (_Z, np.zeros_like(_Z)))])
def test_complex64_with_python_numbers_declines(func, args):
    fast = level2(func, args)
    reason = declined_with(fast, args, "SEM009")
    assert "complex64" in reason or "float32" in reason
    assert 2 not in fast.stats().levels
    if func is not squares:  # level 1 runs squares (its own rewrite, not level 2's)
        agrees(fast, func, args)


@pytest.mark.parametrize("func, args", [
    (complex_sum, (_Z.astype(np.complex128),)), (real_sum, (_Z.astype(np.complex128),)),
    (squares, (_Z.astype(np.complex128), np.zeros(3000, np.complex128))),
    (scale_into, (np.linspace(0, 1, 50), 0.1, np.zeros(50))),
    (scale, (np.arange(50), -3)), (tenth, (np.linspace(0, 1, 50), np.zeros(50)))])
def test_wide_dtypes_with_python_numbers_still_compile(func, args):
    fast = level2(func, args)
    assert compiled(fast), optlevel.explain(fast, *copy.deepcopy(args)).row("numba").reason
    agrees(fast, func, args)


def test_narrow_int_plus_range_counter_stored_raises_as_plain():
    fast = level2(plus_counter, (np.arange(5, dtype=np.uint8), np.zeros(5, np.uint8)))
    assert compiled(fast)
    outcome, _ = agrees(fast, plus_counter, (np.ones(300, np.uint8), np.zeros(300, np.uint8)))
    assert outcome == ("raised", "OverflowError", "Python integer 256 out of bounds for uint8")


def test_constant_outside_a_narrow_dtype_declines():
    args = (np.arange(3, dtype=np.uint8), np.zeros(3, np.uint8))
    fast = level2(plus_300, args)
    assert agrees(fast, plus_300, args)[0][:2] == ("raised", "OverflowError")
    assert "300" in declined_with(fast, args, "SEM009")


def test_narrow_int_modulo_python_int_argument_declines():
    args = (np.arange(5, dtype=np.uint8), 300, np.zeros(5, np.uint8))
    fast = level2(modulo, (np.arange(5, dtype=np.uint8), 7, np.zeros(5, np.uint8)))
    assert agrees(fast, modulo, args)[0][:2] == ("raised", "OverflowError")
    declined_with(fast, args, "SEM009")


def test_uint64_floor_division_by_a_constant_declines():
    big = np.array([2 ** 64 - 1, 2 ** 63 + 5, 7], np.uint64)
    fast = level2(thirds_floor, (np.arange(3, dtype=np.uint64), np.zeros(3, np.uint64)))
    agrees(fast, thirds_floor, (big, np.zeros(3, np.uint64)))  # Numba: via float64
    declined_with(fast, (big, np.zeros(3, np.uint64)), "SEM009")


# --- 7: math range errors ----------------------------------------------------------------


def exp2_all(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp2(x[i])
    return out


def exp2_by_name(x, out):
    for i in range(x.shape[0]):
        out[i] = exp2(x[i])
    return out


_SRC = """
def overflows(x, out):
    for i in range(x.shape[0]):
        out[i] = math.{name}({args})
    return out
"""


@pytest.mark.parametrize("func", [exp2_all, exp2_by_name])
@pytest.mark.parametrize("bad", [1024.0, 2000.0, 1e308])
def test_exp2_overflow_raises_as_plain(func, bad):
    x = np.linspace(0.0, 5.0, 20)
    fast = level2(func, (x, np.zeros(20)), (x, np.zeros(20)))
    assert compiled(fast)
    y = x.copy()
    y[10] = bad
    assert agrees(fast, func, (y, np.zeros(20)))[0] == \
        ("raised", "OverflowError", "math range error")
    y[10] = -2000.0  # underflow to 0.0 is no error
    agrees(fast, func, (y, np.zeros(20)))


@pytest.mark.parametrize("name, args, bad", [
    ("exp", "x[i]", 1000.0), ("expm1", "x[i]", 1000.0), ("cosh", "x[i]", 1000.0),
    ("sinh", "x[i]", -1000.0), ("pow", "x[i], 400.0", 10.0), ("ldexp", "x[i], 1000", 1e10)])
def test_other_math_range_errors_raise_as_plain(tmp_path, monkeypatch, name, args, bad):
    import importlib

    module = tmp_path / f"hunt_math_{name}.py"
    module.write_text("import math\n" + _SRC.format(name=name, args=args))
    monkeypatch.syspath_prepend(str(tmp_path))
    func = importlib.import_module(module.stem).overflows
    x = np.linspace(0.0, 0.5, 20)
    fast = level2(func, (x, np.zeros(20)), (x, np.zeros(20)))
    assert compiled(fast)
    y = x.copy()
    y[10] = bad
    assert agrees(fast, func, (y, np.zeros(20)))[0] == \
        ("raised", "OverflowError", "math range error")


# --- 8: divmod by zero -------------------------------------------------------------------


def int_divmod(n, d):
    q = r = 0
    for i in range(n):
        a, b = divmod(i + 7, d)
        q += a
        r += b
    return q, r


def float_divmod(n, d):
    s = 0.0
    for i in range(n):
        a, b = divmod(i + 0.5, d)
        s += a - b
    return s


def element_divmod(x, d):
    q = 0
    r = 0
    for i in range(x.shape[0]):
        a, b = divmod(x[i], d)
        q += a
        r += b
    return q, r


def test_int_divmod_by_zero_raises_plain_message():
    fast = level2(int_divmod, (5, 3), (6, -4))
    assert compiled(fast)
    assert agrees(fast, int_divmod, (5, 0))[0] == \
        ("raised", "ZeroDivisionError", "integer division or modulo by zero")
    agrees(fast, int_divmod, (9, -2))


def test_float_divmod_by_zero_raises_plain_message():
    fast = level2(float_divmod, (5, 3.0))
    assert compiled(fast)
    assert agrees(fast, float_divmod, (5, 0.0))[0] == \
        ("raised", "ZeroDivisionError", "float divmod()")
    agrees(fast, float_divmod, (9, -2.5))


def test_numpy_divmod_edges_as_plain():
    fast = level2(element_divmod, (np.arange(5), 3))
    agrees(fast, element_divmod, (np.arange(5), 0))  # NumPy: zeros, with a warning
    agrees(fast, element_divmod, (np.array([-2 ** 63, 1]), -1))  # NumPy wraps
    fast = level2(element_divmod, (np.linspace(0, 1, 5), 3.0))
    agrees(fast, element_divmod, (np.linspace(0, 1, 5), 0.0))  # NumPy: nan


def test_divmod_without_source_raises_plain_message():
    ns: dict = {}
    exec("def dm(n, d):\n    q = 0\n    for i in range(n):\n        a, b = divmod(i + 7, d)\n"
         "        q += a + b\n    return q\n", ns)
    fast = level2(ns["dm"], (5, 3))
    assert compiled(fast)
    assert agrees(fast, ns["dm"], (5, 0))[0] == \
        ("raised", "ZeroDivisionError", "integer division or modulo by zero")


def test_integer_ops_without_source_compile_in_a_new_process(run_python):
    # the IR pass builds the checked ops while Numba compiles: their typing must be
    # seen by that same compile (a NameError for __ol_add declined every such function)
    found = run_python("""
        import json, warnings
        import numpy as np
        import optlevel
        warnings.simplefilter("ignore")
        ns = {}
        exec("def f(x, out):\\n for i in range(x.shape[0]):\\n  out[i] = x[i] * 2 + i\\n"
             " return out\\n", ns)
        fast = optlevel.optimize(ns["f"], level=2, strict=True)
        out = fast(np.arange(4), np.zeros(4, np.int64))
        print(json.dumps([out.tolist(), sorted(fast.stats().levels)]))
    """)
    assert found == [[0, 3, 6, 9], [2]]


def test_declines_warn_once_naming_the_line():
    x = np.arange(1, 6, dtype=np.uint8)
    fast = optimize(scale, level=2)
    with pytest.warns(FallbackWarning, match=r"line \d+: `x\[i\] \* c`.*\[SEM009\]"):
        fast(x.copy(), 2)


def copy_into(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i]
    return out


@pytest.mark.parametrize("source, target, bad", [
    (np.int64, np.int32, 3_000_000_000), (np.int64, np.int16, 70_000),
    (np.uint64, np.int64, 2 ** 63 + 5), (np.int64, np.uint8, -1),  # the last one wraps
])
def test_a_numpy_int_stored_into_a_narrower_signed_array_raises_as_plain(source, target, bad):
    """NumPy checks an integer stored into a signed array (OverflowError past its
    range) and wraps it into an unsigned one; Numba wrapped both."""
    f = optimize(copy_into, level=2)
    x = np.arange(2000, dtype=source)
    for _ in range(2):
        f(x, np.zeros(2000, target))
    y = x.copy()
    y[5] = bad

    def outcome(g):
        out = np.zeros(2000, target)
        try:
            g(y, out)
            result = ("value",)
        except OverflowError as exc:
            result = ("raises", str(exc))
        return result, out.tobytes()

    assert outcome(f) == outcome(copy_into)
