"""Iteration splits over NumPy arrays: ``if``/``else`` per row, several outputs per row,
stencils reading rows ``i ± k`` with their halo at every block edge, ``enumerate`` and
``zip`` loops, on threads (the pieces share the caller's arrays) and on processes (each
piece gets its rows and halo), against the plain function in value, type, dtype and
in-place effects, at lengths 0, 1, 2, 7, 101 on 3 workers."""

import copy

import numpy as np
import pytest

from optlevel.analysis import analyze, describe_args
from optlevel.core.registry import BACKENDS
from optlevel.levels.parallel.iterplan import iteration_prepare

pytestmark = pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")

SIZES = [0, 1, 2, 7, 101]


def branches(a):
    out = np.empty_like(a)
    for i in range(len(a)):
        if a[i, 0] > 0.5:
            out[i] = a[i] * 2.0
        elif a[i, 1] > 0.5:
            out[i] = np.sqrt(a[i])
        else:
            out[i] = -a[i]
    return out


def two_outputs(a):
    n = len(a)
    means = np.empty(n)
    spreads = np.zeros(n, dtype=np.float32)
    for i in range(n):
        means[i] = a[i].mean()
        spreads[i] = a[i].max() - a[i].min()
    return means, spreads


def stencil(a):
    n = len(a)
    out = np.zeros_like(a)
    for i in range(1, n - 1):
        out[i] = (a[i - 1] + a[i] + a[i + 1]) / 3.0
    return out


def wide_stencil(a, out):
    for i in range(2, len(a) - 2):
        out[i] = a[i - 2] - 2.0 * a[i] + a[i + 2] + a[i + 1] * a[i - 1]


def enumerated(a, scale):
    norms = np.empty(len(a))
    for i, row in enumerate(a):
        norms[i] = np.sqrt((row * row).sum()) * scale
    return norms


def zipped(a, b):
    out = np.empty(len(a), dtype=np.int64)
    for i, (x, y) in enumerate(zip(a, b)):
        out[i] = int((x > y).sum())
    return out


def zipped_appends(a, b):
    found = []
    total = 0
    for x, y in zip(a, b):
        if x.sum() > y.sum():
            found.append(float(x.sum() - y.sum()))
        total += int(x.argmax())
    return found, total


def in_place(a):
    for i in range(len(a)):
        if a[i].sum() > 2.0:
            a[i] = a[i] - a[i].mean()
        else:
            a[i] *= 2.0


CASES = {
    "branches": (branches, lambda r, n: (r.random((n, 4)),)),
    "two_outputs": (two_outputs, lambda r, n: (r.random((n, 6)),)),
    "stencil": (stencil, lambda r, n: (r.random((n, 5)),)),
    "wide_stencil": (wide_stencil, lambda r, n: (r.random((n, 3)), np.full((n, 3), -1.0))),
    "enumerated": (enumerated, lambda r, n: (r.random((n, 4)), 3)),
    "zipped": (zipped, lambda r, n: (r.random((n, 4)), r.random((n + 1, 4)))),
    "zipped_appends": (zipped_appends, lambda r, n: (r.random((n, 4)), r.random((n, 4)))),
    "in_place": (in_place, lambda r, n: (r.random((n, 5)) * 2,)),
}


def _same(result, expected):
    assert type(result) is type(expected)
    if isinstance(expected, tuple):
        assert len(result) == len(expected)
        for r, e in zip(result, expected):
            _same(r, e)
    elif isinstance(expected, np.ndarray):
        assert result.dtype == expected.dtype and result.shape == expected.shape
        np.testing.assert_array_equal(result, expected)
    else:
        assert result == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_proved(name):
    info = analyze(CASES[name][0]).split
    assert info.iterations is not None, info.iteration_reason


def _check(name, threads):
    func, make = CASES[name]
    driver = iteration_prepare(func, analyze(func), 3, threads=threads).fn
    runner = driver.__optlevel_loop__
    where = "threads" if threads else "processes"
    for n in SIZES + [4, 5]:  # 4, 5: two or three loop rows over six blocks of one row
        args = make(np.random.default_rng(n), n)
        plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
        _same(driver(*split_args), func(*plain_args))
        for got, want in zip(split_args, plain_args):
            _same(got, want)
        if n >= 7:
            assert f"pieces on 3 {where}" in runner.last, (name, n, runner.last)


@pytest.mark.parametrize("name", sorted(CASES))
def test_threads_match_the_plain_loop(name):
    _check(name, threads=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["branches", "stencil", "wide_stencil", "zipped"])
def test_processes_match_the_plain_loop(name):
    _check(name, threads=False)


def fails_on_a_row(a, out):
    for i in range(len(a)):
        out[i] = 1.0 / a[i, 0] if a[i, 0] != 0 else float(a[i, 1]) / 0
        a[i] += 1.0


def test_an_error_in_a_thread_piece_leaves_the_plain_loops_partial_writes():
    """The pieces wrote into the caller's arrays (later blocks too): they are put back
    and the loop runs again serially, so the writes are those the plain loop made."""
    driver = iteration_prepare(fails_on_a_row, analyze(fails_on_a_row), 3, threads=True).fn
    a = np.arange(1.0, 41.0).reshape(20, 2)
    a[9, 0] = 0.0
    out, plain_a, plain_out = np.zeros(20), a.copy(), np.zeros(20)
    with pytest.raises(ZeroDivisionError):
        fails_on_a_row(plain_a, plain_out)
    with pytest.raises(ZeroDivisionError):
        driver(a, out)
    np.testing.assert_array_equal(out, plain_out)
    np.testing.assert_array_equal(a, plain_a)
    assert "ran again here" in driver.__optlevel_loop__.last


def scaled_rows_total(a):
    total = 0
    for i in range(len(a)):
        a[i] *= 0.5
        total = total + np.sum(a[i])
    return total


def test_a_float_total_of_thread_pieces_runs_as_written():
    """The total starts as an int and meets floats: the pieces' partial totals come back
    floats, so their writes are put back and the loop runs here as written, the total
    bit for bit the plain one's (folded piece by piece it would be reassociated)."""
    driver = iteration_prepare(scaled_rows_total, analyze(scaled_rows_total), 3,
                               threads=True).fn
    a = np.tile([2e16, 2.0, -2e16, 2.0], 10).reshape(40, 1)
    plain_a = a.copy()
    expected = scaled_rows_total(plain_a)
    folded = 0  # what adding the totals of four pieces of ten rows would give
    for piece in np.split(plain_a[:, 0], 4):
        folded = folded + scaled_rows_total(piece.reshape(10, 1) * 2.0)
    assert folded != expected  # so the split would change the answer
    got = driver(a)
    assert got == expected and type(got) is type(expected)
    np.testing.assert_array_equal(a, plain_a)
    assert "'total' adds or multiplies floats" in driver.__optlevel_loop__.last


def _verdict(func, *args):
    features = analyze(func)
    return BACKENDS["threads"].applies(features, describe_args(args, {}, features.params),
                                       None, None)


def test_threads_serve_row_loops_over_arrays_only():
    rows = np.zeros((10, 4))
    assert _verdict(stencil, rows)
    assert _verdict(zipped, rows, rows)

    def lists(A):
        out = [0.0] * len(A)
        for i in range(len(A)):
            s = 0.0
            for x in A[i]:
                s += x
            out[i] = s
        return out

    verdict = _verdict(lists, [[1.0, 2.0]] * 3)
    assert not verdict and "hold the GIL" in verdict.reason
