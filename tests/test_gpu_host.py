"""Level 4's machinery on a machine without a GPU: the same code paths the CuPy and
Torch backends run (namespace rebinding, helpers, fusion decisions, chunked
streaming, result conversion, in-place copy-back, failures), with NumPy standing in
for the device (``HostLib``) and with Torch on the CPU (``TorchLib("cpu")``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import optlevel
from optlevel.contract import YES, Estimate
from optlevel.core.verify import compare
from optlevel.levels.gpu import call as gpu_call
from optlevel.levels.gpu.backend_cupy import CupyBackend
from optlevel.levels.gpu.backend_torch import TorchBackend
from optlevel.levels.gpu.checks import gpu_findings
from optlevel.levels.gpu.libs import HostLib, get_lib
from optlevel.levels.gpu.namespace import DeviceNamespace

HAS_TORCH = TorchBackend().requires and all(
    __import__("importlib").util.find_spec(m) for m in ("torch", "array_api_compat"))


class HostGpu(CupyBackend):
    """The CuPy backend's code with NumPy as the device: always available, always pays."""

    name = "gpu-host"
    lib_name = "numpy"
    requires = ()

    def available(self, settings):
        return YES

    def applies(self, features, signature, settings, profile):
        from dataclasses import replace

        from optlevel.levels.gpu import backend as gpu
        return gpu.applies(self, features, signature, replace(settings, gpu_backend="auto"))

    def estimate(self, features, signature, settings, profile):
        return Estimate("yes", "test", 0.0)


class TorchCpuGpu(TorchBackend):
    name = "gpu-torch-cpu"
    lib_name = "torch-cpu"

    def available(self, settings):
        return YES

    def applies(self, features, signature, settings, profile):
        from dataclasses import replace

        from optlevel.levels.gpu import backend as gpu
        return gpu.applies(self, features, signature, replace(settings, gpu_backend="auto"))

    def estimate(self, features, signature, settings, profile):
        return Estimate("yes", "test", 0.0)


@pytest.fixture
def host_gpu(monkeypatch):
    """Level 4 served by :class:`HostGpu` alone (cupy and torch leave the registry)."""
    from optlevel.core.registry import BACKENDS, forget_availability

    for name in ("cupy", "torch"):
        monkeypatch.delitem(BACKENDS, name)
    monkeypatch.setattr("optlevel.levels.gpu.cost.HOST_MIN_ELEMENTS", 0)  # tiny test arrays pay
    backend = HostGpu()
    monkeypatch.setitem(BACKENDS, backend.name, backend)
    forget_availability()
    yield backend
    forget_availability()


@pytest.fixture
def torch_cpu_gpu(monkeypatch):
    if not HAS_TORCH:
        pytest.skip("torch or array-api-compat is not installed")
    from optlevel.core.registry import BACKENDS, forget_availability

    for name in ("cupy", "torch"):
        monkeypatch.delitem(BACKENDS, name)
    monkeypatch.setattr("optlevel.levels.gpu.cost.HOST_MIN_ELEMENTS", 0)  # tiny test arrays pay
    backend = TorchCpuGpu()
    monkeypatch.setitem(BACKENDS, backend.name, backend)
    forget_availability()
    yield backend
    forget_availability()


def _level4(f, *args, **kwargs):
    """Run ``f`` strictly at level 4 and return its result and the plain one."""
    fast = optlevel.optimize(f, level=4, strict=True, verify=False)
    result = fast(*args, **kwargs)
    assert _levels(fast) == {4: 1}, fast.stats()
    return result, f(*args, **kwargs)


def _levels(f):
    """The levels ``f``'s calls ran at, with their counts."""
    return {level: n for level, n in f.stats().levels.items() if n}


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    else:
        assert np.allclose(a, b)


# --- functions under test -----------------------------------------------------------

def chain(x, y):
    t = np.sin(x) * y + 2.5
    return np.where(t > 2.0, np.sqrt(np.abs(t)), -t) ** 2


def reductions(x):
    return np.sum(x, axis=0), x.mean(axis=1, keepdims=True), np.std(x), np.max(x)


def total(x):
    return np.sum(x)


def count(x):
    return np.count_nonzero(x > 0.5)


def _scale(v):
    return np.zeros_like(v) + v * 3.0


def uses_helper(x):
    return _scale(x) + np.ones(x.shape)


def writes(x, y):
    x[:3] = -1.0
    y += 1.0
    return x.sum()


def returns_arg(x):
    x *= 2.0
    return x


def raises_user(x):
    if np.any(x < 0):
        raise ValueError("negative input")
    return x * 2.0


def zero_d_made(x):
    return np.asarray(np.sum(x))


def element_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def array_loop(y, steps):
    for _ in range(steps):
        y = y * 0.25 + 1.0
    return y


def argsorts(x):
    return np.argsort(x)


def stable_argsort(x):
    return np.argsort(x, kind="stable")


def draws(n):
    return np.random.random(n).sum()


def floor_op(x, s):
    return x // s


def mod_op(x, s):
    return x % s


def floor_ufunc(x, s):
    return np.floor_divide(x, s) + np.remainder(x, s)


def floor_builtin(x, s):
    q, r = divmod(x, s)
    return q


def floor_augmented(x, s):
    y = x * 1.0
    y //= s
    return y


# --- tests ---------------------------------------------------------------------------

def test_findings_prove_elementwise_and_classify_loops():
    feats = optlevel.optimize(chain).features
    assert gpu_findings(feats, chain).elementwise
    f2 = optlevel.optimize(reductions).features
    assert not gpu_findings(f2, reductions).elementwise
    f3 = optlevel.optimize(element_loop).features
    assert gpu_findings(f3, element_loop).element_loops
    f4 = optlevel.optimize(array_loop).features
    found = gpu_findings(f4, array_loop)
    assert found.array_loops and not found.element_loops
    f5 = optlevel.optimize(argsorts).features
    assert gpu_findings(f5, argsorts).unstable_order
    f6 = optlevel.optimize(stable_argsort).features
    assert not gpu_findings(f6, stable_argsort).unstable_order


@pytest.mark.parametrize("func", [floor_op, mod_op, floor_ufunc, floor_builtin,
                                  floor_augmented])
def test_floor_division_and_modulo_stay_on_the_cpu_with_the_reason(host_gpu, func):
    """CuPy floors a / b where NumPy divides by fmod (3.0 // 0.05: 59.0 against 60.0,
    measured on an H100): level 4 declines every form, before any device is touched."""
    x = np.full(64, 3.0)
    fast = optlevel.optimize(func, level=4)
    rows = {r.backend: r for r in optlevel.explain(fast, x, 0.05).rows}
    assert "divides by fmod" in rows["gpu-host"].reason, rows["gpu-host"].reason
    assert rows["gpu-host"].code == "PL007", rows["gpu-host"]
    with pytest.warns(optlevel.FallbackWarning):  # level 4 was asked for
        got = fast(x, 0.05)
    want = func(x, 0.05)
    assert compare(got, want) is None and float(np.ravel(want)[0]) != 60.0
    assert 4 not in fast.stats().levels


def test_elementwise_chain_matches_plain(host_gpu):
    x = np.random.default_rng(1).random(1000)
    result, plain = _level4(chain, x, 0.7)
    _same(result, plain)


def test_reductions_axis_keepdims_and_scalars(host_gpu):
    x = np.random.default_rng(2).random((40, 30))
    result, plain = _level4(reductions, x)
    assert isinstance(result, tuple) and len(result) == 4
    for a, b in zip(result, plain):
        _same(a, b)
    r, p = _level4(total, x)
    assert type(r) is type(p) is np.float64
    r, p = _level4(count, x)
    assert type(r) is type(p) and r == p


def test_helpers_are_rebound(host_gpu):
    x = np.arange(12.0)
    result, plain = _level4(uses_helper, x)
    _same(result, plain)


def test_in_place_writes_are_copied_back(host_gpu):
    x, y = np.arange(10.0), np.ones(10)
    x2, y2 = x.copy(), y.copy()
    fast = optlevel.optimize(writes, level=4, strict=True, verify=False)
    result = fast(x, y)
    plain = writes(x2, y2)
    _same(result, plain)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_returning_an_argument_returns_the_same_array(host_gpu):
    x = np.arange(5.0)
    fast = optlevel.optimize(returns_arg, level=4, strict=True, verify=False)
    out = fast(x)
    assert out is x
    np.testing.assert_array_equal(x, np.arange(5.0) * 2)


def test_user_exception_propagates_unchanged(host_gpu):
    fast = optlevel.optimize(raises_user, level=4, strict=True, verify=False)
    with pytest.raises(ValueError, match="negative input"):
        fast(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(fast(np.array([1.0, 2.0])), [2.0, 4.0])
    assert _levels(fast) == {4: 1}  # the raising call is not counted; level 4 was kept


def _fallbacks(caught):
    """The FallbackWarnings' messages: one per level above the one that ran."""
    return [str(w.message) for w in caught if issubclass(w.category, optlevel.FallbackWarning)]


def test_zero_d_array_results_fall_back_to_plain(host_gpu):
    fast = optlevel.optimize(zero_d_made, level=4, verify=False)
    x = np.arange(4.0)
    with pytest.warns(optlevel.FallbackWarning) as caught:  # one per level above 0
        out = fast(x)
    messages = _fallbacks(caught)
    assert any("gpu-host (level 4) cannot run it" in m and "0-d result" in m
               for m in messages), messages
    assert all("it ran at level 0 (python)" in m for m in messages), messages
    assert type(out) is np.ndarray and out.ndim == 0 and out == 6.0


def test_library_failure_falls_back_with_the_plain_result(host_gpu, monkeypatch):
    lib = get_lib("numpy")
    broken = DeviceNamespace("numpy", np, {"sin": _broken_sin})
    monkeypatch.setitem(lib._ns, False, broken)
    fast = optlevel.optimize(chain, level=4, verify=False)
    x = np.linspace(0, 1, 50)
    with pytest.warns(optlevel.FallbackWarning) as caught:  # one per level above 0
        out = fast(x, 2.0)
    messages = _fallbacks(caught)
    assert any("failed when called" in m for m in messages), messages
    assert all("it ran at level 0 (python)" in m for m in messages), messages
    _same(out, chain(x, 2.0))
    assert _levels(fast) == {0: 1}


def _broken_sin(x):
    raise RuntimeError("no kernel for this dtype")


def test_out_of_memory_runs_on_cpu_with_one_warning(host_gpu, monkeypatch):
    lib = get_lib("numpy")
    monkeypatch.setitem(lib._ns, False, DeviceNamespace("numpy", np, {"sin": _oom_sin}))
    fast = optlevel.optimize(chain, level=4, verify=False)
    x = np.linspace(0, 1, 50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out1 = fast(x, 2.0)
        out2 = fast(x, 2.0)
    oom = [w for w in caught if "ran out of GPU memory" in str(w.message)]
    assert len(oom) == 1 and issubclass(oom[0].category, optlevel.FallbackWarning)
    _same(out1, chain(x, 2.0))
    _same(out2, chain(x, 2.0))
    levels = fast.stats().levels
    assert levels.get(0) == 2 and levels.get(4, 0) == 0, levels  # counted where they ran


def _oom_sin(x):
    raise MemoryError("out of device memory")


def test_elementwise_streams_in_chunks(host_gpu, monkeypatch):
    monkeypatch.setattr(gpu_call, "STREAM_MIN_BYTES", 64)
    monkeypatch.setattr(gpu_call, "_CHUNK_BYTES", 80)  # 10 float64 per chunk
    chunks = []
    original = HostLib.stream

    def counting(self, kernel, args, shape, per_chunk, ctx, fits=True):
        chunks.append(per_chunk)
        return original(self, kernel, args, shape, per_chunk, ctx, fits)

    monkeypatch.setattr(HostLib, "stream", counting)
    x = np.random.default_rng(3).random((7, 9))
    result, plain = _level4(chain, x, 1.5)
    _same(result, plain)
    assert chunks == [10]


def matmul(a, b):
    return a @ b


def vector_dot(x, y):
    return np.dot(x, y)


def test_row_independent_work_streams_in_row_chunks(host_gpu, monkeypatch):
    monkeypatch.setattr(gpu_call, "STREAM_MIN_BYTES", 64)
    monkeypatch.setattr(gpu_call, "_CHUNK_BYTES", 3 * 8 * 8)  # three rows of 8 per chunk
    calls = []
    original = HostLib.stream_rows

    def counting(self, kernel, args, split, n_rows, per_chunk, ctx, fits=True):
        calls.append((sorted(split), n_rows, per_chunk))
        return original(self, kernel, args, split, n_rows, per_chunk, ctx, fits)

    monkeypatch.setattr(HostLib, "stream_rows", counting)
    a, b = rng_matrix(10, 8), rng_matrix(8, 5)
    result, plain = _level4(matmul, a, b)
    _same(result, plain)
    assert calls == [([0], 10, 3)]
    from optlevel.bench.workloads import process_images

    imgs = np.random.default_rng(12).random((7, 4, 4), dtype=np.float32)
    result, plain = _level4(process_images, imgs)  # fits: runs whole, several kernels
    np.testing.assert_allclose(result, plain, rtol=1e-5)
    assert len(calls) == 1
    monkeypatch.setattr(HostLib, "free_bytes", lambda self: 3000)  # does not fit: rows
    result, plain = _level4(process_images, imgs)
    np.testing.assert_allclose(result, plain, rtol=1e-5)
    assert result.dtype == np.float32 and calls[-1] == ([0], 7, 2)
    x = np.random.default_rng(13).random(100)
    result, plain = _level4(vector_dot, x, x)  # vectors: no rows to stream
    _same(result, plain)
    assert len(calls) == 2


def rng_matrix(n, m):
    return np.random.default_rng(n * 100 + m).random((n, m))


def test_memory_too_small_refuses_before_starting(host_gpu, monkeypatch):
    monkeypatch.setattr(HostLib, "free_bytes", lambda self: 100)
    fast = optlevel.optimize(reductions, level=4, verify=False)
    x = np.random.default_rng(4).random((10, 10))
    with pytest.warns(optlevel.FallbackWarning, match="it ran at level 0.*GPU memory"):
        out = fast(x)  # does not fit, not elementwise: this call runs at level 0
    for a, b in zip(out, reductions(x)):
        _same(a, b)
    assert _levels(fast) == {0: 1}


def test_memory_too_small_streams_elementwise(host_gpu, monkeypatch):
    monkeypatch.setattr(HostLib, "free_bytes", lambda self: 200_000)
    x = np.random.default_rng(5).random(100_000)
    result, plain = _level4(chain, x, 0.5)
    _same(result, plain)


def test_on_device_keeps_results_on_the_device(host_gpu):
    x = np.arange(6.0)
    fast = optlevel.optimize(zero_d_made, level=4, strict=True, verify=False)
    with optlevel.on_device():
        out = fast(x)  # the device's own 0-d array, as it is: no conversion to decide
    assert isinstance(out, np.ndarray) and out.ndim == 0 and out == 15.0


# level 1 advises on element_loop's loop; the level-4 declines are the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_declines_name_their_reason(host_gpu):
    x = np.arange(2000.0)
    rows = {r.backend: r for r in optlevel.explain(
        optlevel.optimize(element_loop, level=4), x).rows}
    assert "element by element" in rows["gpu-host"].reason
    assert rows["gpu-host"].code == "PL007", rows["gpu-host"]  # declined: the loop's form
    rows = {r.backend: r for r in optlevel.explain(optlevel.optimize(argsorts, level=4),
                                                    x).rows}
    assert "kind='stable'" in rows["gpu-host"].reason
    assert rows["gpu-host"].code == "PL007", rows["gpu-host"]  # cannot serve it
    rows = {r.backend: r for r in optlevel.explain(optlevel.optimize(draws, level=4),
                                                    10).rows}
    assert "gpu_random=True" in rows["gpu-host"].reason
    assert rows["gpu-host"].code == "PL016", rows["gpu-host"]  # random draws kept in Python
    report = optlevel.explain(optlevel.optimize(draws, level=4, gpu_random=True), 10)
    assert report.row("gpu-host").tried


def test_gpu_random_draws_on_the_device(host_gpu):
    fast = optlevel.optimize(draws, level=4, strict=True, gpu_random=True, verify=False)
    value = fast(1000)
    assert 400 < value < 600 and _levels(fast) == {4: 1}


def test_array_loop_runs_on_the_device(host_gpu):
    y = np.random.default_rng(6).random((10, 10))
    result, plain = _level4(array_loop, y, 50)
    _same(result, plain)


# --- Torch on the CPU: the NumPy-compatible namespace ---------------------------------

def torch_mix(x):
    m = np.mean(x, axis=0, keepdims=True)
    s = np.std(x, axis=0, keepdims=True, ddof=1)
    z = np.zeros(x.shape[1]) + np.linspace(0.0, 1.0, x.shape[1])
    return np.where((x - m) / s > 0.0, np.power(x, 2), np.absolute(x)) + z


def torch_fft_sort(x):
    return np.sort(x), np.abs(np.fft.fft(x)), np.dot(x, x), np.max(x)


def test_torch_namespace_matches_numpy(torch_cpu_gpu):
    x = np.random.default_rng(7).standard_normal((20, 8))
    result, plain = _level4(torch_mix, x)
    _same(result, plain)
    v = np.random.default_rng(8).standard_normal(64)
    result, plain = _level4(torch_fft_sort, v)
    for a, b in zip(result, plain):
        _same(a, b)


def test_torch_keeps_float32_and_declines_integers(torch_cpu_gpu):
    x = np.random.default_rng(9).random(100).astype(np.float32)
    result, plain = _level4(chain, x, np.float32(0.5))
    assert result.dtype == plain.dtype == np.float32
    np.testing.assert_allclose(result, plain, rtol=1e-5)
    report = optlevel.explain(optlevel.optimize(chain, level=4), np.arange(10), 2)
    assert "promotes integers" in report.row("gpu-torch-cpu").reason
    assert report.row("gpu-torch-cpu").code == "PL007", report.row("gpu-torch-cpu")


def test_torch_declines_array_methods(torch_cpu_gpu):
    from optlevel.bench.workloads import process_images

    imgs = np.random.default_rng(10).random((2, 4, 4), dtype=np.float32)
    report = optlevel.explain(optlevel.optimize(process_images, level=4), imgs)
    assert ".std()" in report.row("gpu-torch-cpu").reason
    assert report.row("gpu-torch-cpu").code == "PL007", report.row("gpu-torch-cpu")


def test_missing_operation_is_named(torch_cpu_gpu):
    def uses_polyfit(x):
        return np.polyval(x, 2.0)

    report = optlevel.explain(optlevel.optimize(uses_polyfit, level=4), np.ones(5))
    assert "np.polyval has no" in report.row("gpu-torch-cpu").reason
    assert report.row("gpu-torch-cpu").code == "PL007", report.row("gpu-torch-cpu")


def torch_scans(x):
    return np.cumsum(x), np.cumprod(x[:4], axis=1), np.cumsum(x, axis=0) * 0.5


def test_torch_scans_follow_numpy(torch_cpu_gpu):
    """Torch's cumsum needs dim=; NumPy's scans the flattened array without an axis (a
    10M-element np.cumsum once failed on Torch on the H100 and ran plain forever)."""
    x = np.random.default_rng(11).random((50, 6))
    result, plain = _level4(torch_scans, x)
    for a, b in zip(result, plain):
        _same(a, b)


def torch_median(x):
    return np.median(x) + 1.0


def test_a_torch_function_with_another_meaning_is_declined_by_name(torch_cpu_gpu):
    """torch.median of an even count is the lower middle value (2.0 for [1, 2, 3, 4],
    NumPy 2.5): a wrong answer if it ran, so level 4 on Torch declines np.median."""
    import torch

    assert float(torch.median(torch.tensor([1.0, 2.0, 3.0, 4.0]))) == 2.0
    x = np.arange(1.0, 5.0)
    fast = optlevel.optimize(torch_median, level=4)
    row = optlevel.explain(fast, x).row("gpu-torch-cpu")
    assert "np.median means something else on torch" in row.reason, row.reason
    assert row.code == "PL007", row
    with pytest.warns(optlevel.FallbackWarning):  # level 4 was asked for
        assert fast(x) == 3.5
    assert 4 not in fast.stats().levels


def int_power(x, k):
    return x ** k + 1


def float_power_of(x, k):
    return np.power(x, k) * 0.5


def squares_of_indices(x, k):
    return np.arange(x.shape[0]) ** k + x


def test_a_power_that_may_raise_in_numpy_is_declined_for_integer_arrays(host_gpu):
    """NumPy raises ValueError for an integer array to a negative integer power; CuPy's
    integral_power returns 0, 1 or -1 (its source: "not officially documented"). So
    level 4 declines a non-literal exponent wherever an integer array may meet it."""
    ints = np.arange(1, 6)
    fast = optlevel.optimize(int_power, level=4)
    row = optlevel.explain(fast, ints, 2).row("gpu-host")
    assert "may be a negative integer" in row.reason and row.code == "PL007", row
    with pytest.warns(optlevel.FallbackWarning):  # level 4 was asked for
        assert np.array_equal(fast(ints, 2), int_power(ints, 2))
    with pytest.raises(ValueError, match="negative integer powers"):
        fast(ints, -1)  # as plain NumPy does
    assert 4 not in fast.stats().levels
    # integers the body makes count too, whatever the arguments' dtypes
    body = optlevel.optimize(squares_of_indices, level=4)
    row = optlevel.explain(body, np.ones(5), 2).row("gpu-host")
    assert "may be a negative integer" in row.reason, row


def test_float_powers_with_any_exponent_still_run_on_the_gpu(host_gpu):
    x = np.random.default_rng(12).random(1000)
    for k in (2, -1, 2.5, np.float64(-0.5)):
        result, plain = _level4(float_power_of, x, k)
        _same(result, plain)
    result, plain = _level4(int_power, x, -3)  # a float base: NumPy computes floats
    _same(result, plain)


def gather(x, idx):
    return x[idx] * 2.0


def scatter(x, order):
    out = np.zeros_like(x)
    out[order] = x
    return out


def safe_indexes(x, mask, k):
    last = x.shape[0] - 1
    inner = slice(1, -1)
    outer = x[inner, np.newaxis] * x[np.newaxis, ...] + x[None, :]
    return x[x > 0.5].sum() + x[last] + x[k] + x[mask].sum() + x[1:-1].mean() + \
        outer[..., 0].sum()


def test_an_integer_array_index_is_declined_since_cupy_wraps_it_around(host_gpu):
    """NumPy raises IndexError for an index out of bounds; CuPy wraps it around
    (CuPy's own "Differences between CuPy and NumPy"): a value where plain raises."""
    x = np.arange(3.0)
    for func, args in ((gather, (x, np.array([0, 2]))), (scatter, (x, np.array([2, 0, 1])))):
        fast = optlevel.optimize(func, level=4)
        row = optlevel.explain(fast, *args).row("gpu-host")
        assert "may be an integer array" in row.reason and row.code == "PL007", row
        with pytest.warns(optlevel.FallbackWarning):  # level 4 was asked for
            _same(fast(*args), func(*args))
        assert 4 not in fast.stats().levels
    with pytest.raises(IndexError):
        optlevel.optimize(gather, level=4)(x, np.array([1, 3]))  # as plain NumPy does


def test_slices_masks_and_scalar_indexes_still_run_on_the_gpu(host_gpu):
    x = np.random.default_rng(13).random(1000)
    result, plain = _level4(safe_indexes, x, x < 0.3, 7)
    _same(result, plain)
    # a float array as an index raises in both libraries: nothing to decline
    row = optlevel.explain(optlevel.optimize(gather, level=4), x, x).row("gpu-host")
    assert "integer array" not in row.reason, row


def to_bins(x, n):
    return (x * n).astype(np.int64)


def to_float32(x):
    return x.astype(np.float32) + np.zeros(x.shape, dtype=np.int64)


def test_a_cast_to_an_integer_type_is_declined(host_gpu):
    """NaN to int64 is -2**63 in NumPy on x86 (with a warning), what CUDA's conversion
    gives on the GPU (CuPy's "Differences between CuPy and NumPy"): level 4 declines
    casts that may go to an integer type; float casts and integer zeros still run."""
    x = np.array([0.25, np.nan, 0.75])
    fast = optlevel.optimize(to_bins, level=4)
    row = optlevel.explain(fast, x, 4).row("gpu-host")
    assert "a cast to `np.int64`" in row.reason and row.code == "PL007", row
    with pytest.warns((optlevel.FallbackWarning, RuntimeWarning)):
        _same(fast(x, 4), to_bins(x, 4))
    assert 4 not in fast.stats().levels
    y = np.random.default_rng(14).random(100)
    result, plain = _level4(to_float32, y)
    _same(result, plain)


def mean_power(x, p):
    n = x.shape[0]
    return (x ** p).sum() / n + len(x)


def test_sizes_in_the_body_do_not_count_as_integer_arrays(host_gpu):
    x = np.random.default_rng(15).random(500)
    result, plain = _level4(mean_power, x, -2)
    _same(result, plain)
