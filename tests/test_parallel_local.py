"""Level 3 on this machine: threads, processes and prange give the plain function's
results (values, dtype, shape, in-place writes), for uneven, tiny and empty pieces."""

import math
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.bench import workloads as W
from optlevel.levels.parallel import costs, shm

pytestmark = pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")

DTYPES = [np.float32, np.float64, np.complex128, np.int64]
SIZES = [0, 1, 2, 7, 101]


def process_images(images):
    mean = images.mean(axis=(1, 2), keepdims=True)
    std = images.std(axis=(1, 2), keepdims=True)
    z = (images - mean) / std
    return np.sin(z) * 0.5 + 0.5


def affine(x, w):
    return x * w + 1


def scaled_in_place(x, y):
    x *= 3
    x += y
    return x


def clipped_in_place(x):
    x[:] = np.clip(x, 0, 5)


def total(x):
    return np.sum(x * 2)


def smallest(x):
    return np.min(x * 2)


def any_big(x):
    return np.any(x > 50)


def double_rows(x):
    for i in range(len(x)):
        x[i] = x[i] * 2


def column_scale(x):
    return x / np.abs(x).sum(axis=0).clip(1, None)


def data(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 90, size=shape)
    if np.dtype(dtype).kind == "c":
        return (x + 1j * rng.integers(-5, 5, size=shape)).astype(dtype)
    return x.astype(dtype)


@pytest.fixture
def at_level_3(monkeypatch):
    """``at_level_3(f, executor, **options)``: f strictly at level 3 on that executor,
    three workers (on two cores: pieces are uneven), blocks of a few rows."""
    monkeypatch.setattr(costs, "BLOCK_BYTES", 24)

    def make(func, executor, **options):
        optlevel.configure(executor=executor, workers=3)
        return optimize(func, level=3, strict=True, verify=False, **options)

    return make


def backends(f):
    out = {}
    for s in f.stats().signatures:
        out[s.backend] = out.get(s.backend, 0) + s.calls
    return out


def same(result, expected):
    assert type(result) is type(expected)
    if isinstance(expected, np.ndarray):
        assert result.dtype == expected.dtype and result.shape == expected.shape
        np.testing.assert_allclose(result, expected, rtol=1e-6 if result.dtype.itemsize <= 4
                                   else 1e-12)
    else:
        assert np.asarray(result).dtype == np.asarray(expected).dtype
        np.testing.assert_allclose(result, expected, rtol=1e-6)


@pytest.mark.parametrize("executor", ["threads", "processes"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_elementwise_equals_plain(at_level_3, executor, dtype, n):
    x = data(dtype, n)
    func = W.elementwise if np.dtype(dtype).kind in "fc" else affine
    args = (x,) if func is W.elementwise else (x, 3)
    f = at_level_3(func, executor)
    same(f(*args), func(*args))
    assert f.stats().levels == {3: 1}


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_rows_with_reductions_over_other_axes(at_level_3, executor):
    images = data(np.float32, (5, 6, 4)) + np.float32(0.5)
    f = at_level_3(process_images, executor)
    same(f(images), process_images(images))
    assert backends(f) == {executor: 1}


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_whole_array_broadcast_over_trailing_axes(at_level_3, executor):
    x, w = data(np.float64, (7, 3)), data(np.float64, 3, seed=1)
    f = at_level_3(affine, executor)
    same(f(x, w), affine(x, w))


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_in_place_writes_and_identity(at_level_3, executor):
    x, y = data(np.float64, 9), data(np.float64, 9, seed=1)
    expected_x = x.copy()
    expected = scaled_in_place(expected_x, y)
    f = at_level_3(scaled_in_place, executor)
    result = f(x, y)
    assert result is x  # the plain function returns its argument itself
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(result, expected)

    z = data(np.float64, (5, 2)) - 20
    plain = z.copy()
    assert at_level_3(clipped_in_place, executor)(z) is None
    clipped_in_place(plain)
    np.testing.assert_array_equal(z, plain)


@pytest.mark.parametrize("executor", ["threads", "processes"])
@pytest.mark.parametrize("func", [total, smallest, any_big])
@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_reductions_combine_pieces(at_level_3, executor, func, dtype):
    x = data(dtype, 11)
    # a float sum splits only where reassociating it is allowed (below)
    pairwise = {"sum_order": "pairwise"} if func is total and dtype == np.float32 else {}
    f = at_level_3(func, executor, **pairwise)
    same(f(x), func(x))


def halved_total(x):
    return np.sum(x * 0.5)


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_float_sum_is_not_split_by_default(at_level_3, executor):
    """np.sum adds pairwise over the whole array: pieces' sums added together give other
    last bits (here, a sum that cancels). Called with floats, level 3 declines it up front
    (explain says why); made of floats from ints, the pieces' sums are found to be floats
    when they return, before anything changed, and the call runs at a level below: the
    result is the plain one, bit for bit. sum_order='pairwise' lets level 3 split it."""
    x = np.tile([1e16, 1.0, -1e16, 1.0], 4096)
    optlevel.configure(executor=executor, workers=3)
    row = optlevel.explain(optimize(total), x).row(executor)
    assert row.kind == "declined" and "sum of floats (x)" in row.reason, row
    with pytest.raises(optlevel.LevelUnavailable, match="sum_order='pairwise'"):
        at_level_3(total, executor)(x)

    k = np.arange(1, 40001) % 7  # ints: the verdict lets it through, the pieces run
    with pytest.raises(optlevel.LevelUnavailable,
                       match=rf"level 3 \({executor}\): failed when called: InexactSum: its "
                             r"pieces' sums are float64"):
        at_level_3(halved_total, executor)(k)
    assert np.array_equal(k, np.arange(1, 40001) % 7)

    g = at_level_3(total, executor, sum_order="pairwise")
    y = data(np.float64, 1000)  # a sum that does not cancel: equal to about 1e-12
    np.testing.assert_allclose(g(y), total(y), rtol=1e-12)
    assert backends(g) == {executor: 1}
    assert g(x) != total(x)  # the reassociated sum of the cancelling data: not 0.0


def test_row_loop_on_processes(at_level_3):
    a, b = data(np.float64, (7, 5)), data(np.float64, (5, 4), seed=1)
    f = at_level_3(W.rowwise_python_matmul, "processes")
    same(f(a, b), W.rowwise_python_matmul(a, b))
    x = data(np.int64, 10)
    expected = x * 2
    assert at_level_3(double_rows, "processes")(x) is None
    np.testing.assert_array_equal(x, expected)
    assert shm.live_segments() == []


def test_large_arguments_travel_through_shared_memory(at_level_3):
    # b (1 MB) is shared whole; the result (> 64 KB) comes back through shared memory too
    a, b = data(np.float64, (8, 4)), data(np.float64, (4, 16384), seed=1)
    f = at_level_3(W.rowwise_python_matmul, "processes")
    np.testing.assert_allclose(f(a, b), a @ b)
    assert shm.live_segments() == []


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_split_hint_along_axis_1(at_level_3, executor):
    x = data(np.float64, (4, 9))
    f = at_level_3(column_scale, executor, split={"x": 1})
    assert not optlevel.explain(column_scale).features.split.ok  # the hint is needed
    same(f(x), column_scale(x))


def test_hint_with_mismatched_lengths_is_a_clear_error(at_level_3):
    def pair(a, b):
        return a + b

    f = at_level_3(pair, "threads", split={"a": 0, "b": 0})
    with pytest.raises(optlevel.ConfigError, match=r"'a' has length 4 on axis 0, 'b' has "
                                                   r"length 5 on axis 0"):
        f(np.ones(4), np.ones(5))


def test_user_exceptions_propagate_unchanged(at_level_3):
    def shapes_clash(x, y):
        return x + y

    for executor in ("threads", "processes"):
        f = at_level_3(shapes_clash, executor, split={"x": 0})
        with pytest.raises(ValueError, match="broadcast"):
            f(np.ones((6, 3)), np.ones(4))
    assert shm.live_segments() == []


def log_rows_in_place(x):
    for i in range(x.shape[0]):
        x[i] = math.log(x[i])
    return x


def log_rows_numpy(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = np.log(x[i]) * 2.0
    return out


def sqrt_rows_checked(x):
    for i in range(x.shape[0]):
        row = x[i]
        if row.min() < 0:
            raise ValueError(f"negative at row {i}")
        x[i] = np.sqrt(row) * 2.0
    return x


@pytest.mark.parametrize("executor, func, message", [
    ("processes", log_rows_in_place, "math domain error"),
    ("processes", sqrt_rows_checked, "negative at row 17"),
    ("threads", sqrt_rows_checked, "negative at row 17")])
def test_a_piece_that_raises_leaves_the_plain_loops_partial_writes(at_level_3, executor,
                                                                    func, message):
    """When a piece raises, the caller's array is as the plain call leaves it and the
    exception is the plain call's, message included (not a piece's own row number).
    Processes write into shared memory, which reaches the caller's array only when
    every piece succeeded; threads write the caller's array itself, each block saving
    its rows first, put back when one raised. Then the plain call runs here from the
    start: rows before the error written, rows after untouched."""
    x = np.arange(1.0, 31.0)
    if func is sqrt_rows_checked:  # rows of NumPy work: what threads take
        x = np.add.outer(x, np.arange(4.0))
    x[17] = -1.0
    f = at_level_3(func, executor)
    assert f(np.abs(x)) is not None  # a clean call splits
    assert backends(f) == {executor: 1}
    got, want = x.copy(), x.copy()
    with pytest.raises(ValueError) as plain:
        func(want)
    with pytest.raises(ValueError) as raised:
        f(got)
    assert type(raised.value) is ValueError and str(raised.value) == str(plain.value) \
        == message
    np.testing.assert_array_equal(got, want)  # rows 0-16 written, 17 on as they were
    assert (got[17:] == x[17:]).all() and not np.array_equal(got[:17], x[:17])
    assert shm.live_segments() == []


def check_then_halve(x):
    if not np.isfinite(x).all():
        raise ValueError("not finite")
    x /= 2.0
    return x


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_block_that_raises_leaves_the_array_as_the_plain_call_does(at_level_3, executor):
    """An in-place array function split by rows (a split= hint): the block holding the
    infinity raises before writing, the others halve their rows. Plain Python raises
    before writing anything: so must the split call, its array untouched (threads
    write the caller's array itself: each block's rows are put back)."""
    f = at_level_3(check_then_halve, executor, split={"x": 0})
    x = np.arange(48.0).reshape(24, 2)
    np.testing.assert_array_equal(f(x.copy()), x / 2.0)
    assert backends(f) == {executor: 1}
    x[20, 1] = np.inf
    got = x.copy()
    with pytest.raises(ValueError, match="not finite"):
        f(got)
    np.testing.assert_array_equal(got, x)
    assert shm.live_segments() == []


def test_warnings_a_worker_process_raises_reach_the_caller(at_level_3):
    x = np.arange(1.0, 31.0)
    x[4], x[25] = 0.0, -2.0  # divide by zero in the first piece, invalid in the last
    f = at_level_3(log_rows_numpy, "processes")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = f(x)
    assert backends(f) == {"processes": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(got, log_rows_numpy(x))
    said = [str(w.message) for w in seen if w.category is RuntimeWarning]
    assert said == ["divide by zero encountered in log", "invalid value encountered in log"]


@pytest.mark.slow  # three prange compiles, over a second
@pytest.mark.numba
def test_prange_reductions_and_writes(at_level_3):
    x = data(np.float64, 1001) / 7
    # float sums run in parallel only when asked: they add in another order, equal up
    # to rounding here, not bit for bit (test_parallel_hostile: the loop's order by default)
    f = at_level_3(W.conditional_accumulate, "threads", sum_order="pairwise")
    np.testing.assert_allclose(f(x, 3.0), W.conditional_accumulate(x, 3.0), rtol=1e-12)
    xi = data(np.int64, 1001)
    assert f(xi, 3) == W.conditional_accumulate(xi, 3)  # integers: exact
    assert backends(f) == {"prange": 2}
    # threshold_activation's np.log is NumPy's own loop (SEM030): math.log compiles
    g = at_level_3(log_threshold, "threads")
    same(g(x, 0.5, 2.0), log_threshold(x, 0.5, 2.0))
    assert backends(g) == {"prange": 1}


def log_threshold(x, t, scale):
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        if x[i] > t:
            y[i] = scale * math.log(x[i])
        else:
            y[i] = x[i]
    return y


def extremes(x):
    top = -np.inf
    low = np.inf
    for i in range(len(x)):
        top = max(top, x[i])
    for i in range(len(x)):
        low = min(low, x[i])
    return top - low


def shift_into(x, out):
    for i in range(len(x)):
        out[i] = x[i] + 1.0
    return out


@pytest.mark.numba
def test_prange_min_max_and_nans(at_level_3):
    x = data(np.float64, 500)
    f = at_level_3(extremes, "threads")
    assert f(x) == extremes(x)
    x[[3, 250]] = np.nan
    g = optimize(extremes, level=2, strict=True, verify=False)
    assert np.array_equal(f(x), g(x), equal_nan=True)  # level 2's order decides


@pytest.mark.numba
def test_prange_writing_an_argument_that_aliases_another(at_level_3):
    f = at_level_3(shift_into, "threads")
    x = np.arange(20.0)
    out = np.zeros(20)
    same(f(x, out), shift_into(x.copy(), np.zeros(20)))
    y = np.arange(20.0)
    plain = np.arange(20.0)
    shift_into(plain, plain)
    f(y, y)  # the same array twice: run serially (level 2's code), not in parallel
    np.testing.assert_array_equal(y, plain)


@pytest.mark.numba
def test_prange_declines_a_loop_that_is_not_independent(at_level_3):
    f = at_level_3(W.small_loop, "threads")
    with pytest.raises(optlevel.LevelUnavailable, match="carries a value"):
        f(np.ones((4, 4)), 3)


def test_small_work_stays_on_one_core():
    f = optimize(W.elementwise, verify=False)
    x = np.random.default_rng(0).random(1000)
    report = optlevel.explain(f, x)
    assert report.row("threads").kind == "pays"
    assert "too small to pay" in report.row("threads").reason
    assert report.row("threads").code == "PL008", report.row("threads")
    f(x)
    assert 3 not in f.stats().levels


def test_tiny_work_is_refused_before_the_machine_is_measured():
    """16 elements cannot pay for a thread pool on any machine: the estimate says so
    without calibrating (a fresh cache's first such call paid 0.5 s measuring it)."""
    from optlevel.config import settings
    from optlevel.core.calibrate import profile_for
    from optlevel.levels.parallel import runtime

    profile = profile_for(settings())
    keys = ("parallel.numpy_op_s", "threads.task_s",
            f"threads.speedup.{runtime.worker_count(settings())}")
    for key in keys:
        profile.forget(key)
    f = optimize(W.elementwise, verify=False)
    x = np.random.default_rng(0).random(16)
    row = optlevel.explain(f, x).row("threads")
    assert row.kind == "pays" and "too small to pay: at most" in row.reason, row
    assert np.array_equal(f(x), W.elementwise(x)) and 3 not in f.stats().levels
    assert [key for key in keys if key in profile] == []


def test_a_single_blas_call_is_left_alone():
    a = np.ones((64, 64))
    report = optlevel.explain(optimize(W.matmul), a, a)
    for name in ("threads", "processes"):
        assert not report.row(name).tried
        assert "matrix product" in report.row(name).reason
        assert report.row(name).code == "PL007", report.row(name)  # no split proof
    f = optimize(W.matmul, level=3, verify=False)
    with warnings.catch_warnings():
        # level=3 falls back to level 0 with a warning; the rows above say why
        warnings.simplefilter("ignore", optlevel.FallbackWarning)
        np.testing.assert_array_equal(f(a, a), a @ a)
    assert 3 not in f.stats().levels


def test_one_worker_does_not_split():
    optlevel.configure(workers=1)
    x = np.random.default_rng(0).random(1 << 20)
    row = optlevel.explain(optimize(W.elementwise), x).row("threads")
    assert row.kind == "pays" and "one worker" in row.reason
    assert row.code == "PL008", row


def test_backends_the_executor_setting_leaves_out_do_not_warn():
    f = optimize(W.small_loop, level=3, verify=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_allclose(f(np.ones((4, 4)), 3), W.small_loop(np.ones((4, 4)), 3))
    assert not [w for w in caught if "OPTLEVEL_EXECUTOR" in str(w.message)]
    report = optlevel.explain(optimize(W.elementwise, level=3), np.ones(10))
    assert report.row("dask").kind == "configured" and "OPTLEVEL_EXECUTOR is local" in \
        report.row("dask").reason
    assert report.row("dask").code == "PL004", report.row("dask")


def test_the_runtime_owner_closes_pools_and_unlinks_segments(at_level_3):
    from optlevel.core import runtime
    from optlevel.levels.parallel import ship
    from optlevel.levels.parallel.pools import PROCESSES, THREADS

    a, b = data(np.float64, (7, 5)), data(np.float64, (5, 4), seed=1)
    f = at_level_3(W.rowwise_python_matmul, "processes")
    same(f(a, b), W.rowwise_python_matmul(a, b))
    names = runtime.RUNTIME.names()
    assert {"parallel.pools", "parallel.shm"} <= set(names["closers"])
    assert "parallel.ship.blobs" in names["resets"]
    blob = ship.dumps_function(W.rowwise_python_matmul)
    runtime.reset()  # forgets caches, keeps pools
    assert PROCESSES.running and ship.dumps_function(W.rowwise_python_matmul) == blob
    segments = shm.Segments()
    segments.put(np.ones(4))  # a call interrupted at exit would leave this behind
    assert shm.live_segments()
    runtime.shutdown()
    assert not PROCESSES.running and not THREADS.running
    assert shm.live_segments() == []
    same(f(a, b), W.rowwise_python_matmul(a, b))  # the next call starts a pool again
    assert PROCESSES.running
