"""Compiled code computes what Python computes for the math functions CPython writes
itself (catalogue SEM028-SEM030): gamma and lgamma compiled as CPython's algorithm,
bit for bit; math.hypot and NumPy's vectorized math functions declined at level 2."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import optlevel
from optlevel.levels.numba import catalogue, semantics

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")

from optlevel.levels.numba.pymath import lgamma, tgamma  # noqa: E402


def _arguments() -> np.ndarray:
    rng = np.random.default_rng(7)
    edges = [1e-20, -1e-20, 9.9e-21, 5.524680040776729583740234375, 5.0, 4.999999999999999,
             140.0, 139.99999999999997, 200.0, 200.00000000000003, -200.5, 171.6, 171.7,
             0.5, -0.5, 1.5, 2.0, 1.0, 23.0, 24.0, -2.5, 1e300, -1e300, 2.5e-324]
    return np.concatenate([
        rng.uniform(-30, 30, 60_000), rng.uniform(-210, 210, 60_000),
        rng.uniform(0, 172, 40_000), np.exp(rng.uniform(-50, 5, 20_000)),
        -np.exp(rng.uniform(-50, 5, 20_000)), rng.uniform(-1e-19, 1e-19, 2_000),
        np.arange(-40, 40) + 0.5, np.arange(1.0, 30.0), edges])


def _same(a: float, b: float) -> bool:
    if a != a:
        return b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


@pytest.mark.parametrize("name,compiled", [("gamma", tgamma), ("lgamma", lgamma)])
def test_gamma_and_lgamma_compile_as_cpython_computes_them(name, compiled):
    plain = getattr(math, name)
    checked = differ = 0
    for x in _arguments().tolist():
        try:
            want = plain(x)
        except (ValueError, OverflowError):
            continue  # the checked replacement replays these: Python raises its own
        checked += 1
        differ += not _same(want, compiled(x))
    assert checked > 190_000 and differ == 0


def test_numbas_own_gamma_differs_which_is_why_ours_exists():
    import numba

    raw = numba.njit(lambda x: math.gamma(x))
    xs = np.random.default_rng(1).uniform(0.1, 30, 2000).tolist()
    assert sum(raw(x) != math.gamma(x) for x in xs) > 200


def gamma_table(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math.gamma(x[i]) + math.lgamma(x[i])
    return out


@pytest.mark.parametrize("level", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_a_loop_of_gamma_returns_the_plain_result_bit_for_bit(level, dtype):
    rng = np.random.default_rng(3)
    x = (rng.uniform(0.1, 25, 5000) if dtype is not np.int64
         else rng.integers(1, 25, 5000)).astype(dtype)
    f = optlevel.optimize(gamma_table, level=level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.FallbackWarning)
        got = [f(x) for _ in range(3)]
    assert 2 in dict(f.stats().levels)  # compiled, not a fallback
    want = gamma_table(x)
    for g in got:
        assert g.dtype == want.dtype and np.array_equal(g, want)


def gamma_pole(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.gamma(x[i])
    return s


def test_a_pole_of_gamma_raises_pythons_error_from_compiled_code():
    f = optlevel.optimize(gamma_pole, level=2, strict=True)
    assert f(np.array([1.5, 2.5])) == gamma_pole(np.array([1.5, 2.5]))
    with pytest.raises(ValueError, match="math domain error"):
        f(np.array([1.5, -2.0]))
    with pytest.raises(OverflowError):
        f(np.array([1.5, 180.0]))


def hypot_table(x, y):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math.hypot(x[i], y[i])
    return out


def numpy_exp_table(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.exp(x[i]) + np.log1p(abs(x[i]))
    return out


def int_powers(x):
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        out[i] = np.power(x[i], 2) + np.sign(x[i])
    return out


def exact_numpy(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.sqrt(abs(x[i])) + np.maximum(x[i], 0.5) + np.floor(x[i])
    return out


@pytest.mark.parametrize("func,code,args", [
    (hypot_table, "SEM029", lambda r: (r.uniform(-1e3, 1e3, 4000), r.uniform(-1e3, 1e3, 4000))),
    (numpy_exp_table, "SEM030", lambda r: (r.uniform(-50, 50, 4000),)),
])
def test_functions_numpy_or_cpython_compute_their_own_way_are_not_compiled(func, code, args):
    found = [f for f in semantics.static_findings(func, _tree(func), ("x", "y"))
             if f.detail == code]
    assert found and found[0].action == "decline"
    assert code in {f.detail for f in catalogue.declines(found)}
    f = optlevel.optimize(func, level=2)
    a = args(np.random.default_rng(0))
    with pytest.warns(optlevel.FallbackWarning, match=code):
        got = f(*a)
    assert 2 not in dict(f.stats().levels)
    assert np.array_equal(got, func(*a))


def test_numpy_math_the_compiler_computes_alike_still_compiles():
    for func, x in ((int_powers, np.arange(-50, 50)),
                    (exact_numpy, np.random.default_rng(0).uniform(-9, 9, 3000))):
        f = optlevel.optimize(func, level=2, strict=True)
        assert np.array_equal(f(x), func(x))
        assert dict(f.stats().levels) == {2: 1}


def test_a_function_without_source_that_calls_numpy_exp_is_declined_too():
    ns: dict = {}
    exec("import numpy as np\n"
         "def h(x):\n"
         "    out = np.empty_like(x)\n"
         "    for i in range(x.shape[0]):\n"
         "        out[i] = np.exp(x[i])\n"
         "    return out\n", ns)
    f = optlevel.optimize(ns["h"], level=2)
    x = np.random.default_rng(0).uniform(-50, 50, 4000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.FallbackWarning)
        got = [f(x) for _ in range(3)]
    assert 2 not in dict(f.stats().levels)
    assert all(np.array_equal(g, ns["h"](x)) for g in got)


def _tree(func):
    import ast
    import inspect
    import textwrap

    return ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]
