"""Iteration splits run by processes forked for the call (``iterfork``): the plain
loop's values, types and in-place effects; a raising, dying or differing piece met as
plain Python meets it; forks refused where a foreign thread runs; the way (pool or
forks) chosen by measured times."""

import copy
import errno
import os
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import optlevel
from optlevel.analysis import analyze
from optlevel.levels.parallel import iterfork
from optlevel.levels.parallel.iterplan import iteration_prepare
from tests.test_parallel_iterations import NAMES, SIZES, _case, _same, fails_at_zero

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only"),
    pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning"),
]


@pytest.fixture
def forked(monkeypatch):
    """Every split call of this test runs on forked processes."""
    monkeypatch.setattr(iterfork, "ENABLED", True)
    monkeypatch.setattr(iterfork.Choice, "pick", lambda self: "fork")
    assert iterfork.refused() == ""


def _driver(func, workers=3):
    return iteration_prepare(func, analyze(func), workers).fn


@pytest.mark.parametrize("name", NAMES)
def test_forked_pieces_match_the_plain_loop(name, forked):
    """Lengths 0, 1, 2, 7, 101 on 3 forked pieces: values, types, in-place effects."""
    func = _case(name, 0)[0]
    driver = _driver(func)
    runner = driver.__optlevel_loop__
    for n in SIZES:
        args = _case(name, n)[1]
        plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
        expected = func(*plain_args)
        _same(driver(*split_args), expected)
        assert split_args == plain_args or all(
            np.array_equal(a, b) for a, b in zip(split_args, plain_args)), name
        if n >= 7 and name not in ("rowwise", "doubled_items", "fill_dict"):
            assert runner.last == "3 pieces in forked processes, the first here", (name, n)


def test_a_raising_forked_piece_is_the_plain_loops_error(forked):
    driver = _driver(fails_at_zero)
    xs = [5, 4, 3, 2, 1, 7, 0, 9, 9, 9]  # piece 2 of 3 raises at its first iteration
    out, plain_out = [None] * 10, [None] * 10
    with pytest.raises(ZeroDivisionError):
        fails_at_zero(xs, plain_out)
    with pytest.raises(ZeroDivisionError):
        driver(xs, out)
    assert out == plain_out  # the same partial writes, as written
    assert "a piece raised" in driver.__optlevel_loop__.last


def test_an_error_in_the_callers_piece_stops_the_forked_ones(forked, monkeypatch):
    forks, pids = iterfork._fork_tree, []

    def recorded(count):
        kids, mine = forks(count)
        pids.extend(kids)
        return kids, mine

    monkeypatch.setattr(iterfork, "_fork_tree", recorded)
    driver = _driver(fails_at_zero)
    xs = [0] + [1] * 20
    out = [None] * 21
    with pytest.raises(ZeroDivisionError):
        driver(xs, out)
    assert out == [None] * 21  # plain Python raised before any write
    assert "the first piece, run here, raised" in driver.__optlevel_loop__.last
    assert len(pids) == 2  # 3 pieces: a tree of two forks from here
    for pid in pids:
        with pytest.raises(ChildProcessError):  # killed and reaped
            os.waitpid(pid, os.WNOHANG)


def test_a_forked_process_that_dies_leaves_the_loop_to_the_caller(forked, monkeypatch):
    monkeypatch.setattr(iterfork, "run_piece_on", lambda *a: os._exit(3))
    func = _case("word_counts", 0)[0]
    driver = _driver(func)
    words = _case("word_counts", 101)[1]
    with pytest.warns(optlevel.FallbackWarning, match="died or did not answer in time"):
        result = driver(*copy.deepcopy(words))
    assert result == func(*copy.deepcopy(words))
    assert "a forked piece died or hung" in driver.__optlevel_loop__.last


def test_a_forked_process_that_hangs_is_killed_and_the_loop_runs_here(forked, monkeypatch):
    """A lock another thread held at the fork would leave a piece waiting forever."""
    monkeypatch.setattr(iterfork, "run_piece_on", lambda *a: time.sleep(600))
    monkeypatch.setattr(iterfork, "LEAST_WAIT_S", 0.5)
    forks, pids = iterfork._fork_tree, []

    def recorded(count):
        kids, mine = forks(count)
        pids.extend(kids)
        return kids, mine

    monkeypatch.setattr(iterfork, "_fork_tree", recorded)
    func = _case("ordered_appends", 0)[0]
    driver = _driver(func)
    args = _case("ordered_appends", 101)[1]
    began = time.monotonic()
    with pytest.warns(optlevel.FallbackWarning, match="did not answer in time"):
        assert driver(*args) == func(*args)
    assert time.monotonic() - began < 30
    for pid in pids:
        with pytest.raises(ChildProcessError):  # killed and reaped
            os.waitpid(pid, os.WNOHANG)


def warns_per_item(xs):
    out = []
    for x in xs:
        out.append(np.log(x))
    return out


def test_a_forked_pieces_warnings_are_issued_in_the_caller(forked):
    driver = _driver(warns_per_item)
    xs = [np.float64(v) for v in (1, 2, 3, 4, 0, 6, 7, 8, -9)]  # pieces 1 and 2 warn
    with warnings.catch_warnings(record=True) as plain:
        warnings.simplefilter("always")
        expected = warns_per_item(xs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_array_equal(driver(xs), expected)
    assert len(plain) == 2
    assert [(w.category, str(w.message)) for w in caught] == \
        [(w.category, str(w.message)) for w in plain]
    assert "forked" in driver.__optlevel_loop__.last


class Lossy:
    """Pickles to a different value: a forked piece's effects would arrive changed."""

    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Lossy) and other.v == self.v

    def __reduce__(self):
        return (Lossy, (0,))


def lossy_slots(xs):
    out = [None] * len(xs)
    for i in range(len(xs)):
        out[i] = Lossy(xs[i])
    return out


@pytest.mark.filterwarnings("default::optlevel.ResultMismatchWarning")
def test_effects_that_change_when_pickled_untrust_the_split(forked):
    driver = _driver(lossy_slots)
    xs = list(range(1, 31))
    with pytest.warns(optlevel.ResultMismatchWarning, match="first forked piece"):
        assert driver(xs) == lossy_slots(xs)
    assert driver(xs) == lossy_slots(xs)  # and later calls run it as written
    assert driver.__optlevel_loop__.untrusted


def hashes(words):
    out = []
    for w in words:
        out.append(hash(w))
    return out


def test_forked_pieces_share_the_callers_string_hashes(forked):
    """A worker the pool spawned hashes strings with its own seed (the pool's first
    call then distrusts the split); a forked piece is this process, and agrees."""
    driver = _driver(hashes)
    words = [f"w{i}" for i in range(50)]
    assert driver(words) == hashes(words)
    assert driver.__optlevel_loop__.last == "3 pieces in forked processes, the first here"


def test_a_foreign_thread_keeps_the_pool(monkeypatch):
    monkeypatch.setattr(iterfork, "ENABLED", True)
    assert iterfork.refused() == ""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="user-thread")
    thread.start()
    try:
        assert iterfork.refused() == "thread 'user-thread' runs in this process"
        monkeypatch.setattr(iterfork.Choice, "pick", lambda self: "fork")
        func = _case("per_item_strings", 0)[0]
        driver = _driver(func)
        args = _case("per_item_strings", 101)[1]
        assert driver(*args) == func(*args)
        assert "processes" in driver.__optlevel_loop__.last
        assert "forked" not in driver.__optlevel_loop__.last
    finally:
        stop.set()
        thread.join()
    monkeypatch.setattr(iterfork, "ENABLED", False)
    assert iterfork.refused() == "OPTLEVEL_FORK=0"


def test_an_idle_thread_pool_does_not_keep_the_forks_away(monkeypatch):
    monkeypatch.setattr(iterfork, "ENABLED", True)
    with ThreadPoolExecutor(2, thread_name_prefix="user-pool") as pool:
        assert pool.submit(sum, [1, 2]).result() == 3
        time.sleep(0.05)  # its thread is back waiting for work
        assert iterfork.refused() == ""
        started, release = threading.Event(), threading.Event()
        busy = pool.submit(lambda: (started.set(), release.wait()))
        started.wait()
        assert iterfork.refused().startswith("thread 'user-pool")
        release.set()
        busy.result()


def test_the_faster_way_is_kept_and_the_other_tried_again_now_and_then():
    choice = iterfork.Choice()
    ways = [choice.pick() for _ in range(2)]
    assert ways == ["pool", "pool"]
    choice.record("pool", 0.010, 100)
    choice.record("pool", 0.012, 100)
    assert choice.pick() == "fork"
    choice.record("fork", 0.020, 100)
    choice.record("fork", 0.018, 100)
    picks = [choice.pick() for _ in range(2 * iterfork.RETRY_EVERY)]
    assert picks.count("fork") == 2 and picks.count("pool") == len(picks) - 2
    assert "pool 100.0 us an iteration, fork 180.0 us an iteration" == choice.describe()
    for _ in range(3):  # the machine changed: the forks are now faster
        choice.record("fork", 0.002, 100)
    assert choice.pick() == "fork"


def test_a_runner_times_both_ways_and_keeps_the_faster(monkeypatch):
    """On its own calls: two timed pool calls after the checked first, then the forks'
    (their first checked too), then the faster."""
    monkeypatch.setattr(iterfork, "ENABLED", True)
    func = _case("per_item_strings", 0)[0]
    driver = _driver(func, 2)
    runner = driver.__optlevel_loop__
    args = _case("per_item_strings", 101)[1]
    seen = []
    for _ in range(7):
        assert driver(*args) == func(*args)
        seen.append("forked" if "forked" in runner.last else "pool")
    assert seen[:6] == ["pool"] * 3 + ["forked"] * 3
    assert len(runner.way.rates["pool"]) >= 2 and len(runner.way.rates["fork"]) == 2
    fork, pool = (min(runner.way.rates[w]) for w in ("fork", "pool"))
    assert seen[6] == ("forked" if fork < pool else "pool")


def test_effects_travel_back_pickled_whatever_their_size(forked):
    """More than a pipe holds (64 KB) from every piece: read while the pieces wait."""
    def big_rows(n):
        out = [None] * n
        for i in range(n):
            out[i] = [float(i)] * 20_000
        return out

    driver = _driver(big_rows)
    assert driver(9) == big_rows(9)
    assert driver.__optlevel_loop__.last == "3 pieces in forked processes, the first here"


def test_a_fork_that_fails_leaves_the_call_to_the_pool(forked, monkeypatch):
    """The second fork fails (no process slots): the first forked process is stopped
    and reaped, and the pool runs the call."""
    real, pids, calls = os.fork, [], []

    def flaky():
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        pid = real()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", flaky)
    func = _case("word_counts", 0)[0]
    driver = _driver(func)
    args = _case("word_counts", 101)[1]
    assert driver(*copy.deepcopy(args)) == func(*copy.deepcopy(args))
    assert driver.__optlevel_loop__.last.endswith("pieces on 3 processes, the first here")
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)
