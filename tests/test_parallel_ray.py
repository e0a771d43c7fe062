"""Level 3 on a real local Ray (``ray.init(num_cpus=2)``, started once for this module)."""

import os
import warnings

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
    # a float sum splits only where reassociating it is allowed
    result = at_ray(total, **({"sum_order": "pairwise"} if dtype == np.float32 else {}))(x)
    assert np.asarray(result).dtype == np.asarray(total(x)).dtype
    np.testing.assert_allclose(result, total(x))


def test_map_on_ray():
    optlevel.configure(executor="ray")
    f = optimize(W.elementwise)
    xs = [np.full(5, float(k)) for k in range(9)]
    for x, result in zip(xs, f.map(xs)):
        np.testing.assert_array_equal(result, W.elementwise(x))


def test_a_map_call_that_raises_raises_as_plain_python():
    optlevel.configure(executor="ray")
    f = optimize(first_negative)
    xs = [np.arange(1.0, 6.0) for _ in range(6)]
    xs[4] = np.array([1.0, 2.0, -3.0])
    with pytest.raises(ValueError) as raised:
        f.map(xs)
    assert type(raised.value) is ValueError and str(raised.value) == "negative at 2"


def test_user_exceptions_come_back_with_their_type():
    def strict_positive(x):
        if x.min() <= 0:
            raise ValueError("not positive")
        return np.log(x)

    f = at_ray(strict_positive, split={"x": 0})
    with pytest.raises(ValueError, match="not positive") as raised:
        f(np.arange(-3.0, 5.0))
    assert type(raised.value) is ValueError  # the plain call's, not Ray's wrapper


def first_negative(x):
    if (x < 0).any():
        raise ValueError(f"negative at {int(np.argmax(x < 0))}")
    return np.log(x)


def test_a_piece_that_raises_is_met_by_the_plain_call_and_ray_lives_on():
    """The plain call meets the error here (the message is computed on the whole array);
    the other pieces finish rather than being force-cancelled, which crashed Ray's
    driver once in CI; the next call still runs on Ray. Warnings come back too."""
    f = at_ray(first_negative, split={"x": 0})
    for _ in range(5):
        x = np.arange(1.0, 41.0)
        x[29] = -1.0
        with pytest.raises(ValueError) as raised:
            f(x)
        assert type(raised.value) is ValueError and str(raised.value) == "negative at 29"
    x = np.arange(40.0)  # log(0) in the first piece only
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = f(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(got, first_negative(x))
    assert [str(w.message) for w in seen if w.category is RuntimeWarning] == \
        ["divide by zero encountered in log"]
    assert {s.backend for s in f.stats().signatures} == {"ray"}


def test_iteration_splits_on_ray():
    """A loop's iterations as Ray tasks: lists, dicts, ordered appends, exact int
    reductions, rows written in place, a stencil's halo; a piece's error is the plain
    loop's; the planner picks ray for such a loop."""
    import copy

    from test_parallel_iter_arrays import CASES
    from test_parallel_iterations import _case, _words, word_counts

    from optlevel.analysis import analyze
    from optlevel.levels.parallel.iterplan import iteration_prepare

    cases = [_case(name, 7) for name in ("rowwise", "word_counts", "int_reductions",
                                         "rows_in_place")]
    func, make = CASES["stencil"]
    cases.append((func, make(np.random.default_rng(3), 9)))
    for func, args in cases:
        driver = iteration_prepare(func, analyze(func), 2, ray=True).fn
        plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
        result, expected = driver(*split_args), func(*plain_args)
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(result, expected)
        else:
            assert result == expected and split_args == plain_args
        assert driver.__optlevel_loop__.last.endswith("pieces on ray"), func.__name__

    def inverse(xs):
        out = []
        for x in xs:
            out.append(1 // x)
        return out

    with pytest.raises(ZeroDivisionError):
        iteration_prepare(inverse, analyze(inverse), 2, ray=True).fn([3, 2, 1, 0, 5])
    from test_parallel_iterations import _lists, slot_rows

    driver = iteration_prepare(slot_rows, analyze(slot_rows), 2, ray=True).fn
    rows = _lists(9)  # a piece that stores an object it was given: run as written
    assert all(c is a for c, a in zip(driver(rows), rows))
    assert driver.__optlevel_loop__.stores_given
    optlevel.configure(executor="ray")
    f = optimize(word_counts, level=3, strict=True)
    docs = _words(30)
    assert f(docs) == word_counts(docs)
    assert {s.backend for s in f.stats().signatures} == {"ray"}
