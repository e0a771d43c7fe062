"""Iteration splits on processes where the caller runs the loop's first piece itself
(up to 4 workers, :mod:`optlevel.levels.parallel.iterhelp`): the plain function's
values, types and in-place effects; a piece that raises, in the caller's share or a
worker's, gives the plain loop's exception with the plain loop's partial effects; the
caller's piece sees the current globals and runs marked as a level-3 worker."""

import copy
import os
import random
import signal
import threading
import time

import pytest

import optlevel
from optlevel.analysis import analyze
from optlevel.levels.parallel import iterhelp, runtime, shm
from optlevel.levels.parallel.iterplan import iteration_prepare
from optlevel.levels.parallel.pools import PROCESSES

pytestmark = pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")

SIZES = [0, 1, 2, 7, 101]
SCALE = 3


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


def reductions_and_appends(xs, found):
    total = 0
    prod = 1
    low = 10 ** 30
    text = ""
    for x in xs:
        total += x * 10 ** 20 - 1
        prod *= (x % 3) + 1
        low = min(low, x)
        text += str(x) + ","
        found.append(x * x)
        if x % 2:
            found.extend([x, -x])
    return total, prod, low, text


def stencil(grid):
    n = len(grid)
    m = len(grid[0]) if n else 0
    out = [row[:] for row in grid]
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i][j] = 0.25 * (grid[i - 1][j] + grid[i + 1][j] + grid[i][j - 1]
                                + grid[i][j + 1])
    return out


def rows_in_place(C, scale):
    for i in range(len(C)):
        for j in range(len(C[i])):
            C[i][j] = C[i][j] * scale


def fails_at_zero(xs, out, found):
    total = 0
    for i in range(len(xs)):
        total += xs[i]
        found.append(-xs[i])
        out[i] = 100 // xs[i]
    return total


def scaled(xs):
    out = [0] * len(xs)
    for i in range(len(xs)):
        out[i] = xs[i] * SCALE
    return out


def _probe(x):
    return runtime.inside_worker()


def probed(xs):
    out = [None] * len(xs)
    for i in range(len(xs)):
        out[i] = _probe(xs[i])
    return out


def slow_first(xs, out):
    for i in range(len(xs)):
        s = 0
        for k in range(xs[i]):
            s += k
        out[i] = s


def _case(name, n):
    rnd = random.Random(n)
    m = min(n, 9)
    square = [[rnd.random() for _ in range(m)] for _ in range(m)]
    return {
        "rowwise": (rowwise, (square, copy.deepcopy(square))),
        "reductions_and_appends": (reductions_and_appends,
                                   ([rnd.randint(-9, 9) for _ in range(n)], [7])),
        "stencil": (stencil, ([[float(i * j % 7) for j in range(5)] for i in range(n)],)),
        "rows_in_place": (rows_in_place, ([[rnd.randint(-5, 9) for _ in range(3)]
                                           for _ in range(n)], 3)),
    }[name]


def _driver(func, workers=3):
    driver = iteration_prepare(func, analyze(func), workers).fn
    assert driver.__optlevel_loop__.share is not None  # the caller helps
    return driver, driver.__optlevel_loop__


@pytest.mark.parametrize("name", ["rowwise", "reductions_and_appends", "stencil",
                                  "rows_in_place"])
def test_the_caller_and_two_workers_match_the_plain_loop(name):
    """Lengths 0, 1, 2, 7, 101 on 3 workers, twice each (a first split call, checked,
    and a later one): values, types, in-place effects; ints exact, appends in order,
    the stencil's halos across every block edge."""
    func = _case(name, 0)[0]
    driver, runner = _driver(func)
    for n in SIZES:
        for _ in range(2):
            args = _case(name, n)[1]
            plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
            expected = func(*plain_args)
            result = driver(*split_args)
            assert type(result) is type(expected) and result == expected, (name, n)
            assert split_args == plain_args, (name, n)
            if n >= 7:
                assert runner.last.endswith("on 3 processes, the first here"), runner.last


def test_stencil_halos_with_blocks_of_one_row():
    """Every split of a 4- to 7-row grid (2 to 5 iterations): the caller's block and
    the workers' may be one row each, their halos the first and last rows."""
    driver, runner = _driver(stencil)
    for n in range(4, 8):
        for fraction in (0.02, 0.5, 0.9):
            runner.share.fraction = fraction
            grid = [[float((i + 1) * (j + 2) % 5) for j in range(4)] for i in range(n)]
            assert driver(grid) == stencil(grid), (n, fraction)
            assert "the first here" in runner.last


@pytest.mark.parametrize("where", ["caller", "worker"])
def test_a_piece_that_raises_gives_the_plain_loops_error_and_partial_effects(where):
    """The zero in the caller's piece (the first iterations) or in a worker's (the
    last): the same exception, the same slots written, the same items appended."""
    driver, runner = _driver(fails_at_zero)
    for _ in range(2):  # a first split call, then a later one
        xs = [5, 4, 3, 2, 1, 7, 6, 9, 8, 3, 2, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4]
        xs[1 if where == "caller" else -2] = 0
        out, found = [None] * len(xs), [0]
        plain_out, plain_found = [None] * len(xs), [0]
        with pytest.raises(ZeroDivisionError):
            fails_at_zero(xs, plain_out, plain_found)
        with pytest.raises(ZeroDivisionError):
            driver(xs, out, found)
        assert out == plain_out and found == plain_found
        assert ("first piece, run here, raised" in runner.last) == (where == "caller")


def test_the_callers_piece_sees_the_current_globals():
    global SCALE
    driver, runner = _driver(scaled, 2)
    xs = list(range(40))
    try:
        for value in (3, -2, 5):
            SCALE = value
            assert driver(xs) == scaled(xs)
            assert runner.last.endswith("the first here")
    finally:
        SCALE = 3


def test_the_callers_piece_runs_marked_as_a_level_3_worker():
    """What the loop calls sees a level-3 worker everywhere (so it does not start level
    3 again), in the caller's piece too, and the caller is itself again afterwards."""
    driver, runner = _driver(probed, 2)
    runner.checked = True  # plain Python answers False here: no first-call check
    assert driver(list(range(30))) == [True] * 30
    assert runner.last.endswith("the first here") and not runtime.inside_worker()


def test_the_share_follows_the_median_rates():
    share = iterhelp.Share(2)
    assert share.fraction == 0.5
    for _ in range(3):
        share.learn((50, 0.010), [50], [0.020])  # the worker twice as slow per iteration
    assert share.fraction == pytest.approx(2 / 3)
    share.learn((50, 0.010), [50], [0.200])  # one slow call (a cold worker, a busy core)
    assert share.fraction == pytest.approx(2 / 3)
    share.learn((50, 0.0001), [50], [0.020])  # too short to teach anything
    assert len(share.rates) == 4
    for _ in range(5):
        share.learn((50, 0.030), [50], [0.010])  # now the caller is the slower
    assert share.fraction == pytest.approx(0.25)
    assert share.iterations(3) == 1 and share.iterations(2) == 1 and share.iterations(100) == 25
    assert not iterhelp.helps(1) and iterhelp.helps(4) and not iterhelp.helps(5)


def test_ctrl_c_in_the_callers_piece_stops_the_workers():
    driver, runner = _driver(slow_first, 2)
    xs = [30_000_000] * 4  # seconds of Python in every piece, if not stopped
    driver([10] * 4, [0] * 4)  # the pool is up, the first call checked
    workers = PROCESSES.pids()
    handled = []

    def handler(signum, frame):
        handled.append(signum)
        if len(handled) == 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident,
                                                      signal.SIGINT))
    started = time.perf_counter()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            driver(xs, [0] * 4)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert handled and time.perf_counter() - started < 10
    assert shm.live_segments() == []
    assert not set(workers) & set(PROCESSES.pids())
    out = [0] * 4
    driver([10, 20, 30, 40], out)  # a new pool serves
    assert out == [45, 190, 435, 780] and runner.last.endswith("the first here")


def test_a_killed_worker_is_replaced_and_the_callers_piece_kept():
    """The pool's workers die mid-call: the pool restarts, the workers' pieces run
    again (the caller's piece, done, is not), one PerformanceWarning says so."""
    driver, runner = _driver(slow_first, 2)
    driver([10] * 4, [0] * 4)  # the pool is up, the first call checked
    xs = [1_500_000] * 8  # some 50 ms of Python per item here: the kill lands mid-call
    killer = threading.Timer(0.1, lambda: [os.kill(pid, signal.SIGKILL)
                                           for pid in PROCESSES.pids()])
    out = [0] * 8
    with pytest.warns(optlevel.PerformanceWarning, match="died"):
        killer.start()
        driver(xs, out)
    killer.join()
    assert out == [sum(range(x)) for x in xs]
    assert runner.last.endswith("the first here") and shm.live_segments() == []


def test_many_workers_leave_the_caller_waiting():
    """Above 4 workers the caller does not run a piece (the many small pieces keep
    the pool busy instead); the runner is built without a share."""
    from optlevel.levels.parallel.iterrun import LoopRunner

    features = analyze(scaled)
    runner = LoopRunner(scaled, features.source.tree, features.split.iterations, 8, 4)
    assert runner.share is None and runner.pieces == 32


def scale_rows_until(C, scale, bad):
    for i in range(len(C)):
        if i == bad:
            raise ValueError(f"row {i}")
        for j in range(len(C[i])):
            C[i][j] = C[i][j] * scale


@pytest.mark.parametrize("bad", [37, 38, 39, 30, 5])
def test_an_error_in_a_loop_that_reads_its_own_slots_leaves_the_plain_partial_writes(bad):
    """Each row is read and written in place (``C[i][j] = C[i][j] * scale``), so a row
    written twice would show. An error in the worker's piece (rows 20-39) or in this
    process's (rows 0-19) gives the plain loop's exception and exactly its partial
    writes, whatever the pieces had written by then."""
    driver, runner = _driver(scale_rows_until, 2)
    driver([[1.0] * 4 for _ in range(40)], 2.0, -1)  # the checked first call
    for _ in range(2):
        runner.share.fraction = 0.5
        rows = [[float(i + j) for j in range(20_000 if i < 20 else 10)] for i in range(40)]
        plain = copy.deepcopy(rows)
        with pytest.raises(ValueError, match=f"row {bad}"):
            scale_rows_until(plain, 3.0, bad)
        with pytest.raises(ValueError, match=f"row {bad}"):
            driver(rows, 3.0, bad)
        assert rows == plain
