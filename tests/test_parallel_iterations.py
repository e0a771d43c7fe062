"""Iteration splits: a Python loop whose iterations are independent runs in pieces on
worker processes, with the plain function's values, types and in-place effects, for
lists, dicts, strings and arrays; loops that are not independent are refused, each for
its own reason."""

import collections
import copy
import math
import os
import random

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze
from optlevel.levels.parallel.iterplan import iteration_prepare

pytestmark = pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")

SIZES = [0, 1, 2, 7, 101]
LOG = []


def rowwise(A, B):
    n = len(A)
    C = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += A[i][k] * B[k][j]
            C[i][j] = s
    return C


def fill_dict(keys):
    out = {}
    for k in keys:
        out[k] = len(k) * 2
    return out


def per_item_strings(docs):
    out = [None] * len(docs)
    for i in range(len(docs)):
        words = docs[i].lower().split()
        out[i] = "-".join(sorted(words))
    return out


def word_counts(docs):
    counts = []
    total = 0
    for doc in docs:
        c = {}
        for w in doc.split():
            c[w] = c.get(w, 0) + 1
        counts.append(c)
        total += len(c)
    return counts, total


def ordered_appends(xs):
    evens = []
    for x in xs:
        if x % 2 == 0:
            evens.append(x * x)
        else:
            evens.extend([x, -x])
    return evens


def int_reductions(xs):
    total = 0
    prod = 1
    lo = 10 ** 30
    hi = -(10 ** 30)
    for x in xs:
        total += x * 10 ** 20
        total -= 1
        prod *= (x % 3) + 1
        lo = min(lo, x)
        hi = max(x, hi)
    return total, prod, lo, hi


def float_sum(xs):
    s = 0.0
    for x in xs:
        s = s + x * 0.1
    return s


def joined(words):
    text = ""
    for w in words:
        if w:
            text += w.upper() + "|"
    return text


def branches_in_place(xs, out):
    for i, x in enumerate(xs):
        if x > 3:
            out[i] = x * 2
        elif x < 0:
            out[i] = -x
        else:
            continue


def zipped(a, b):
    out = []
    for x, y in zip(a, b):
        out.append(x * y)
    return out


def doubled_items(d):
    res = {}
    for k, v in d.items():
        res[k] = [v] * 2
    return res


def array_rows(rows):
    out = np.zeros((len(rows), 2))
    for i, r in enumerate(rows):
        out[i, 0] = sum(r)
        out[i][1] = max(r) if r else -1.0
    return out


def stencil(grid):
    n = len(grid)
    m = len(grid[0]) if n else 0
    out = [row[:] for row in grid]
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i][j] = 0.25 * (grid[i - 1][j] + grid[i + 1][j] + grid[i][j - 1]
                                + grid[i][j + 1])
    return out


def stencil_rows(grid):
    n = len(grid)
    out = [row[:] for row in grid]
    for i in range(1, n - 1):
        up, row, down, new = grid[i - 1], grid[i], grid[i + 1], out[i]
        for j in range(1, len(row) - 1):
            new[j] = 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1])
    return out


def rows_in_place(C, scale):
    for i in range(len(C)):
        for j in range(len(C[i])):
            C[i][j] = C[i][j] * scale


def fails_at_zero(xs, out):
    for i in range(len(xs)):
        out[i] = 100 // xs[i]


def _lists(n, seed=0):
    rnd = random.Random(seed + n)
    return [[rnd.randint(-5, 9) for _ in range(3)] for _ in range(n)]


def _words(n):
    rnd = random.Random(n)
    return [" ".join(rnd.choice(["a", "b", "Cc", "dd", "e"]) for _ in range(rnd.randint(0, 6)))
            for _ in range(n)]


def _case(name, n):
    rnd = random.Random(n)
    ints = [rnd.randint(-4, 9) for _ in range(n)]
    m = min(n, 12)
    square = [[rnd.random() for _ in range(m)] for _ in range(m)]
    return {
        "rowwise": (rowwise, (square, copy.deepcopy(square))),
        "fill_dict": (fill_dict, ([w or "x" for w in _words(n)],)),
        "per_item_strings": (per_item_strings, (_words(n),)),
        "word_counts": (word_counts, (_words(n),)),
        "ordered_appends": (ordered_appends, (ints,)),
        "int_reductions": (int_reductions, (ints,)),
        "joined": (joined, (_words(n),)),
        "branches_in_place": (branches_in_place, (ints, [None] * n)),
        "zipped": (zipped, (ints, ints[::-1] + [5])),
        "doubled_items": (doubled_items, ({f"k{i}": i for i in range(n)},)),
        "array_rows": (array_rows, (_lists(n),)),
        "stencil": (stencil, ([[float(i * j) for j in range(5)] for i in range(n)],)),
        "stencil_rows": (stencil_rows, ([[float(i - j) for j in range(4)] for i in range(n)],)),
        "rows_in_place": (rows_in_place, (_lists(n), 3)),
    }[name]


NAMES = ["rowwise", "fill_dict", "per_item_strings", "word_counts", "ordered_appends",
         "int_reductions", "joined", "branches_in_place", "zipped", "doubled_items", "array_rows",
         "stencil", "stencil_rows", "rows_in_place"]


@pytest.mark.parametrize("name", NAMES)
def test_proved(name):
    func, _ = _case(name, 3)
    info = analyze(func).split
    assert info.iterations is not None, info.iteration_reason


def _same(result, expected):
    assert type(result) is type(expected)
    if isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(result, expected)
        assert result.dtype == expected.dtype
    else:
        assert result == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_pieces_match_the_plain_loop(name):
    """Lengths 0, 1, 2, 7, 101 on 3 workers: values, types and in-place effects."""
    func = _case(name, 0)[0]
    driver = iteration_prepare(func, analyze(func), 3).fn
    runner = driver.__optlevel_loop__
    for n in SIZES:
        args = _case(name, n)[1]
        plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
        expected = func(*plain_args)
        _same(driver(*split_args), expected)
        assert split_args == plain_args or all(
            np.array_equal(a, b) for a, b in zip(split_args, plain_args)), name
        if n >= 7 and name not in ("rowwise", "doubled_items", "fill_dict"):
            assert "pieces on 3 processes" in runner.last, (name, n, runner.last)


def test_rowwise_runs_split_at_level_3(ran_at):
    optlevel.configure(workers=3)
    rnd = random.Random(1)
    A = [[rnd.random() for _ in range(24)] for _ in range(24)]
    B = [[rnd.random() for _ in range(24)] for _ in range(24)]
    f = optimize(rowwise, level=3, strict=True)
    assert ran_at(f, A, B) == 3
    assert f(A, B) == rowwise(A, B)
    text = str(optlevel.explain(f, A, B))
    assert "iterations of `for i` are independent; writes C[i][...]" in text


def int_start_float_sum(xs):
    s = 0
    for x in xs:
        s = s + x * 0.1
    return s


def test_a_float_sum_runs_as_written_unless_pairwise_is_asked():
    """Folded piece by piece a float sum is reassociated. By default the loop runs as
    written (bit for bit): declined up front where it starts as a float constant, and
    run here, serially, where its pieces come back floats (an int start); with
    sum_order='pairwise' it splits, equal within the order tolerance."""
    xs = [random.Random(2).random() * 10 ** random.Random(k).randint(-3, 3)
          for k in range(101)]
    row = optlevel.explain(optimize(float_sum, level=3), xs).row("processes")
    assert row.kind == "declined" and "'s', which starts as a float" in row.reason, row
    for func in (float_sum, int_start_float_sum):
        driver = iteration_prepare(func, analyze(func), 3).fn
        assert driver(xs) == func(xs)  # bit for bit
        assert "'s' adds or multiplies floats" in driver.__optlevel_loop__.last
        assert driver(xs) == func(xs)  # and so on later calls
    features = analyze(float_sum)
    features.options["sum_order"] = "pairwise"
    driver = iteration_prepare(float_sum, features, 3).fn
    assert math.isclose(driver(xs), float_sum(xs), rel_tol=1e-12)
    assert "pieces" in driver.__optlevel_loop__.last


def test_int_reductions_are_exact_and_rows_keep_their_identity():
    driver = iteration_prepare(int_reductions, analyze(int_reductions), 3).fn
    xs = list(range(-50, 51))
    assert driver(xs) == int_reductions(xs)
    rows = _lists(9)
    first = rows[0]
    plain = copy.deepcopy(rows)
    rows_in_place(plain, 7)
    iteration_prepare(rows_in_place, analyze(rows_in_place), 3).fn(rows, 7)
    assert rows == plain and rows[0] is first


def test_an_error_in_a_piece_is_the_plain_loops_error():
    driver = iteration_prepare(fails_at_zero, analyze(fails_at_zero), 3).fn
    xs = [5, 4, 3, 2, 1, 7, 0, 9, 9, 9]
    out, plain_out = [None] * 10, [None] * 10
    with pytest.raises(ZeroDivisionError):
        fails_at_zero(xs, plain_out)
    with pytest.raises(ZeroDivisionError):
        driver(xs, out)
    assert out == plain_out  # the same partial writes: first six slots, as written


def test_unhashable_keys_raise_the_plain_error():
    def lookup(rows, table):
        out = []
        for row in rows:
            out.append(table[row])
        return out

    driver = iteration_prepare(lookup, analyze(lookup), 3).fn
    rows = [[k % 4, k] for k in range(20)]
    with pytest.raises(TypeError):
        lookup(rows, {1: 2})
    with pytest.raises(TypeError):
        driver(rows, {1: 2})


def test_aliased_containers_run_whole():
    def dup(A, C):
        for i in range(len(A)):
            C[i] = A[i] + 1
        return C

    driver = iteration_prepare(dup, analyze(dup), 3).fn
    A = [1, 2, 3, 4, 5]
    assert driver(A, A) == [2, 3, 4, 5, 6]
    assert "shares objects" in driver.__optlevel_loop__.last


def keeps_rows(grid):
    out = [row[:] for row in grid]
    keep = []
    for i in range(len(grid)):
        for j in range(len(grid[i])):
            out[i][j] = grid[i][j] * 2.0 + i
        keep.append(out[i])
    return keep, out


def pairs_rows(A):
    keep = []
    for i in range(len(A)):
        keep.append((i, A[i]))
    return keep


def slot_rows(A):
    C = [None] * len(A)
    for i in range(len(A)):
        C[i] = A[i]
    return C


def scale_first_cells(rows):
    for i in range(len(rows)):
        rows[i][0] = rows[i][0] * 2
    return rows


def _rows_with_lists(n):
    return [[k, [k, k + 1]] for k in range(n)]


def keeps_items(seq):
    keep = []
    for i in range(len(seq)):
        keep.append(seq[i])
    return keep


class Slotted:
    __slots__ = ("row",)

    def __init__(self, row):
        self.row = row


def keeps_slotted_rows(items):
    keep = []
    for i in range(len(items)):
        keep.append(items[i].row)
    return keep


@pytest.mark.parametrize("helps_up_to", [4, 0])
@pytest.mark.parametrize("func, held, make", [
    (keeps_rows, lambda args, got: all(k is o for k, o in zip(*got)), _lists),
    (pairs_rows, lambda args, got: all(t[1] is a for t, a in zip(got, args[0])), _lists),
    (slot_rows, lambda args, got: all(c is a for c, a in zip(got, args[0])), _lists),
    # a row written in place is copied back cell by cell: a cell holding a list the
    # loop left alone would come back a copy
    (scale_first_cells, lambda args, got: all(r[1] is s for r, s in zip(got, args[1])),
     _rows_with_lists),
])
def test_a_loop_that_stores_an_object_it_was_given_keeps_that_object(func, held, make,
                                                                     helps_up_to,
                                                                     monkeypatch):
    """The plain loop stores the very object (``keep.append(out[i])``: then ``keep[0] is
    out[0]``); a worker would hand back a copy, equal in value. A worker's piece that
    stores an object it was given says so: the loop runs on here from that piece, as
    written, and the later calls run it whole. With the caller helping (up to 4
    workers) and waiting (more)."""
    from optlevel.levels.parallel import iterhelp

    monkeypatch.setattr(iterhelp, "HELPS_UP_TO", helps_up_to)
    driver = iteration_prepare(func, analyze(func), 3).fn
    runner = driver.__optlevel_loop__
    for n in (7, 40):
        args = (make(n),)
        expected = func(*copy.deepcopy(args))
        inner = [row[1] for row in args[0]]  # the objects a row's cells held before
        got = driver(*args)
        assert got == expected
        assert held((*args, inner), got), (func.__name__, n, runner.last)
        assert "stored an object the loop was given" in runner.last, runner.last
    assert runner.stores_given


@pytest.mark.parametrize("func, make, held", [
    (keeps_items, lambda n: collections.deque([k] for k in range(n)),
     lambda given, got: all(k is a for k, a in zip(got, given))),
    (keeps_slotted_rows, lambda n: [Slotted([k]) for k in range(n)],
     lambda given, got: all(k is s.row for k, s in zip(got, given))),
])
def test_a_stored_object_held_by_a_deque_or_in_slots_is_that_object(func, make, held):
    """The look through what a worker was given went into lists, dicts and instances'
    ``__dict__`` only: an item of a given deque, or a row held in an object's
    ``__slots__``, came back from a worker a copy (``out[k] is A[k]`` for a third of
    the items, the caller's own piece)."""
    driver = iteration_prepare(func, analyze(func), 3).fn
    runner = driver.__optlevel_loop__
    for n in (7, 40, 40):
        given = make(n)
        got = driver(given)
        assert got == func(make(n)) and type(got) is list
        assert held(given, got), (func.__name__, n, runner.last)
    assert runner.stores_given


def test_rows_of_numbers_are_told_apart_alike_in_c_and_python():
    """What the look through a piece's effects skips: a list or tuple of exact numbers,
    strings, bytes and None; anything else it looks into (a float subclass may carry
    an identity of its own). The compiled check where it was built, and Python's."""
    from optlevel.levels.parallel import iterworker

    class F(float):
        pass

    cases = [([1.0, 2, "s", None, True, 1j, b"x"], True), ([], True), ((1, 2.5), True),
             ([1.0, [2.0]], False), ([F(1.0)], False), ((1, (2,)), False),
             ([np.float64(1.0)], False), ([{}], False)]
    for check in {iterworker.atoms_only, iterworker.atoms_only_python}:
        assert [check(seq) for seq, _ in cases] == [want for _, want in cases], check


def carried(x):
    for i in range(1, len(x)):
        x[i] = x[i - 1] + 1
    return x


def shared_slot(xs):
    out = [0, 0]
    for x in xs:
        out[0] = x
    return out


def early_break(xs):
    out = []
    for x in xs:
        if x > 5:
            break
        out.append(x)
    return out


def early_return(xs):
    for x in xs:
        if x > 5:
            return x
    return None


def global_append(xs):
    for x in xs:
        LOG.append(x)


def shared_counts(words):
    d = {}
    for w in words:
        d[w] = d.get(w, 0) + 1
    return d


def carried_scalar(xs):
    last = 0
    out = []
    for x in xs:
        out.append(x - last)
        last = x
    return out


def read_after(xs):
    y = 0
    for x in xs:
        y = x * 2
    return y


def _log(x):
    LOG.append(x)
    return x


def _noisy(x):
    print(x)


def via_helper(xs):
    out = []
    for x in xs:
        out.append(_log(x) * 2)
    return out


def prints_via_helper(xs):
    for x in xs:
        _noisy(x)


def draws(rng, n):
    out = []
    for _ in range(n):
        out.append(rng.random())
    return out


def aliased_row(A):
    for i in range(len(A)):
        row = A[0]
        row[i] = i


@pytest.mark.parametrize("func, why", [
    (carried, "uses 'x' other than at its slot [i]"),
    (shared_slot, "its first index is not the loop's own x"),
    (early_break, "break leaves the loop early"),
    (early_return, "a return inside the loop"),
    (global_append, "changes LOG"),
    (shared_counts, "uses 'd' other than at its slot"),
    (carried_scalar, "'last' carries a value from one iteration to the next"),
    (read_after, "'y', bound in the loop, is read after it"),
    (aliased_row, "changes row[i], which other iterations may see"),
    (via_helper, "calls _log(), which changes the global 'LOG'"),
    (draws, "calls rng.random(), which may change the state of 'rng'"),
    (prints_via_helper, "calls _noisy(), which calls print()"),
])
def test_not_split_for_the_right_reason(func, why):
    info = analyze(func).split
    assert info.iterations is None
    assert why in info.iteration_reason, info.iteration_reason


def test_print_keeps_the_loop_in_python():
    def shout(xs):
        for x in xs:
            print(x)

    from optlevel.core.registry import BACKENDS

    verdict = BACKENDS["processes"].applies(analyze(shout), None, None, None)
    assert not verdict and "print" in verdict.reason


@pytest.mark.slow
def test_the_same_splits_on_a_dask_local_cluster():
    """A real LocalCluster of two worker processes: the pieces run there, the
    results and in-place effects are the plain loop's, and the planner picks dask."""
    import warnings

    distributed = pytest.importorskip("distributed")
    from optlevel.levels.parallel import remote

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own notices (ports, versions)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
    try:
        for name in ("rowwise", "word_counts", "int_reductions", "rows_in_place"):
            func, args = _case(name, 7)
            driver = iteration_prepare(func, analyze(func), 2, lambda: client).fn
            plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
            assert driver(*split_args) == func(*plain_args)
            assert split_args == plain_args
            assert driver.__optlevel_loop__.last.endswith("pieces on dask"), name
        driver = iteration_prepare(slot_rows, analyze(slot_rows), 2, lambda: client).fn
        rows = _lists(9)  # a piece that stores an object it was given: run as written
        assert all(c is a for c, a in zip(driver(rows), rows))
        assert driver.__optlevel_loop__.stores_given
        optlevel.configure(executor=client)
        f = optimize(word_counts, level=3, strict=True)
        docs = _words(30)
        assert f(docs) == word_counts(docs)
        assert {s.backend for s in f.stats().signatures} == {"dask"}
    finally:
        client.close()
        cluster.close()
        remote.close_remote()


def test_a_closure_and_keyword_defaults_reach_the_pieces():
    scale = 5

    def scaled(xs, *, offset=1):
        out = [0] * len(xs)
        for i in range(len(xs)):
            out[i] = xs[i] * scale + offset
        return out

    driver = iteration_prepare(scaled, analyze(scaled), 2).fn
    xs = list(range(20))
    assert driver(xs, offset=2) == scaled(xs, offset=2)
    assert driver(xs) == scaled(xs)
    assert "pieces on 2 processes" in driver.__optlevel_loop__.last


def test_a_first_call_too_large_to_check_in_full_runs_split_and_checks_a_piece(ran_at):
    """plain Python would take longer than the verification budget: the core cannot cut
    lists to check part of the call, so the runner checks its first piece itself and the
    plan runs (instead of plain Python answering every call)."""
    optlevel.configure(workers=2)
    rnd = random.Random(4)
    A = [[rnd.random() for _ in range(110)] for _ in range(110)]
    f = optimize(rowwise, level=3, strict=True)
    assert ran_at(f, A, A) == 3
    assert f(A, A) == rowwise(A, A)
    runner = f.stats().signatures[-1]
    assert "pieces of its iterations on 2 worker processes" in runner.note


def hashes(words):
    out = []
    for w in words:
        out.append(hash(w))
    return out


@pytest.mark.skipif(bool(os.environ.get("PYTHONHASHSEED")), reason="string hashes are the "
                    "same in every process when PYTHONHASHSEED is set")
def test_a_piece_that_differs_from_plain_python_untrusts_the_split():
    """str hashes differ between processes: the first piece's check sees it, warns once,
    and the loop runs as written from then on (plain Python's values every call)."""
    from optlevel.levels.parallel.itercheck import UNTRUSTED

    driver = iteration_prepare(hashes, analyze(hashes), 2).fn
    words = _words(20)
    with pytest.warns(optlevel.ResultMismatchWarning, match="first piece"):
        assert driver(words) == hashes(words)
    assert driver.__optlevel_loop__.last == UNTRUSTED
    assert driver(words) == hashes(words)
    assert driver.__optlevel_loop__.last == UNTRUSTED


def test_what_every_piece_reads_goes_once_through_shared_memory(monkeypatch):
    """B (about 20 KB pickled) is read whole by each of 5 workers' 20 pieces: through
    the pipe each piece would carry its own copy, so it is put in shared memory once
    (on 16 cores, rowwise N=128's 64 pieces sent 9.5 MB through the pipe)."""
    from optlevel.levels.parallel import shm

    put_sizes = []
    put = shm.Segments.put

    def recording(self, array):
        put_sizes.append(array.nbytes)
        return put(self, array)

    monkeypatch.setattr(shm.Segments, "put", recording)
    rnd = random.Random(5)
    A = [[rnd.random() for _ in range(48)] for _ in range(48)]
    B = copy.deepcopy(A)
    driver = iteration_prepare(rowwise, analyze(rowwise), 5).fn
    runner = driver.__optlevel_loop__
    assert runner.share is None and runner.pieces == 20  # the caller waits: 20 pieces
    for _ in range(2):  # the first split call, checked, and a later one
        put_sizes.clear()
        assert driver(A, B) == rowwise(A, B)
        assert runner.last.endswith(" pieces on 5 processes"), runner.last
        assert put_sizes and 18_000 < max(put_sizes) < 262_144, put_sizes
    assert shm.live_segments() == []


def test_short_pieces_are_merged_into_fewer_round_trips(monkeypatch):
    """Each piece is a round trip through the pool's threads in the caller's process:
    a call whose 20 pieces held under 10 ms of work each is cut into fewer next time,
    never fewer than one per worker; with long pieces the count stays."""
    from optlevel.levels.parallel import iterrun

    rnd = random.Random(6)
    A = [[rnd.random() for _ in range(24)] for _ in range(24)]
    driver = iteration_prepare(rowwise, analyze(rowwise), 5).fn
    runner = driver.__optlevel_loop__
    assert runner.pieces == 20
    # pieces of 24 rows' product are far under 10 ms each; a loaded machine can stretch
    # a call past that, so the bound is held far above any call here
    monkeypatch.setattr(iterrun, "MIN_PIECE_S", 10.0)
    for _ in range(3):
        assert driver(A, A) == rowwise(A, A)
    assert runner.pieces == 5 and runner.last == "5 pieces on 5 processes"
    monkeypatch.setattr(iterrun, "MIN_PIECE_S", 1e-9)  # any piece is long enough
    for _ in range(2):
        assert driver(A, A) == rowwise(A, A)
    assert runner.pieces == 20 and runner.last == "20 pieces on 5 processes"


def test_piece_counts_come_in_whole_rounds_of_the_workers(monkeypatch):
    """A count between rounds would leave some workers a second piece while the others
    wait: the retuned count is the nearest whole number of rounds (one to four)."""
    from optlevel.levels.parallel import iterrun

    runner = iteration_prepare(rowwise, analyze(rowwise), 5).fn.__optlevel_loop__
    monkeypatch.setattr(iterrun, "MIN_PIECE_S", 0.01)
    for seconds, pieces in ((0.014, 5), (0.0175, 10), (0.024, 10), (0.026, 15),
                            (0.001, 5), (1.0, 20)):  # work = seconds x 5 workers
        runner._retune(seconds)
        assert runner.pieces == pieces, (seconds, runner.pieces)


def locked_names(items, out):
    for i, item in enumerate(items):
        out[i] = item[0] * 2
    return out


def test_an_item_that_cannot_travel_runs_the_loop_here():
    """Locks among the loop's last items (they do not pickle): the caller helping (3
    workers) and waiting (5) alike run the plain loop here, warn (once a process), and
    say why."""
    import threading

    items = [("b", None)] * 30 + [("a", threading.Lock()) for _ in range(30)]
    with pytest.warns(optlevel.FallbackWarning, match="could not split its loop"):
        for workers in (3, 5):
            driver = iteration_prepare(locked_names, analyze(locked_names), workers).fn
            out = [None] * len(items)
            assert driver(items, out) is out
            assert out == locked_names(items, [None] * len(items))
            assert "an item of the loop cannot be sent to worker processes" in \
                driver.__optlevel_loop__.last, workers


def test_threads_calling_one_split_loop_at_once_each_get_the_plain_result():
    """Four threads call a level-3 loop split together: their pieces share the
    process pool's one task pipe, and each call gets its own plain result."""
    import threading

    rnd = random.Random(11)
    driver = iteration_prepare(rowwise, analyze(rowwise), 3).fn
    cases = [([[rnd.random() for _ in range(30)] for _ in range(30)],) * 2 for _ in range(4)]
    got: dict[int, bool] = {}

    def call(k):
        got[k] = all(driver(*cases[k]) == rowwise(*cases[k]) for _ in range(3))

    threads = [threading.Thread(target=call, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert got == {k: True for k in range(4)}
    assert "pieces on 3 processes" in driver.__optlevel_loop__.last


def test_an_object_of_no_known_kind_counts_as_holding_what_was_stored():
    """What a C object of no known kind holds cannot be listed: a piece whose effects
    hold a list, while the worker was given such an object, counts as storing a given
    object (the loop then runs as written), rather than trusting the list is new."""
    import operator

    from optlevel.levels.parallel.iterworker import stores_given

    spec = ((), ("out",))  # no slots; appends to out
    effects = ((), {}, {"out": [[1, 2]]})
    desc = ("seq", [0])
    assert not stores_given(effects, {"rows": [[3]]}, ({}, []), desc, spec)
    assert stores_given(effects, {"pick": operator.itemgetter(1)}, ({}, []), desc, spec)
    assert not stores_given(effects, {"np": np, "f": len, "k": int}, ({}, []), desc, spec)
