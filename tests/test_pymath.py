"""Compiled code computes what Python computes for the math functions CPython or NumPy
write themselves (catalogue SEM028-SEM030): gamma and lgamma compiled as CPython's
algorithm, NumPy's math functions as calls of NumPy's own loops, bit for bit;
math.hypot, and NumPy's on arguments its float64 loop does not take, declined."""

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


def test_math_hypot_is_not_compiled():
    found = [f for f in semantics.static_findings(hypot_table, _tree(hypot_table), ("x", "y"))
             if f.detail == "SEM029"]
    assert found and catalogue.declines(found) == found
    f = optlevel.optimize(hypot_table, level=2)
    r = np.random.default_rng(0)
    a = (r.uniform(-1e3, 1e3, 4000), r.uniform(-1e3, 1e3, 4000))
    with pytest.warns(optlevel.FallbackWarning, match="SEM029"):
        got = f(*a)
    assert 2 not in dict(f.stats().levels)
    assert np.array_equal(got, hypot_table(*a))


def test_numpy_math_compiles_as_calls_of_numpys_own_loops():
    x = np.random.default_rng(0).uniform(-50, 50, 20_000)
    found = semantics.static_findings(numpy_exp_table, _tree(numpy_exp_table), ("x",))
    assert {f.action for f in found if f.detail == "SEM030"} == {"guard"}
    f = optlevel.optimize(numpy_exp_table, level=2, strict=True)
    for _ in range(2):
        assert np.array_equal(f(x), numpy_exp_table(x))
    assert dict(f.stats().levels) == {2: 2}
    import numba

    raw = numba.njit(numpy_exp_table)(x)  # what it corrects: the C library's exp
    assert np.sum(raw != numpy_exp_table(x)) > 100


def float32_exp(x):
    out = np.empty(x.shape[0], dtype=x.dtype)
    for i in range(x.shape[0]):
        out[i] = np.exp(x[i])
    return out


def test_numpy_math_on_arguments_its_float64_loop_does_not_take_is_declined():
    x = np.random.default_rng(0).uniform(-5, 5, 3000).astype(np.float32)
    f = optlevel.optimize(float32_exp, level=2)
    with pytest.warns(optlevel.FallbackWarning, match="SEM030"):
        got = f(x)
    assert 2 not in dict(f.stats().levels)
    assert got.dtype == np.float32 and np.array_equal(got, float32_exp(x))
    y = x.astype(np.float64)  # the same function with float64 elements compiles
    g = optlevel.optimize(float32_exp, level=2, strict=True)
    assert np.array_equal(g(y), float32_exp(y))


def log_all(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.log(x[i])
    return out


def test_what_numpy_warns_about_replays_the_call_with_its_warning():
    f = optlevel.optimize(log_all, level=2, strict=True)
    fine = np.array([1.0, 2.0, 3.0])
    assert np.array_equal(f(fine), log_all(fine))
    for bad, message in ((np.array([1.0, 0.0]), "divide by zero"),
                         (np.array([1.0, -1.0]), "invalid value")):
        with pytest.warns(RuntimeWarning, match=message):
            want = log_all(bad)
        with pytest.warns(RuntimeWarning, match=message):
            got = f(bad)
        assert np.array_equal(got, want, equal_nan=True)


_UFUNC_MODULE = """
import numpy as np

def one_{name}(x, y):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.{name}(x[i])
    return out

def two_{name}(x, y):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.{name}(x[i], y[i])
    return out
"""


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_numpy_loop_called_from_compiled_code_gives_numpys_values(tmp_path,
                                                                         monkeypatch):
    from optlevel.levels.numba.shims import INEXACT_UFUNCS
    from optlevel.levels.numba.ufunc_loops import float64_loop

    names = sorted(n for n in INEXACT_UFUNCS if float64_loop(n) is not None
                   and float64_loop(n).name == n)  # aliases (np.pow…) share a loop
    assert len(names) >= 25
    (tmp_path / "ufunc_cases.py").write_text(
        "".join(_UFUNC_MODULE.format(name=n) for n in names))
    monkeypatch.syspath_prepend(str(tmp_path))
    import ufunc_cases

    r = np.random.default_rng(11)
    x = np.concatenate([r.uniform(-3, 3, 1500), r.uniform(-700, 700, 1500),
                        np.exp(r.uniform(-30, 30, 1000)), [0.0, -0.0, 1.0, -1.0, 0.5]])
    y = r.permutation(x)
    for name in names:
        nin = float64_loop(name).nin
        plain = getattr(ufunc_cases, f"{'one' if nin == 1 else 'two'}_{name}")
        f = optlevel.optimize(plain, level=2, strict=True)
        assert np.array_equal(f(x, y), plain(x, y), equal_nan=True), name
        # compiled; where NumPy warns (a nan or inf from the domain's edge) replayed
        replays = sum(row.replays for row in f.stats().signatures)
        assert dict(f.stats().levels).get(2) == 1 or replays == 1, name


_NEW_PROCESS = """
import json, sys
import numpy as np
sys.path.insert(0, {path!r})
import optlevel, cached_case
from optlevel.levels.numba import cache
loaded = []
load = cache._Cache.load_overload
def counted(self, sig, target_context):
    found = load(self, sig, target_context)
    loaded.append(found is not None)
    return found
cache._Cache.load_overload = counted
x = np.random.default_rng(2).uniform(-40, 40, 5000)
f = optlevel.optimize(cached_case.k, level=2, strict=True)
got = f(x)
print(json.dumps({{"equal": bool(np.array_equal(got, cached_case.k(x))),
                  "loaded": any(loaded)}}))
"""


def test_a_new_process_loads_the_compiled_loop_calls_from_the_disk_cache(tmp_path):
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "cached_case.py").write_text(
        "import numpy as np\n"
        "def k(x):\n"
        "    out = np.empty(x.shape[0])\n"
        "    for i in range(x.shape[0]):\n"
        "        out[i] = np.tanh(x[i]) + np.exp2(x[i] / 8) + np.logaddexp(x[i], 3.0)\n"
        "        out[i] += np.sum(x[i:i + 40]) + x[i:i + 9].mean()  # npreduce's loops\n"
        "    return out\n")
    env = {**os.environ, "OPTLEVEL_CACHE_DIR": str(tmp_path / "cache")}
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _NEW_PROCESS.format(path=str(tmp_path))],
                             env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert all(run["equal"] for run in runs)
    # the second process ran the first one's object code, its loops found by symbol
    # (NumPy's sums too: registered only while typing, they crashed the second process)
    assert [run["loaded"] for run in runs] == [False, True]


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


def test_a_loop_calling_numpys_loops_is_raced_against_vectorized_numpy():
    """Each compiled np.log call runs NumPy's loop on one element (about 20 ns):
    level 2 asks for a trial, and auto also times level 1's vectorized form."""
    from optlevel.bench.workloads import threshold_activation

    x = np.random.default_rng(4).uniform(0.0, 100.0, 200_000)
    f = optlevel.optimize(threshold_activation)
    want = threshold_activation(x, 0.5, 1.5)
    for _ in range(12):
        assert np.array_equal(f(x, 0.5, 1.5), want)
    levels = dict(f.stats().levels)
    assert levels.get(1, 0) >= 1 and levels.get(2, 0) >= 1, levels
    row = optlevel.explain(f, x, 0.5, 1.5).row("numba")
    assert "SEM030" in row.reason or "measured" in row.reason, row.reason


def test_a_numpy_whose_ufunc_layout_is_unknown_declines_instead_of_guessing(monkeypatch):
    from optlevel.levels.numba import ufunc_loops

    assert ufunc_loops._read("exp", "d") is not None
    monkeypatch.setattr(ufunc_loops.np, "__version__", "3.0.0")
    assert ufunc_loops._read("exp", "d") is None
    monkeypatch.setattr(ufunc_loops, "_HEAD", ufunc_loops._HEAD + 4)  # a layout misread
    monkeypatch.setattr(ufunc_loops.np, "__version__", "2.4.0")
    assert ufunc_loops._read("exp", "d") is None  # nin/nout/ntypes no longer agree
