"""Level 3 on a real local Ray (``ray.init(num_cpus=2)``, started once for this module)."""

import os

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.bench import workloads as W

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow,  # starts a real local Ray
              pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")]


def total(x):
    return np.sum(x * 2)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # Ray's workers import functions by module, as the driver found them: this test
    # module lives in tests/, which is on the driver's path (pytest put it there) only.
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join([here] + [p for p in os.environ.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True, runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield
    ray.shutdown()


def at_ray(func, **options):
    optlevel.configure(executor="ray")
    return optimize(func, level=3, strict=True, verify=False, **options)


def test_elementwise_and_row_loop_on_ray():
    x = np.random.default_rng(0).random(10_001)
    f = at_ray(W.elementwise)
    np.testing.assert_array_equal(f(x), W.elementwise(x))
    a, b = np.arange(35.0).reshape(7, 5), np.arange(20.0).reshape(5, 4)
    g = at_ray(W.rowwise_python_matmul)
    np.testing.assert_allclose(g(a, b), a @ b)
    assert {s.backend for s in f.stats().signatures + g.stats().signatures} == {"ray"}


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_reductions_on_ray(dtype):
    x = (np.arange(1, 2001) % 13).astype(dtype)
    result = at_ray(total)(x)
    assert np.asarray(result).dtype == np.asarray(total(x)).dtype
    np.testing.assert_allclose(result, total(x))


def test_map_on_ray():
    optlevel.configure(executor="ray")
    f = optimize(W.elementwise)
    xs = [np.full(5, float(k)) for k in range(9)]
    for x, result in zip(xs, f.map(xs)):
        np.testing.assert_array_equal(result, W.elementwise(x))


def test_user_exceptions_come_back_with_their_type():
    def strict_positive(x):
        if x.min() <= 0:
            raise ValueError("not positive")
        return np.log(x)

    f = at_ray(strict_positive, split={"x": 0})
    with pytest.raises(ValueError, match="not positive"):
        f(np.arange(-3.0, 5.0))
