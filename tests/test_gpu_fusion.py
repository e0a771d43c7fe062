"""Level 4's fused kernels compute what NumPy computes (:mod:`optlevel.levels.gpu.fusion`).

``cupy.fuse`` types an operation on Python scalars alone by the smallest loop
(``r + 0.5 * v * v`` in float16); the kernels level 4 builds hoist such parts to
the host and type every other operation as NumPy does. Without a GPU the kernels
are traced (CuPy traces and writes the CUDA source before it needs a device) and
their operations' types are read from that source; on the GPU (``-m gpu``) every
operator and ufunc the fuser accepts is run against NumPy.
"""

from __future__ import annotations

import importlib.util
import itertools
import re

import numpy as np
import pytest

from optlevel.analysis import analyze
from optlevel.core.verify import compare
from optlevel.levels.gpu.checks import FLOOR_UFUNCS, FUSABLE_UFUNCS, gpu_findings
from optlevel.levels.gpu.fusion import OPERATORS, FaithfulKernel, TypedOp, faithful_kernel
from optlevel.levels.gpu.libs import CupyLib, get_lib
from optlevel.levels.gpu.namespace import rebind
from optlevel.levels.gpu.probe import cupy_status

HAS_GPU = bool(cupy_status())


def black_scholes(S, K, T, r, v):
    sq = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * v * v) * T) / (v * sq)
    d2 = d1 - v * sq
    cnd1 = 0.5 * (1.0 + np.tanh(0.7978845608 * (d1 + 0.044715 * d1 ** 3)))
    cnd2 = 0.5 * (1.0 + np.tanh(0.7978845608 * (d2 + 0.044715 * d2 ** 3)))
    return S * cnd1 - K * np.exp(-r * T) * cnd2


def scaled(x, n, f):
    k = 2 * n  # Python ints: int8 inside cupy.fuse
    return x * k + np.exp(-f) * x + (x < f * 1.0001)


def options(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(10, 100, n), rng.uniform(10, 100, n), rng.uniform(0.1, 2.0, n)


# --- the kernels, built for a library ------------------------------------------------

def kernel_for(func, lib, proven=True):
    features = analyze(func)
    # the generated cases return a tuple, which level 4's proof leaves unfused (its
    # chunked paths make one array); the kernel builder itself takes tuples
    assert gpu_findings(features, func).elementwise or not proven
    rebound, _codes = rebind(func, features, lib.namespace(False))
    kernel = faithful_kernel(lib, func, features, rebound)
    assert isinstance(kernel, FaithfulKernel)
    return kernel, rebound


def traced_lib():
    """The CuPy adapter without a device: enough to trace and write a kernel."""
    cupy = pytest.importorskip("cupy")
    lib = CupyLib.__new__(CupyLib)
    lib.cp, lib._ns = cupy, {}
    return lib


def fake_array(n, dtype):
    """A CuPy array over memory nobody allocated: traced, never read."""
    cupy = pytest.importorskip("cupy")
    from cupy.cuda import memory

    size = n * np.dtype(dtype).itemsize
    ptr = memory.MemoryPointer(memory.UnownedMemory(1, size, None, 0), 0)
    return cupy.ndarray((n,), dtype, memptr=ptr)


def traced_source(fused, *args):
    """The CUDA source ``cupy.fuse`` wrote for ``args`` (launching fails without a GPU)."""
    try:
        fused(*args)
    except Exception as exc:  # no device here: the trace is done before the launch
        error = exc
    assert fused._memo, f"the trace failed: {error!r}"
    (kernel, _kwargs), = fused._memo.values()
    return kernel.preamble


def submodule_types(source):
    """``{"add": [["double", "double", "double"], ...]}`` from a kernel's source."""
    found: dict[str, list] = {}
    for name, params in re.findall(r"__device__ void cupy_(\w+)\(([^)]*)\)", source):
        found.setdefault(name, []).append([p.split("&")[0].strip() for p in params.split(",")])
    return found


_CTYPES = {"float64": "double", "float32": "float", "float16": "float16", "bool": "bool",
           "complex64": "thrust::complex<float>", "complex128": "thrust::complex<double>",
           "int8": "signed char", "int64": "long long", "uint8": "unsigned char"}


def test_cupy_fuse_computes_python_scalar_arithmetic_in_float16_and_level_4_does_not():
    if HAS_GPU:
        pytest.skip("traces without a device; the GPU tests below run the kernels")
    lib = traced_lib()
    kernel, rebound = kernel_for(black_scholes, lib)
    x = fake_array(4, np.float64)
    import cupy

    plain = submodule_types(traced_source(cupy.fuse(rebound), x, x, x, 0.05, 0.2))
    assert any("float16" in t for sigs in plain.values() for sig in sigs for t in sig)
    split = kernel._make((np.dtype("d"),) * 3 + (float, float))
    ours = submodule_types(traced_source(split.kernel_fn, x, x, x,
                                         *split.prologue(0.05, 0.2)))
    assert {t for sigs in ours.values() for sig in sigs for t in sig} == {"double"}
    assert split.hoisted[:1] == ["v"] and len(split.hoisted) == 3  # v, r + .5v², -r


def test_python_int_and_float_scalars_keep_numpys_types_when_traced():
    if HAS_GPU:
        pytest.skip("traces without a device")
    lib = traced_lib()
    kernel, _ = kernel_for(scaled, lib)
    split = kernel._make((np.dtype("f"), int, float))
    x = fake_array(4, np.float32)
    types = submodule_types(traced_source(split.kernel_fn, x, *split.prologue(3, 0.5)))
    # 2 * n and np.exp(-f) ran on the host; float32 x meets them as NumPy 2 says
    assert "int8" not in str(types) and "float16" not in str(types)
    assert ["float", "float", "bool"] in types["less"]


# --- the generated differential cases -------------------------------------------------

_UNARY = sorted(n for n in FUSABLE_UFUNCS if isinstance(getattr(np, n, None), np.ufunc)
                and getattr(np, n).nin == 1)
_BINARY = sorted(n for n in FUSABLE_UFUNCS if isinstance(getattr(np, n, None), np.ufunc)
                 and getattr(np, n).nin == 2)
_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "true_divide": "/",
            "floor_divide": "//", "remainder": "%", "power": "**", "less": "<",
            "less_equal": "<=", "greater": ">", "greater_equal": ">=", "equal": "==",
            "not_equal": "!="}
assert set(_SYMBOLS) | {"negative", "positive"} == set(OPERATORS.values())
ARRAY_DTYPES = ["float32", "float64", "complex64", "complex128"]
SCALARS = {"py-int": 3, "py-float": 0.7, "py-complex": 0.5 + 0.25j, "py-bool": True,
           "np-float32": np.float32(0.7), "np-float64": np.float64(0.7),
           "np-int64": np.int64(3), "np-complex128": np.complex128(0.5 + 0.25j)}


def _sample(dtype, n=64):
    x = np.linspace(0.05, 0.95, n)
    if np.dtype(dtype).kind == "c":
        x = x + 0.3j * x[::-1]
    return x.astype(dtype)


def _expressions(dtype, scalar):
    """Every fusable ufunc and operator on (x, s), (s, x) and x alone, where NumPy runs it."""
    exprs = [f"np.{n}(x)" for n in _UNARY] + ["-x", "+x"]
    # floor division and modulo never reach a kernel: level 4 declines them (CuPy
    # floors a / b where NumPy divides by fmod; test_gpu_host shows the decline)
    for n in sorted(set(_BINARY) - FLOOR_UFUNCS):
        exprs += [f"np.{n}(x, s)", f"np.{n}(s, x)"]
    for sym in [v for v in _SYMBOLS.values() if v not in ("//", "%")]:
        exprs += [f"x {sym} s", f"s {sym} x"]
    exprs += ["np.where(s, x, s)", "np.where(x, s, x)"]
    x = _sample(dtype)
    kept = []
    for e in exprs:
        try:
            with np.errstate(all="ignore"):
                eval(e, {"np": np}, {"x": x, "s": scalar})
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        kept.append(e)
    return kept


def _fused(tmp_path, name, dtype, s, lib):
    """The kernel of every case the fuser accepts, and the cases it refuses (one case
    it refuses makes the whole function run unfused, so each is traced alone)."""
    accepted, refused = [], []
    for e in _expressions(dtype, s):
        why = _refusal(e, dtype, s)
        (refused.append(f"{e}: {why}") if why else accepted.append(e))
    func = _module(tmp_path, name, accepted)
    kernel, _ = kernel_for(func, lib, proven=False)
    return func, kernel, accepted, refused


def _refusal(expr, dtype, s):
    """Why the fuser refuses ``expr`` alone (traced on the host), or ``""``."""
    cupy = pytest.importorskip("cupy")
    from cupy._core import fusion as cupy_fusion

    name, order = _parse(expr)
    lib = traced_lib()
    op = TypedOp(name, getattr(lib.namespace(False), name), lib.fusion_kinds(), [],
                 cupy.add, cupy.not_equal)

    def one(x, s):
        return op(*[x if o == "x" else s for o in order])

    history = cupy_fusion._FusionHistory()
    cupy_fusion._thread_local.history = history
    cupy_fusion._thread_local.is_old_fusing = True
    try:
        history.get_fusion(one, (fake_array(4, dtype), s), "case")
    except Exception as exc:  # noqa: BLE001 - a refused case, reported by the caller
        return repr(exc)
    finally:
        cupy_fusion._thread_local.history = None
        cupy_fusion._thread_local.is_old_fusing = False
    return ""


def _parse(expr):
    """``"np.add(x, s)"`` → ``("add", ("x", "s"))``; ``"s ** x"`` → ``("power", ("s", "x"))``."""
    found = re.fullmatch(r"np\.(\w+)\(([xs](?:, [xs])*)\)", expr)
    if found:
        name, args = found.groups()
        order = tuple(args.split(", "))
    elif expr in ("-x", "+x"):
        name, order = ("negative" if expr == "-x" else "positive"), ("x",)
    else:
        a, sym, b = expr.split(" ")
        name, order = {v: k for k, v in _SYMBOLS.items()}[sym], (a, b)
    return (getattr(np, name).__name__ if name != "where" else name), order


def _module(tmp_path, name, exprs):
    """A real module file (level 4 reads the function's source) returning every case."""
    lines = [f"    r{i} = {e}" for i, e in enumerate(exprs)]
    body = "\n".join(lines) + "\n    return (" + ", ".join(f"r{i}" for i in range(len(exprs))) \
        + ",)\n"
    path = tmp_path / f"{name}.py"
    path.write_text(f"import numpy as np\n\n\ndef cases(x, s):\n{body}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases


CASES = list(itertools.product(ARRAY_DTYPES, SCALARS))
_DTYPE_OF_X = "float64"
#: cases NumPy runs and CuPy's fuser has no loop for (logical_not and a few more on
#: complex): the function then runs unfused, never wrongly
_REFUSED_AT_MOST = 8


@pytest.mark.parametrize("dtype,scalar", CASES)
def test_every_fusable_operation_is_typed_as_numpy_types_it(tmp_path, dtype, scalar):
    """Traced without a device: each operation's loop in the kernel is NumPy's loop."""
    if HAS_GPU:
        pytest.skip("traces without a device")
    global _DTYPE_OF_X
    _DTYPE_OF_X = dtype
    lib = traced_lib()
    s = SCALARS[scalar]
    func, kernel, exprs, refused = _fused(tmp_path, f"cases_{dtype}_{scalar.replace('-', '_')}",
                                          dtype, s, lib)
    assert len(refused) <= _REFUSED_AT_MOST, refused
    split = kernel._make((np.dtype(dtype), type(s)))
    assert split is not False
    source = traced_source(split.kernel_fn, fake_array(4, dtype), *split.prologue(s))
    assert not split.failures, split.failures
    x = _sample(dtype)
    with np.errstate(all="ignore"):
        expected = func(x, s)
    (kernel_obj, _), = split.kernel_fn._memo.values()
    assert [p.dtype for p in kernel_obj.out_params] == [np.asarray(w).dtype for w in expected]
    types = submodule_types(source)
    for e in exprs:
        name, operands = _ufunc_of(e, s)
        if name is None:
            continue
        loop = getattr(np, name).resolve_dtypes(operands + (None,))
        cupy_name = getattr(lib.cp, name).__name__.removeprefix("cupy_")
        assert [_CTYPES[str(t)] for t in loop] in types.get(cupy_name, []), \
            (e, loop, types.get(cupy_name))


def _ufunc_of(expr, s):
    """The ufunc a case calls and NumPy's description of its operands (x: the array)."""
    name, order = _parse(expr)
    if name == "where":
        return None, ()
    weak = type(s) if type(s) in (int, float, complex) else np.asarray(s).dtype
    return name, tuple(np.dtype(_DTYPE_OF_X) if o == "x" else weak for o in order)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,scalar", CASES)
def test_every_fusable_operation_matches_numpy_on_the_gpu(tmp_path, dtype, scalar):
    """Run on the GPU: every case's value and dtype equal NumPy's (float64 within 1e-9)."""
    if not HAS_GPU:
        pytest.skip(f"no GPU usable through CuPy: {cupy_status().reason}")
    import cupy

    s = SCALARS[scalar]
    func, kernel, exprs, refused = _fused(tmp_path, f"gpu_{dtype}_{scalar.replace('-', '_')}",
                                          dtype, s, get_lib("cupy"))
    assert len(refused) <= _REFUSED_AT_MOST, refused
    x = _sample(dtype, 4096)
    got = kernel(cupy.asarray(x), s)
    split = kernel._splits[(np.dtype(dtype), type(s))]
    assert split is not False and not split.failures, "ran unfused"
    with np.errstate(all="ignore"):
        expected = func(x, s)
    bad = []
    for e, g, w in zip(exprs, got, expected):
        diff = compare(cupy.asnumpy(g), np.asarray(w))
        if diff is not None:
            bad.append(f"{e}: {diff}")
    assert not bad, "\n".join(bad)


@pytest.mark.gpu
def test_black_scholes_at_10m_equals_numpy_at_level_4():
    if not HAS_GPU:
        pytest.skip(f"no GPU usable through CuPy: {cupy_status().reason}")
    import optlevel

    S, K, T = options(10_000_000)
    fast = optlevel.optimize(black_scholes, level=4, strict=True, verify=False)
    got = fast(S, K, T, 0.05, 0.2)
    want = black_scholes(S, K, T, 0.05, 0.2)
    assert got.dtype == want.dtype
    assert np.allclose(got, want, rtol=1e-9, atol=1e-9)
    # relative error where a price is at least a cent: below that, the subtraction of
    # two terms near the spot price cancels, and an ulp of those terms (a few 1e-15
    # absolute, as the GPU's exp and erf round) is more than 1e-9 of the difference
    priced = np.abs(want) >= 0.01
    assert np.max(np.abs(got - want)[priced] / np.abs(want)[priced]) < 1e-9
    assert "cupy" in [s.backend for s in fast.stats().signatures]


def test_the_kernel_on_the_host_stand_in_equals_plain():
    """The generated prologue and kernel, run by NumPy: bit-equal to the function."""
    lib = get_lib("numpy")
    S, K, T = options(1000)
    kernel, _ = kernel_for(black_scholes, lib)
    assert np.array_equal(kernel(S, K, T, 0.05, 0.2), black_scholes(S, K, T, 0.05, 0.2))
    f32 = [a.astype(np.float32) for a in (S, K, T)]
    got, want = kernel(*f32, 0.05, np.float32(0.2)), black_scholes(*f32, 0.05, np.float32(0.2))
    assert got.dtype == want.dtype == np.float32 and np.array_equal(got, want)
    k2, _ = kernel_for(scaled, lib)
    x = np.linspace(0, 1, 50, dtype=np.float32)
    got, want = k2(x, 3, 0.5), scaled(x, 3, 0.5)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def reassigned(x, r):
    r = r * x
    return x + (r + 1.0)


def test_a_name_assigned_twice_runs_unfused_and_right():
    kernel, _ = kernel_for(reassigned, get_lib("numpy"))
    x = np.linspace(0, 1, 9)
    assert np.array_equal(kernel(x, 2.0), reassigned(x, 2.0))
    assert kernel._splits[(x.dtype, float)] is False


def test_a_user_error_in_the_hoisted_part_is_the_users():
    def ratio(x, a, b):
        return x * (a / b)

    kernel, _ = kernel_for(ratio, get_lib("numpy"))
    with pytest.raises(ZeroDivisionError):
        kernel(np.ones(3), 1.0, 0.0)
    assert any(c.co_name == "_optlevel_prologue" for c in kernel.codes)


@pytest.mark.gpu
def test_a_wrong_fused_kernel_is_caught_on_rows_of_a_call_too_large_to_verify(monkeypatch):
    """The kernel ``cupy.fuse`` makes of the pricer as written (its float16 scalars) is
    caught on sampled rows of a 10M call, the check costing under 5% of the call."""
    if not HAS_GPU:
        pytest.skip(f"no GPU usable through CuPy: {cupy_status().reason}")
    import time

    import optlevel
    from optlevel.core import sampling
    from optlevel.errors import ResultMismatchWarning
    from optlevel.levels.gpu import fusion

    monkeypatch.setattr(fusion, "faithful_kernel",
                        lambda lib, func, features, rebound: lib.fuse(rebound, features.name))
    checking = []
    rows_differ = sampling._rows_differ

    def timed(*args):
        start = time.perf_counter()
        try:
            return rows_differ(*args)
        finally:
            checking.append(time.perf_counter() - start)

    monkeypatch.setattr(sampling, "_rows_differ", timed)
    S, K, T = options(10_000_000)
    f = optlevel.optimize(black_scholes, level=4)
    start = time.perf_counter()
    with pytest.warns(ResultMismatchWarning, match="part of its rows"):
        got = f(S, K, T, 0.05, 0.2)
    total = time.perf_counter() - start
    assert np.array_equal(got, black_scholes(S, K, T, 0.05, 0.2))
    spent = sum(checking)
    print(f"row check {spent * 1e3:.2f} ms of a {total * 1e3:.1f} ms first call")
    assert spent < 0.05 * (total - spent)


@pytest.mark.gpu
def test_cupy_floors_a_quotient_where_numpy_divides_by_fmod_so_level_4_declines():
    """Why level 4 declines ``//`` and ``%``: CuPy computes them otherwise (if CuPy ever
    computes NumPy's values, this test says the decline can go)."""
    if not HAS_GPU:
        pytest.skip(f"no GPU usable through CuPy: {cupy_status().reason}")
    import cupy

    import optlevel

    x = np.full(1_000_000, 3.0)
    assert float(cupy.floor_divide(cupy.asarray(x), 0.05)[0]) == 60.0
    assert float(np.floor_divide(x, 0.05)[0]) == 59.0
    assert float(cupy.remainder(cupy.asarray(x), 0.05)[0]) < 0 < float(np.remainder(x, 0.05)[0])

    def floors(x, s):
        return x // s + np.sqrt(x) % s

    fast = optlevel.optimize(floors, level=4)
    with pytest.warns(optlevel.FallbackWarning):
        got = fast(x, 0.05)
    assert compare(got, floors(x, 0.05)) is None
    assert 4 not in fast.stats().levels


def test_a_kernel_that_fails_on_its_first_launch_runs_unfused_and_later_errors_are_the_users():
    """CuPy compiles a fused kernel on its first launch, after the trace accepted it (a
    complex-to-bool cast once failed there on the H100): that launch runs unfused."""
    kernel, rebound = kernel_for(black_scholes, get_lib("numpy"))
    S, K, T = options(100)
    want = black_scholes(S, K, T, 0.05, 0.2)
    split = kernel._make((S.dtype, S.dtype, T.dtype, float, float))

    def fails_to_compile(*args):
        raise RuntimeError("NVRTC_ERROR_COMPILATION")

    split.kernel_fn = fails_to_compile
    assert np.array_equal(kernel(S, K, T, 0.05, 0.2), want)
    assert kernel._splits[(S.dtype, S.dtype, T.dtype, float, float)] is False  # unfused now
    assert np.array_equal(kernel(S, K, T, 0.05, 0.2), want)

    kernel2, _ = kernel_for(black_scholes, get_lib("numpy"))
    assert np.array_equal(kernel2(S, K, T, 0.05, 0.2), want)  # launched once: fused
    split2 = kernel2._splits[(S.dtype, S.dtype, T.dtype, float, float)]

    def shape_error(*args):
        raise ValueError("operands could not be broadcast together")

    split2.kernel_fn = shape_error
    with pytest.raises(ValueError, match="broadcast"):
        kernel2(S, K, T, 0.05, 0.2)
