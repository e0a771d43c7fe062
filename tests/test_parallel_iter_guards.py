"""Iteration splits against data that breaks what the split assumes: the run-time checks
that run such a call whole, in the caller, as written (negative indices, a sequence
that iterates its own way, keys that repeat at slots held before the loop, an iterable
holding the rows the loop writes, reductions that do not fold exactly or do not fold
at all), and the merge of the calls that stay split. Every call is compared with the
plain function on deep copies of its arguments: value, type, exception type, and the
arguments after it; the calls whose data is fine still run split.

The caller runs the first piece itself (up to 4 workers) or waits while the workers
run them all (more): both are checked."""

import copy
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze
from optlevel.levels.parallel import iterhelp
from optlevel.levels.parallel.iterplan import iteration_prepare

pytestmark = pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")

#: A loop of N items of work() takes about 20 ms in plain Python.
N = 6000
SPLIT = "pieces on 3 "


def work(x):
    s = 0
    for k in range(60):
        s += (x * k) % 7
    return s


@pytest.fixture(params=["helped", "waiting"])
def caller(request, monkeypatch):
    """The caller runs the first piece itself, or waits for the workers' pieces."""
    if request.param == "waiting":
        monkeypatch.setattr(iterhelp, "HELPS_UP_TO", 0)
    return request.param


def _driver(func, threads=False):
    driver = iteration_prepare(func, analyze(func), 3, threads=threads).fn
    return driver, driver.__optlevel_loop__


def _outcome(func, args):
    try:
        return "value", func(*args)
    except Exception as exc:  # the comparison is the point: any exception type
        return "raise", type(exc)


def _same(got, expected):
    assert type(got) is type(expected), (type(got), type(expected))
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    elif isinstance(expected, (list, tuple)) and not isinstance(expected, Rev):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            _same(g, e)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected, (got, expected)


def _check(func, driver, runner, args, split):
    """One call of ``driver`` against ``func`` on deep copies of ``args``; ``split``: the
    call ran in pieces (else: whole, here)."""
    plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
    _same(_outcome(driver, split_args), _outcome(func, plain_args))
    _same(split_args, plain_args)
    assert (SPLIT in runner.last) is split, runner.last
    return runner.last


# ---- R2: negative indices ---------------------------------------------------------------

def add_work(C, lo):
    for i in range(lo, len(C)):
        C[i] = C[i] + work(i)
    return C


def add_work_enumerated(C, A, lo):
    for i, x in enumerate(A, start=lo):
        C[i] = x + work(i)
    return C


def test_negative_indices_at_a_slot_run_whole(caller):
    """``C[-1]`` is ``C[n - 1]``: a loop from ``-n`` writes each slot twice, the later
    write reading the earlier one. A list, an array, an ``enumerate`` from below 0."""
    driver, runner = _driver(add_work)
    for C in ([1] * N, np.ones(N, dtype=np.int64)):
        _check(add_work, driver, runner, (C, 0), split=True)
        why = _check(add_work, driver, runner, (C, -N), split=False)
        assert "negative indices" in why
        _check(add_work, driver, runner, (C, -1), split=False)
        _check(add_work, driver, runner, (C, 3), split=True)
    driver, runner = _driver(add_work_enumerated)
    _check(add_work_enumerated, driver, runner, ([0] * N, list(range(N - 9)), 2), split=True)
    _check(add_work_enumerated, driver, runner, ([0] * N, list(range(N - 9)), -5), split=False)
    _check(add_work_enumerated, driver, runner, ([0] * N, list(range(N - 9)), 0), split=True)


def halo_from_zero(A):
    out = [0] * len(A)
    for i in range(len(A)):
        out[i] = A[i - 1] * 3 + A[i] + work(i)
    return out


def read_from_below_zero(A, lo):
    found = []
    for i in range(lo, len(A)):
        found.append(A[i] - work(i))
    return found


def test_a_read_before_index_0_reads_the_last_item_in_every_piece(caller):
    """``A[i - 1]`` at ``i = 0`` is ``A[-1]``, the last item: a piece gets all of ``A``
    then, not only its rows and their halo; the split stays right."""
    A = list(range(7, N + 7))
    for func, args in ((halo_from_zero, (A,)), (read_from_below_zero, (A, -N))):
        driver, runner = _driver(func)
        for _ in range(3):
            _check(func, driver, runner, args, split=True)


# ---- R6: a sequence that iterates its own way ----------------------------------------------

class Rev(list):
    """A list that iterates backwards (its deep copy keeps its storage order)."""

    def __iter__(self):
        return reversed(self)

    def __deepcopy__(self, memo):
        return type(self)(copy.deepcopy(list(list.__iter__(self)), memo))


class Tagged(list):
    """A list subclass that iterates as a list does."""

    tag = "t"


def appended(xs):
    out = []
    for x in xs:
        out.append(work(x) + x)
    return out


def zipped(xs, ys):
    out = []
    for x, y in zip(xs, ys):
        out.append(work(x) - y)
    return out


def counted(xs, out):
    for i, x in enumerate(xs):
        out[i] = work(x) * 2 + i
    return out


def test_a_sequence_that_iterates_its_own_way_runs_whole(caller):
    """Pieces cut a list by its slices: one whose class overrides ``__iter__`` (or
    ``__getitem__``, ``__len__``) runs whole, also inside ``zip`` and ``enumerate``; a
    subclass that only adds to the list still splits."""
    cases = [(appended, lambda kind: (kind(range(N)),)),
             (zipped, lambda kind: (list(range(N)), kind(range(N)))),
             (counted, lambda kind: (kind(range(N)), [0] * N))]
    for func, make in cases:
        driver, runner = _driver(func)
        _check(func, driver, runner, make(list), split=True)
        why = _check(func, driver, runner, make(Rev), split=False)
        assert "not a sequence optlevel can cut" in why
        _check(func, driver, runner, make(Tagged), split=True)
        _check(func, driver, runner, make(Rev), split=False)


# ---- R7: keys that repeat at slots held before the loop ------------------------------------

def last_write(C, pairs):
    for k, v in pairs:
        w = work(k)
        C[k] = v + w * 0
    return C


def fill(pairs):
    C = {}
    for k, v in pairs:
        w = work(k)
        C[k] = v + w * 0
    return C


def _pairs(n, first, then):
    return [(k, first) for k in range(n)] + [(k, then) for k in range(n)]


def test_repeated_keys_at_slots_held_before_the_loop_run_whole(caller):
    """A worker reports a slot it wrote only where its object changed: a later piece
    writing back the object a slot held (0 over 0) would leave an earlier piece's 1.
    Keys that repeat where the container held them run whole; a dict the loop fills
    from empty, or keys that do not repeat, split."""
    n = N // 2
    driver, runner = _driver(last_write)
    _check(last_write, driver, runner, ([0] * N, [(k, k % 3) for k in range(N)]),
           split=True)  # no key twice
    why = _check(last_write, driver, runner, ([0] * n, _pairs(n, 1, 0)), split=False)
    assert "written twice at 0" in why
    _check(last_write, driver, runner, ({k: 0 for k in range(n)}, _pairs(n, 1, 0)),
           split=False)
    _check(last_write, driver, runner, ({-1: 0}, _pairs(n, 1, 0)), split=True)
    _check(last_write, driver, runner, (np.zeros(n, dtype=np.int64), _pairs(n, 1, 0)),
           split=False)
    _check(last_write, driver, runner, ([0] * N, [(k, 1) for k in range(N)][::-1]),
           split=True)
    driver, runner = _driver(fill)
    for _ in range(3):
        _check(fill, driver, runner, (_pairs(n, 1, 0),), split=True)


# ---- R8: an iterable that holds the rows the loop writes -----------------------------------

def bump_rows(C, A):
    for i, r in enumerate(A):
        w = work(i) * 0
        C[i][0] = r[0] + 1 + w
    return C


def bump_zipped(C, A, B):
    for i, (r, b) in enumerate(zip(A, B)):
        C[i][0] = r[0] + b[0] + work(i) * 0
    return C


def keep_rows(A, found):
    for r in A:
        found.append(r[0] + work(r[0]))
    return found


def doubled_in_place(C):
    for i, x in enumerate(C):
        C[i] = x * 2 + work(x) * 0
    return C


def zeroed_at_items(C):
    for x in C:
        w = work(x)
        C[x] = w * 0
    return C


def _rows(n):
    return [[k] for k in range(n)]


def test_an_iterable_holding_the_written_rows_runs_whole(caller):
    """``enumerate(C[::-1])`` while writing ``C[i][0]``: an item is a row that another
    iteration writes, and the plain loop reads it after that write. An iterable whose
    items are the written container's rows (or zip's argument's), or the appended list
    itself, runs whole; separate rows split."""
    driver, runner = _driver(bump_rows)
    _check(bump_rows, driver, runner, (_rows(N), _rows(N)), split=True)
    C = _rows(N)
    why = _check(bump_rows, driver, runner, (C, C[::-1]), split=False)
    assert "shares objects with the loop's iterable" in why
    _check(bump_rows, driver, runner, (_rows(N), _rows(N)), split=True)
    driver, runner = _driver(bump_zipped)
    _check(bump_zipped, driver, runner, (_rows(N), _rows(N), _rows(N)), split=True)
    C = _rows(N)
    _check(bump_zipped, driver, runner, (C, _rows(N), C[::-1]), split=False)
    driver, runner = _driver(keep_rows)
    _check(keep_rows, driver, runner, (_rows(N), []), split=True)
    found = [5]
    _check(keep_rows, driver, runner, ([found] + _rows(N), found), split=False)


def test_a_loop_over_the_container_it_writes_splits_only_at_its_own_items(caller):
    """Iterating the list it writes, a loop that writes each item's own slot after
    reading it splits (``enumerate``'s index); one that writes at slots its items name
    changes items that later iterations read: it runs whole."""
    driver, runner = _driver(doubled_in_place)
    for _ in range(3):
        _check(doubled_in_place, driver, runner, (list(range(N)),), split=True)
    driver, runner = _driver(zeroed_at_items)
    _check(zeroed_at_items, driver, runner, (list(range(1, N)) + [0],), split=False)


# ---- R9, R10: reductions that do not fold exactly, or at all -------------------------------

def summed(xs):
    s = 0
    for x in xs:
        w = work(1)
        s += x + w * 0
    return s


def summed_and_written(xs, out):
    s = 0
    for i in range(len(xs)):
        out[i] = work(i)
        s += xs[i]
    return s


def test_a_reduction_of_a_type_that_does_not_fold_exactly_runs_whole(caller):
    """Folded piece by piece, a Decimal sum rounds in another grouping
    (1.000000000000000000000000004E+30 for plain Python's 1.000000000000000000000000000E+30)
    and NumPy integers wrap (or raise OverflowError met with a Python int beyond 64
    bits): only ints (and for + strings, lists, tuples) fold exactly; anything else runs
    the call whole, with the plain loop's writes, and so do the later calls."""
    bad = [[Decimal(10) ** 30] + [Decimal(1)] * (N - 1),
           [np.int64(1)] + [2 ** 62] * (N - 1),
           [Fraction(1, 3)] * N]
    for xs in bad:
        driver, runner = _driver(summed)
        _check(summed, driver, runner, (list(range(N)),), split=True)
        _check(summed, driver, runner, ([10 ** 30] + [1] * (N - 1),), split=True)
        with np.errstate(over="ignore"):
            why = _check(summed, driver, runner, (xs,), split=False)
            assert f"'s' reduced to a {type(xs[0]).__name__}" in why
            _check(summed, driver, runner, (xs,), split=False)
    driver, runner = _driver(summed_and_written)
    _check(summed_and_written, driver, runner, (list(range(N)), [None] * N), split=True)
    for _ in range(2):
        _check(summed_and_written, driver, runner, ([Decimal(1)] * N, [None] * N),
               split=False)


def test_a_fold_that_raises_runs_the_call_whole(caller):
    """No exception from the merge leaves it: the call runs whole and gives the plain
    loop's answer (an int64 that wraps, where folding its pieces raised OverflowError),
    or its error with its partial writes (strings whose pieces fold onto an int start,
    where the caller waits: its own first piece raises the plain error as it goes)."""
    driver, runner = _driver(summed)
    _check(summed, driver, runner, (list(range(N)),), split=True)
    with np.errstate(over="ignore"):
        _check(summed, driver, runner, ([np.int64(1)] + [2 ** 62] * (N - 1),), split=False)
    driver, runner = _driver(summed_and_written)
    _check(summed_and_written, driver, runner, (list(range(N)), [None] * N), split=True)
    why = _check(summed_and_written, driver, runner, (["a"] * N, [None] * N), split=False)
    if caller == "waiting":
        assert "did not fold (TypeError" in why
    _check(summed_and_written, driver, runner, ([7] * (N // 2) + ["a"] * (N // 2), [None] * N),
           split=False)
    _check(summed_and_written, driver, runner, (list(range(N)), [None] * N), split=True)
    assert runner.unmergeable({"s": 0}, [(("ab",), None, None)])
    assert not runner.unmergeable({"s": 0}, [((2,), None, None), ((3,), None, None)])


def started(xs):
    s = 5
    text = "ab"
    for x in xs:
        s += x + work(x) * 0
        text += str(x % 10)
    return s, text


@pytest.mark.parametrize("threads", [False, True])
def test_a_sum_that_starts_off_zero_counts_its_start_once(caller, threads):
    """Every piece's + or * starts from nothing, the start value folded in once (a first
    piece that started from it counted it twice where the caller waits)."""
    driver, runner = _driver(started, threads)
    for _ in range(3):
        _check(started, driver, runner, (list(range(N)),), split=True)


def least_last(xs):
    s = 10 ** 9
    for x in xs:
        s = min(x + work(1) * 0, s)
    return s


def least_first(xs):
    s = math.inf
    for x in xs:
        s = min(s, x + work(1) * 0)
    return s


def test_a_nan_restarting_a_min_runs_whole(caller):
    """``min(x, s)`` keeps a NaN item, and the next item then replaces it: a piece
    would restart alone. Over floats that form runs whole; ``min(s, x)``, which never
    keeps a NaN item, and ints split."""
    xs = [5.0] * (N // 2) + [math.nan] + [7.0] * (N // 2)
    driver, runner = _driver(least_last)
    _check(least_last, driver, runner, (list(range(N, 0, -1)),), split=True)
    _check(least_last, driver, runner, (xs,), split=False)
    driver, runner = _driver(least_first)
    for _ in range(3):
        _check(least_first, driver, runner, (xs,), split=True)


def test_the_guards_hold_through_optimize_at_level_3():
    """The same through ``optimize(level=3)``, whose first call of a signature is checked
    against plain Python and whose later calls are not: a later call whose data breaks
    the split gives plain Python's answer."""
    optlevel.configure(workers=3)
    n = N // 2
    cases = [(add_work, ([1] * N, 0), ([1] * N, -N)),
             (last_write, ([0] * n, _pairs(n, 1, 2)), ([0] * n, _pairs(n, 1, 0))),
             (bump_rows, (_rows(N), _rows(N)), (lambda C: (C, C[::-1]))(_rows(N))),
             (summed, ([Decimal(1)] * N,), ([Decimal(10) ** 30] + [Decimal(1)] * (N - 1),))]
    for func, fine, bad in cases:
        f = optimize(func, level=3, strict=True)
        for args in (fine, bad, fine, bad):
            plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
            _same(_outcome(f, split_args), _outcome(func, plain_args))
            _same(split_args, plain_args)
        assert f.stats().levels == {3: 4}, (func.__name__, f.stats().levels)


def least_tagged(rows):
    m = (math.inf, 0)
    for r in rows:
        w = work(r[0])
        m = min(m, (1, r[1] + w * 0))
    return m


def test_a_piece_ending_on_a_nan_in_a_tuple_runs_whole(caller):
    """``min`` over ``(1, nan)`` tuples: a NaN held as a piece's running minimum blocks
    what plain Python's running value takes next, so folding the pieces' minima gave
    ``(1, 5.0)`` where the loop gives ``(1, 3.0)``."""
    driver, runner = _driver(least_tagged)
    good = [[j, float(j)] for j in range(600)]
    for _ in range(2):
        assert driver(copy.deepcopy(good)) == least_tagged(copy.deepcopy(good))
    assert SPLIT in runner.last, runner.last
    rows = [[j, math.nan] for j in range(600)]
    rows[0][1], rows[-1][1] = 5.0, 3.0
    got = driver(copy.deepcopy(rows))
    assert repr(got) == repr(least_tagged(copy.deepcopy(rows))) == "(1, 3.0)"
