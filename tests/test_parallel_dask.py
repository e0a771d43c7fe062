"""Level 3 on a real Dask cluster: a LocalCluster of two worker processes (one thread
each), started once for this module. No mocks: results come back from the workers."""

import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.bench import workloads as W
from optlevel.levels.parallel import remote

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.slow,  # starts a real LocalCluster
              pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")]


def process_images(images):
    mean = images.mean(axis=(1, 2), keepdims=True)
    std = images.std(axis=(1, 2), keepdims=True)
    return np.sin((images - mean) / std) * 0.5 + 0.5


def total(x):
    return np.sum(x * 2)


def fails_on_negative(x):
    return np.sqrt(x) + np.log(x)


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own notices (ports, versions)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()
    remote.close_remote()


def at_dask(func, executor, **options):
    optlevel.configure(executor=executor)
    return optimize(func, level=3, strict=True, verify=False, **options)


def backends(f):
    return {s.backend for s in f.stats().signatures}


def test_elementwise_and_rows_on_a_client(client):
    x = np.random.default_rng(0).random(10_001)
    f = at_dask(W.elementwise, client)
    np.testing.assert_array_equal(f(x), W.elementwise(x))
    images = np.random.default_rng(1).random((6, 8, 8)).astype(np.float32)
    g = at_dask(process_images, client)
    result = g(images)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, process_images(images), rtol=1e-6)
    assert backends(f) == backends(g) == {"dask"}


def test_scheduler_address_from_the_environment(client, monkeypatch):
    address = client.scheduler.address.replace("tcp://", "dask://")
    monkeypatch.setenv("OPTLEVEL_EXECUTOR", address)
    optlevel.reload_config()
    f = optimize(W.rowwise_python_matmul, level=3, strict=True, verify=False)
    a, b = np.arange(35.0).reshape(7, 5), np.arange(20.0).reshape(5, 4)
    np.testing.assert_allclose(f(a, b), a @ b)
    assert backends(f) == {"dask"}


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.complex64])
def test_reductions_and_dtypes(client, dtype):
    x = (np.arange(1, 1001) % 17).astype(dtype)
    inexact = np.dtype(dtype).kind in "fc"
    if inexact:  # a float sum splits only where reassociating it is allowed
        optlevel.configure(executor=client)
        row = optlevel.explain(optimize(total), x).row("dask")
        assert row.kind == "declined" and "sum of floats" in row.reason, row
    f = at_dask(total, client, **({"sum_order": "pairwise"} if inexact else {}))
    result = f(x)
    assert np.asarray(result).dtype == np.asarray(total(x)).dtype
    np.testing.assert_allclose(result, total(x))
    assert backends(f) == {"dask"}


def test_user_exceptions_come_back_unchanged(client):
    def checked(x):
        if x.ndim != 1:
            raise ValueError("want a vector")
        return x * 2

    f = at_dask(checked, client, split={"x": 0})
    np.testing.assert_array_equal(f(np.arange(9.0)), np.arange(9.0) * 2)
    with pytest.raises(ValueError, match="want a vector"):
        f(np.ones((4, 2)))


def first_negative(x):
    if (x < 0).any():
        raise ValueError(f"negative at {int(np.argmax(x < 0))}")
    return np.log(x)


def test_a_piece_that_raises_is_met_by_the_plain_call(client):
    """The exception is the plain call's: its own type, and a message computed on the
    whole array (a piece would say where in the piece)."""
    f = at_dask(first_negative, client, split={"x": 0})
    x = np.arange(1.0, 41.0)
    np.testing.assert_array_equal(f(x), first_negative(x))
    assert backends(f) == {"dask"}
    x[29] = -1.0
    with pytest.raises(ValueError) as raised:
        f(x)
    assert type(raised.value) is ValueError and str(raised.value) == "negative at 29"


def test_warnings_a_dask_piece_raises_reach_the_caller(client):
    f = at_dask(first_negative, client, split={"x": 0})
    x = np.arange(40.0)  # log(0) in the first piece only
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = f(x)
    assert backends(f) == {"dask"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(got, first_negative(x))
    said = [str(w.message) for w in seen if w.category is RuntimeWarning]
    assert said == ["divide by zero encountered in log"]


def test_map_on_dask(client):
    optlevel.configure(executor=client)
    f = optimize(W.rowwise_python_matmul)
    pairs = [(np.eye(3) * k, np.ones((3, 2))) for k in range(7)]
    results = f.map([a for a, _ in pairs], [b for _, b in pairs], chunksize=2)
    for (a, b), result in zip(pairs, results):
        np.testing.assert_allclose(result, a @ b)


def test_an_unreachable_scheduler_means_local_execution_with_a_warning(monkeypatch):
    monkeypatch.setattr(remote, "CONNECT_TIMEOUT_S", 1)
    optlevel.configure(executor="dask://127.0.0.1:9", workers=2)
    f = optimize(W.elementwise, level=3, strict=True, verify=False)
    x = np.random.default_rng(0).random(1 << 20)
    with pytest.warns(optlevel.FallbackWarning, match="cannot be reached") as record:
        result = f(x)
    np.testing.assert_array_equal(result, W.elementwise(x))
    assert sum("cannot be reached" in str(w.message) for w in record) == 1
    assert backends(f) == {"threads"}  # the pieces ran on this machine


def test_shutdown_closes_the_clients_optlevel_connected(client):
    from optlevel.core import runtime

    mine = remote.dask_client(client.scheduler.address, 1)
    assert mine is not client and mine.status == "running"
    assert "parallel.remote" in runtime.RUNTIME.names()["closers"]
    runtime.shutdown()
    assert mine.status == "closed"
    assert client.status == "running"  # the user's own client stays open


OFFSET = 1.0


def shifted(x):
    return x * 2.0 + OFFSET


def test_dask_workers_see_the_callers_current_globals(client):
    global OFFSET
    f = at_dask(shifted, client)
    x = np.arange(10_001, dtype=float)
    try:
        np.testing.assert_array_equal(f(x), shifted(x))
        OFFSET = 5.0  # rebound after the first call: the workers must see 5.0
        np.testing.assert_array_equal(f(x), shifted(x))
        items = [x[:10], x[:20]]
        for got, item in zip(f.map(items), items, strict=True):
            np.testing.assert_array_equal(got, shifted(item))
    finally:
        OFFSET = 1.0
    assert backends(f) == {"dask"}
