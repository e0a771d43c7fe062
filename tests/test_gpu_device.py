"""Level 4 on a real GPU (run on the GPU machine: ``pytest -m gpu tests/test_gpu*.py``).

Every result is compared with the plain function's on the host, by the same rule
verification uses (:func:`optlevel.core.verify.compare`: same container, shape, dtype and
values within the dtype's tolerance, same scalar type). Skipped where no GPU is usable.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import optlevel
from optlevel.bench import workloads as W
from optlevel.core.verify import compare
from optlevel.levels.gpu.probe import cupy_status, torch_status

pytestmark = pytest.mark.gpu

HAS_CUPY = bool(cupy_status())
HAS_TORCH = bool(torch_status())


@pytest.fixture
def gpu():
    """Skips the test unless CuPy can run kernels here; returns cupy."""
    if not HAS_CUPY:
        pytest.skip(f"no GPU usable through CuPy: {cupy_status().reason}")
    import cupy

    pool = cupy.get_default_memory_pool()
    yield cupy
    pool.set_limit(size=0)
    pool.free_all_blocks()


@pytest.fixture
def torch_gpu(monkeypatch):
    if not HAS_TORCH:
        pytest.skip(f"no GPU usable through Torch: {torch_status().reason}")
    import torch

    return torch


def rng(seed=0):
    return np.random.default_rng(seed)


def run4(f, *args, backend=None, **options):
    """Strictly level 4 (no verify: the test compares), and the backend that ran it."""
    fast = optlevel.optimize(f, level=4, strict=True, verify=False, **options)
    out = fast(*args)
    used = [s.backend for s in fast.stats().signatures]
    if backend is not None:
        assert backend in used, f"{fast.stats()}\n{optlevel.explain(fast, *args)}"
    return out


def check(f, *args, backend="cupy", **options):
    out = run4(f, *args, backend=backend, **options)
    plain = f(*_copies(args))
    diff = compare(out, plain)
    assert diff is None, diff.text
    return out


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


# --- functions -----------------------------------------------------------------------

def chain(x, y):
    t = np.sin(x) * y + 2.5
    return np.where(t > 2.0, np.sqrt(np.abs(t)), -t) ** 2


def complex_chain(z, w):
    return np.exp(1j * np.angle(z)) * w + np.conj(z)


def reductions(x):
    return (np.sum(x, axis=0), x.mean(axis=1, keepdims=True), np.std(x), np.max(x),
            np.argmin(x), np.any(x > 0.99), x.sum(axis=(0, 1)))


def masks(x):
    return x[x > 0.5].sum(), np.where(x < 0.2, 0.0, x), np.count_nonzero(x > 0.5)


def broadcast(col, row):
    return np.exp(-(col - row) ** 2) + np.zeros((col.shape[0], row.shape[1]))


def writes(x, y):
    x[:3] = -1.0
    y += 1.0
    return x.sum()


def returns_arg(x):
    x *= 2.0
    return x


def nan_rules(x):
    return np.max(x), np.min(x), np.argmax(x), np.sort(x), np.maximum(x, 0.5)


def int_rules(a, b):
    return a / b, a * 3 - 7, np.abs(a), a * b


def int_floor(a, b):
    return a // b, a % b


def outer_sum(x):
    return np.outer(x, x).sum()


def linear(a, b):
    return np.linalg.norm(a @ b), np.dot(a[0], b[:, 0]), np.trace(a)


# --- the workloads -------------------------------------------------------------------

@pytest.mark.parametrize("name,size", [
    ("elementwise", 2_000_000), ("matmul", 512), ("reduction", 2_000_000),
    ("process_images", 4), ("fft", 1 << 20), ("sort", 1_000_000), ("dot", 1_000_000),
    ("small_loop", 50)])
def test_workloads_match_plain(gpu, name, size):
    w = W.get(name)
    check(w.func, *w.build(size))


@pytest.mark.parametrize("name", ["conditional_accumulate", "normalize_loop",
                                  "threshold_activation", "rowwise_python_matmul"])
def test_element_loops_are_declined(gpu, name):
    w = W.get(name)
    f = optlevel.optimize(w.func, level=4, strict=True)
    with pytest.raises(optlevel.LevelUnavailable, match="element by element"):
        f(*w.build(w.quick_sizes[0]))


def test_montecarlo_pi_draws_on_the_gpu_only_when_asked(gpu):
    out = run4(W.montecarlo_pi, 1_000_000, 0, backend="cupy", gpu_random=True)
    assert type(out) is np.float64 and abs(out - np.pi) < 0.01
    f = optlevel.optimize(W.montecarlo_pi, level=4, strict=True)
    with pytest.raises(optlevel.LevelUnavailable, match="gpu_random=True"):
        f(1000, 0)
    # verification is on by default; a device random stream is never compared with NumPy's
    g = optlevel.optimize(W.montecarlo_pi, level=4, gpu_random=True, verify=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", optlevel.ResultMismatchWarning)
        assert abs(g(1_000_000, 0) - np.pi) < 0.01
    assert g.stats().levels.get(4) == 1


# --- semantics ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_elementwise_chains(gpu, dtype):
    x = rng(1).random(3_000_000).astype(dtype)
    check(chain, x, dtype(0.7))
    check(chain, x, 0.7)  # a Python float keeps float32 float32 (NEP 50)


def test_complex(gpu):
    z = rng(2).random(100_000) + 1j * rng(3).random(100_000)
    check(complex_chain, z, 2.0)
    check(W.fft, z.astype(np.complex64))


def test_reductions_with_axis_and_keepdims(gpu):
    check(reductions, rng(4).random((300, 200)))
    check(reductions, rng(5).random((300, 200)).astype(np.float32))


def test_masks_and_where(gpu):
    check(masks, rng(6).random(500_000))


def test_broadcasting(gpu):
    check(broadcast, rng(7).random((400, 1)), rng(8).random((1, 300)))


def test_nan_handling_follows_numpy(gpu):
    x = rng(9).random(10_000)
    x[[5, 70, 900]] = np.nan
    check(nan_rules, x)


def test_integer_division_and_overflow_follow_numpy(gpu):
    a = rng(10).integers(-1000, 1000, 200_000)
    b = rng(11).integers(-5, 5, 200_000)
    b[b == 0] = 3
    check(int_rules, a, b)
    big = np.array([2**62, -(2**62)] * 1000, dtype=np.int64)
    check(int_rules, big, np.full(2000, 3, dtype=np.int64))
    # integer floor division and modulo stay on the CPU too: one rule for every dtype,
    # since a float can reach `//` from integer arguments (`(a / b) // 1`)
    f = optlevel.optimize(int_floor, level=4, strict=True)
    with pytest.raises(optlevel.LevelUnavailable, match="not NumPy.s"):
        f(a, b)


def test_linear_algebra(gpu):
    check(linear, rng(12).random((300, 300)), rng(13).random((300, 300)))


def test_in_place_writes_are_copied_back(gpu):
    x, y = rng(14).random(200_000), rng(15).random(200_000)
    x2, y2 = x.copy(), y.copy()
    out = run4(writes, x, y, backend="cupy")
    plain = writes(x2, y2)
    assert compare(out, plain) is None
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_allclose(y, y2)


def test_returning_an_argument_returns_it(gpu):
    x = rng(16).random(1000)
    expected = x * 2.0
    assert run4(returns_arg, x, backend="cupy") is x
    np.testing.assert_array_equal(x, expected)


def test_streamed_elementwise_and_pinned_results(gpu):
    x = rng(17).random(9_000_000)  # 72 MB: three chunks of 32 MB
    for _ in range(3):  # the second and third calls reuse the pinned result blocks
        out = check(chain, x, 1.5)
    assert out.flags.c_contiguous and out.shape == x.shape


def test_row_streaming_matches_plain(gpu):
    check(W.matmul, *W.get("matmul").build(1500))  # 18 MB of rows of a: streamed
    gpu.get_default_memory_pool().set_limit(size=24 << 20)  # 21 MB of images: rows
    check(W.process_images, *W.get("process_images").build(80))


# --- device-resident data ---------------------------------------------------------------

def test_cupy_in_cupy_out_without_a_copy(gpu):
    cp = gpu
    x = cp.asarray(rng(18).random(2_000_000))
    out = run4(W.elementwise, x, backend="cupy")
    assert isinstance(out, cp.ndarray)
    np.testing.assert_allclose(out.get(), W.elementwise(x.get()), rtol=1e-12)
    assert run4(returns_arg, x, backend="cupy") is x  # no copy in or out
    total = run4(W.reduction, x, backend="cupy")
    assert isinstance(total, cp.ndarray) and total.ndim == 0


def test_torch_in_torch_out_through_cupy(gpu, torch_gpu):
    torch = torch_gpu
    t = torch.as_tensor(rng(19).random(1_000_000), device="cuda")
    out = run4(W.elementwise, t)
    assert isinstance(out, torch.Tensor) and out.is_cuda and out.dtype == torch.float64
    np.testing.assert_allclose(out.cpu().numpy(), W.elementwise(t.cpu().numpy()), rtol=1e-12)


def test_on_device_pipeline_moves_data_once(gpu):
    cp = gpu
    x = optlevel.to_device(rng(20).random(2_000_000))
    assert isinstance(x, cp.ndarray)
    # verified (the default): inside on_device the host copy of a result is compared
    step1 = optlevel.optimize(W.elementwise, level=4, verify=True)
    step2 = optlevel.optimize(W.reduction, level=4, verify=True)
    host = rng(21).random(2_000_000)
    with optlevel.on_device():
        y = step1(x)
        z = step2(y)
        w = step1(host)  # a NumPy input's result stays on the device too
    assert isinstance(y, cp.ndarray) and isinstance(z, cp.ndarray)
    assert step1.stats().levels.get(0, 0) == 0 and step2.stats().levels.get(0, 0) == 0
    assert isinstance(w, cp.ndarray), f"{step1.stats()}\n{optlevel.explain(step1, host)}"
    expected = W.reduction(W.elementwise(optlevel.to_host(x)))
    assert abs(float(optlevel.to_host(z)) - expected) < 1e-9 * abs(expected)


# --- memory -----------------------------------------------------------------------------

def test_arrays_larger_than_free_memory_run_in_chunks(gpu):
    gpu.get_default_memory_pool().set_limit(size=16 << 20)
    check(chain, rng(22).random(4_000_000), 0.3)  # 32 MB in, 32 MB out, 16 MB allowed


def test_too_big_and_not_elementwise_runs_on_the_cpu_before_starting(gpu):
    gpu.get_default_memory_pool().set_limit(size=1 << 20)
    # large enough that the GPU is the plan (a 700x700 call now measures its work and
    # may be placed on the CPU's threads), far larger than the 1 MB allowed
    x = rng(23).random((3000, 3000))
    f = optlevel.optimize(reductions, level=4, verify=False)
    with pytest.warns(optlevel.FallbackWarning) as caught:  # level 4 was asked for
        assert compare(f(x), reductions(x)) is None
    fallbacks = [str(w.message) for w in caught
                 if issubclass(w.category, optlevel.FallbackWarning)]
    assert fallbacks and all("it ran at level 0" in m for m in fallbacks), fallbacks
    assert {lv: n for lv, n in f.stats().levels.items() if n} == {0: 1}


def test_out_of_memory_falls_back_with_one_warning(gpu):
    gpu.get_default_memory_pool().set_limit(size=64 << 20)
    x = rng(24).random(10_000)  # the plan sees 80 KB; np.outer needs 800 MB
    f = optlevel.optimize(outer_sum, level=4, strict=True, verify=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = f(x), f(x)
    oom = [w for w in caught if "ran out of GPU memory" in str(w.message)]
    assert len(oom) == 1 and issubclass(oom[0].category, optlevel.FallbackWarning), \
        f"{[str(w.message)[:200] for w in caught]}\n{f.stats()}"
    assert compare(first, outer_sum(x)) is None and compare(second, outer_sum(x)) is None
    assert f.stats().levels.get(0) == 2 and f.stats().levels.get(4, 0) == 0


# --- the planner ------------------------------------------------------------------------

def test_auto_keeps_small_work_on_the_cpu_and_big_work_on_the_gpu(gpu):
    small = optlevel.explain(optlevel.optimize(W.elementwise), rng(25).random(100_000))
    assert small.row("cupy").kind == "pays" and small.chosen < 4
    loop = optlevel.explain(optlevel.optimize(W.small_loop),
                            *W.get("small_loop").build(10_000))
    assert loop.chosen < 4
    big = optlevel.explain(optlevel.optimize(W.elementwise), rng(27).random(10_000_000))
    assert big.chosen == 4 and big.row("cupy").cost is not None


# --- Torch ------------------------------------------------------------------------------

def test_torch_backend_matches_plain(torch_gpu, monkeypatch):
    monkeypatch.setenv("OPTLEVEL_GPU_BACKEND", "torch")
    optlevel.reload_config()
    x = rng(28).random(2_000_000)
    check(W.elementwise, x, backend="torch")
    check(W.reduction, x, backend="torch")
    check(W.fft, x + 1j * x, backend="torch")
    check(W.matmul, *W.get("matmul").build(256), backend="torch")
    check(chain, x.astype(np.float32), 0.7, backend="torch")
    check(broadcast, rng(29).random((50, 1)), rng(30).random((1, 40)), backend="torch")


def test_torch_tensors_come_back_as_tensors(torch_gpu, monkeypatch):
    torch = torch_gpu
    monkeypatch.setenv("OPTLEVEL_GPU_BACKEND", "torch")
    optlevel.reload_config()
    t = torch.as_tensor(rng(31).random(1_000_000), device="cuda")
    out = run4(W.elementwise, t, backend="torch")
    assert isinstance(out, torch.Tensor) and out.is_cuda and out.dtype == torch.float64
    np.testing.assert_allclose(out.cpu().numpy(), W.elementwise(t.cpu().numpy()), rtol=1e-12)
