"""Level 4 with no usable GPU, as on the development machine and in CI: CuPy absent,
CuPy installed without a driver (the real cupy-cuda12x: every CUDA call raises
``CUDARuntimeError``), and a CPU-only Torch. The planner skips level 4 with the
reason, ``explain`` names the case, and no exception reaches the user."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import optlevel
from optlevel.bench.workloads import elementwise, montecarlo_pi, process_images, small_loop
from optlevel.core.registry import BACKENDS, forget_availability, is_available
from optlevel.levels.gpu.probe import cupy_status, torch_cuda_build, torch_status


def _gpu_usable() -> bool:
    return bool(cupy_status()) or bool(torch_status())


needs_no_gpu = pytest.mark.skipif(_gpu_usable(), reason="a GPU is usable here")


@pytest.fixture(autouse=True)
def fresh_probes():
    forget_availability()
    yield
    forget_availability()


def _rows(f, *args):
    return {r.backend: r for r in optlevel.explain(f, *args).rows if r.backend}


@needs_no_gpu
def test_cupy_without_a_driver_is_unavailable_with_the_cuda_error():
    pytest.importorskip("cupy")
    verdict = cupy_status()
    assert not verdict and "CUDARuntimeError" in verdict.reason
    assert "no CUDA driver or GPU" in verdict.reason


@needs_no_gpu
def test_cpu_only_torch_is_told_without_importing_it(monkeypatch):
    pytest.importorskip("array_api_compat")
    if torch_cuda_build() is not None:
        pytest.skip("this Torch is a CUDA build")
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    verdict = torch_status()
    assert not verdict and "CPU-only build" in verdict.reason
    assert "torch" not in sys.modules


def test_cupy_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # blocks `import cupy`
    assert "CuPy is not installed" in cupy_status().reason
    f = optlevel.optimize(elementwise, level=4)
    row = _rows(f, np.ones(2_000_000))["cupy"]
    assert row.kind == "missing" and "cupy is not installed" in row.reason
    assert row.code == "PL005", row


@needs_no_gpu
def test_explain_names_each_no_gpu_case():
    f = optlevel.optimize(elementwise, level=4)
    rows = _rows(f, np.ones(2_000_000))
    if "cupy" in sys.modules or _installed("cupy"):
        assert rows["cupy"].kind == "unavailable"
        assert "CUDARuntimeError" in rows["cupy"].reason
        assert rows["cupy"].code == "PL006", rows["cupy"]  # installed, no driver
    if _installed("torch") and torch_cuda_build() is None:
        assert rows["torch"].kind == "unavailable"
        assert "CPU-only" in rows["torch"].reason
        assert rows["torch"].code == "PL006", rows["torch"]


def _installed(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


# level=4 with no GPU falls back with a warning; the results are the subject here, the
# warning is test_explicit_level_4_warns_once_naming_every_backend_and_reason's
@pytest.mark.filterwarnings("ignore::optlevel.FallbackWarning")
@needs_no_gpu
@pytest.mark.parametrize("level", [4, "auto"])
def test_calls_fall_back_and_return_the_plain_result(level, ran_at):
    x = np.random.default_rng(0).random(2_000_000)
    f = optlevel.optimize(elementwise, level=level)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert ran_at(f, x) < 4
    np.testing.assert_allclose(f(x), elementwise(x))
    imgs = np.random.default_rng(1).random((2, 8, 8), dtype=np.float32)
    g = optlevel.optimize(process_images, level=level)
    np.testing.assert_allclose(g(imgs), process_images(imgs), rtol=1e-6)


@needs_no_gpu
def test_explicit_level_4_warns_once_naming_every_backend_and_reason():
    f = optlevel.optimize(elementwise, level=4)
    x = np.ones(2_000_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f(x)
        f(x)
    gpu = [str(w.message) for w in caught if issubclass(w.category, optlevel.FallbackWarning)
           and "level 4)" in str(w.message)]
    assert len(gpu) == 1, gpu  # one warning for the level, each backend's reason in it
    for name in ("cupy", "torch"):
        if _installed(name):
            assert f"{name} (level 4) cannot run it:" in gpu[0]


@needs_no_gpu
def test_strict_level_4_raises_level_unavailable_with_the_reason():
    f = optlevel.optimize(elementwise, level=4, strict=True)
    with pytest.raises(optlevel.LevelUnavailable, match="level 4"):
        f(np.ones(10))


def test_the_planner_keeps_small_host_arrays_and_random_draws_off_the_gpu():
    small = _rows(optlevel.optimize(small_loop), np.ones((100, 100)), 100)
    for name in ("cupy", "torch"):
        assert not small[name].tried
    installed = [name for name in ("cupy", "torch") if _installed(name)]
    if not installed:
        pytest.skip("neither cupy nor torch is installed: no GPU backend gets as far as "
                    "reading the function's random draws")
    rows = _rows(optlevel.optimize(montecarlo_pi, level=4), 1000, 0)
    for name in installed:
        assert "gpu_random=True" in rows[name].reason
        assert rows[name].code == "PL016", rows[name]  # random draws kept in Python


def test_gpu_random_is_a_known_option_and_others_are_not():
    optlevel.optimize(montecarlo_pi, gpu_random=True)
    with pytest.raises(optlevel.ConfigError, match="gpu_random"):
        optlevel.optimize(montecarlo_pi, gpu_randm=True)


@needs_no_gpu
def test_to_device_says_why_and_to_host_passes_numpy_through():
    with pytest.raises(optlevel.OptlevelError, match="no GPU is usable"):
        optlevel.to_device(np.ones(3))
    x = np.ones(3)
    assert optlevel.to_host(x) is x
    assert optlevel.to_host((x, 1.0))[1] == 1.0
    with optlevel.on_device():  # harmless without a GPU: CPU levels return NumPy
        assert isinstance(optlevel.optimize(elementwise)(np.ones(4)), np.ndarray)


def test_gpu_backend_setting_picks_one_library(monkeypatch):
    if not _installed("cupy"):
        pytest.skip("cupy is not installed: its row says so before reading the setting")
    monkeypatch.setenv("OPTLEVEL_GPU_BACKEND", "torch")
    optlevel.reload_config()
    rows = _rows(optlevel.optimize(elementwise, level=4), np.ones(2_000_000))
    assert "OPTLEVEL_GPU_BACKEND=torch" in rows["cupy"].reason
    assert rows["cupy"].code == "PL004", rows["cupy"]  # configured out


def test_probes_are_cached_per_backend():
    first = is_available(BACKENDS["cupy"], optlevel.settings())
    assert is_available(BACKENDS["cupy"], optlevel.settings()) is first


def test_import_optlevel_imports_no_gpu_library(run_python):
    out = run_python("""
        import json, sys
        import numpy as np
        import optlevel
        from optlevel.bench.workloads import elementwise
        optlevel.optimize(elementwise, level=2)(np.ones(10))
        print(json.dumps([m for m in ("cupy", "torch") if m in sys.modules]))
    """)
    assert out == []


def test_a_small_host_call_never_probes_the_gpu(monkeypatch):
    """Below the host threshold level 4 says "does not pay" before any probe, so
    planning a small call imports no GPU library and starts no CUDA context."""
    import sys

    from optlevel.core.registry import forget_availability

    for name in ("cupy", "torch"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    forget_availability()
    f = optlevel.optimize(elementwise)
    x = np.ones(1000)
    np.testing.assert_array_equal(f(x), elementwise(x))
    report = optlevel.explain(f, x)
    for name in [n for n in ("cupy", "torch") if _installed(n)]:  # else: "not installed"
        assert report.row(name).kind == "pays" and "below 1,000,000" in report.row(name).reason
        assert report.row(name).code == "PL008", report.row(name)
    assert "cupy" not in sys.modules and "torch" not in sys.modules
    forget_availability()
