"""Level 3's process pool (:mod:`optlevel.levels.parallel.pipes`): real worker
processes, each task's outcome in its future, a dead worker breaking the pool, and a
process that exits with a pool still up."""

import operator
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import as_completed, wait
from concurrent.futures.process import BrokenProcessPool

import pytest

from optlevel.levels.parallel.pipes import PipePool
from optlevel.levels.parallel.start import context


@pytest.fixture
def pool():
    made = PipePool(2, context())
    yield made
    made.kill_workers()
    made.shutdown(wait=False, cancel_futures=True)


def test_more_tasks_than_workers_come_back_in_their_own_futures(pool):
    futures = [pool.submit(pow, k, 2) for k in range(25)]
    assert [f.result(timeout=60) for f in futures] == [k * k for k in range(25)]
    assert sorted(f.result() for f in as_completed(futures)) == [k * k for k in range(25)]
    # every task ran in a worker, none here
    pids = {pool.submit(os.getpid).result(timeout=60) for _ in range(8)}
    assert pids <= {p.pid for p in pool.processes} and os.getpid() not in pids


def test_a_task_that_raises_raises_with_the_workers_traceback(pool):
    future = pool.submit(operator.truediv, 1, 0)
    with pytest.raises(ZeroDivisionError) as caught:
        future.result(timeout=60)
    assert "ZeroDivisionError" in str(caught.value.__cause__)
    assert pool.submit(operator.add, 2, 3).result(timeout=60) == 5  # the pool still serves


def test_an_argument_that_cannot_travel_fails_its_future_not_submit(pool):
    future = pool.submit(len, threading.Lock())
    with pytest.raises(TypeError, match="pickle"):
        future.result(timeout=60)
    assert pool.submit(len, "abc").result(timeout=60) == 3


def test_a_result_that_cannot_travel_fails_its_future(pool):
    future = pool.submit(threading.Lock)  # a lock made in the worker cannot come back
    with pytest.raises(RuntimeError, match="could not send back its result"):
        future.result(timeout=60)
    assert pool.submit(len, "ab").result(timeout=60) == 2


def test_a_written_task_is_not_cancelled_and_settling_waits_for_it(pool):
    """Every task is in the workers' pipe once submitted: ``cancel`` says False, and a
    call that gives up on its pieces waits for them (none runs on behind it)."""
    from optlevel.levels.parallel.pools import settle

    busy = [pool.submit(time.sleep, 0.3) for _ in range(2)]
    queued = pool.submit(os.getpid)
    assert not queued.cancel() and not queued.cancelled()
    settle([*busy, queued])
    assert all(f.done() for f in [*busy, queued])
    assert queued.result() in {p.pid for p in pool.processes}


def _touch(path):
    open(path, "w").close()
    return path


def test_workers_take_their_next_tasks_with_no_thread_of_the_caller(pool, monkeypatch,
                                                                    tmp_path):
    """The mechanism: with the pool's reader thread held (no result is read here),
    two workers still run all six tasks, one after another: each takes its next task
    from the pipe itself."""
    held = threading.Event()
    real = pool._received

    def hold(k):
        held.wait(60)
        real(k)

    monkeypatch.setattr(pool, "_received", hold)
    paths = [str(tmp_path / f"task{k}") for k in range(6)]
    futures = [pool.submit(_touch, path) for path in paths]
    deadline = time.monotonic() + 60
    while not all(os.path.exists(p) for p in paths) and time.monotonic() < deadline:
        time.sleep(0.01)
    ran = [os.path.exists(p) for p in paths]
    settled = [f.done() for f in futures]
    held.set()
    assert ran == [True] * 6 and settled == [False] * 6
    assert [f.result(timeout=60) for f in futures] == paths


def test_a_worker_that_dies_breaks_the_pool(pool):
    victim = pool.submit(os._exit, 3)
    with pytest.raises(BrokenProcessPool, match="ended abruptly"):
        victim.result(timeout=60)
    with pytest.raises(BrokenProcessPool):
        pool.submit(len, "a")


def test_tasks_queued_behind_a_dying_worker_fail_too(pool):
    sleeping = pool.submit(time.sleep, 0.3)
    dying = pool.submit(os._exit, 3)
    queued = [pool.submit(pow, 2, k) for k in range(4)]
    with pytest.raises(BrokenProcessPool):
        dying.result(timeout=60)
    done, _ = wait(queued, timeout=60)
    assert len(done) == 4  # none is left waiting forever
    for future in queued:
        if not future.cancelled() and future.exception() is not None:
            assert isinstance(future.exception(), BrokenProcessPool)
    assert isinstance(sleeping.exception(timeout=60), BrokenProcessPool)
    assert all(not p.is_alive() for p in pool.processes)  # none runs on a failed task
    assert pool._reader.is_alive()  # ... and the reader goes on


def test_shutdown_ends_the_workers_after_their_tasks():
    made = PipePool(2, context())
    futures = [made.submit(pow, 3, k) for k in range(6)]
    made.shutdown(wait=True)
    assert [f.result() for f in futures] == [3 ** k for k in range(6)]
    assert all(not p.is_alive() for p in made.processes)
    with pytest.raises(RuntimeError, match="after shutdown"):
        made.submit(len, "a")


def test_the_pool_adds_one_thread_its_reader():
    """The mechanism: tasks are written from the calling thread; the only thread the
    pool adds is the reader of results (the executor adds a manager and a feeder)."""
    before = set(threading.enumerate())
    made = PipePool(2, context())
    try:
        assert made.submit(pow, 2, 3).result(timeout=60) == 8
        added = [t.name for t in set(threading.enumerate()) - before]
        assert added == ["optlevel-L3-results"]
    finally:
        made.shutdown(wait=True)


def test_a_process_that_exits_with_the_pool_up_does_not_hang():
    code = ("from optlevel.levels.parallel.pipes import PipePool\n"
            "from optlevel.levels.parallel.start import context\n"
            "pool = PipePool(2, context())\n"
            "print(pool.submit(pow, 2, 5).result())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "32"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_leaves_its_parents_workers_alone(pool):
    """A child forked while the pool is up inherits its pipes: it refuses tasks there,
    and its shutdown and exit (multiprocessing's finalizers) do not stop the parent's
    workers."""
    assert pool.submit(pow, 2, 2).result(timeout=60) == 4
    from multiprocessing import util

    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code
        code = 0
        try:
            pool.submit(len, "a")
            code = 3  # it should have refused
        except BrokenProcessPool:
            pass
        except BaseException:
            code = 4
        try:
            pool.shutdown()
            pool.kill_workers()
            util._run_finalizers(0)  # what multiprocessing's exit hook runs first
        except BaseException:
            code = 5
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    workers = {p.pid for p in pool.processes}
    got = [pool.submit(pow, 3, k).result(timeout=60) for k in range(6)]
    assert got == [3 ** k for k in range(6)]
    assert all(p.is_alive() for p in pool.processes)
    assert {p.pid for p in pool.processes} == workers


def test_a_write_interrupted_midway_breaks_the_pool():
    """Ctrl-C while a task is being written leaves the pipe mid-message: the pool is
    broken (the next level-3 call starts a new one), never read out of step."""
    made = PipePool(2, context())
    real = made._tasks

    class Interrupted:
        def send_bytes(self, blob):
            raise KeyboardInterrupt

    made._tasks = Interrupted()
    try:
        with pytest.raises(KeyboardInterrupt):
            made.submit(len, "abc")
        with pytest.raises(BrokenProcessPool, match="interrupted"):
            made.submit(len, "abc")
        assert all(not p.is_alive() for p in made.processes)  # stopped with the pool
    finally:
        made._tasks = real
        made.kill_workers()
        made.shutdown(wait=False, cancel_futures=True)


def test_a_failing_reader_fails_the_futures_it_would_have_settled(pool, monkeypatch):
    def broken_reader(k):
        raise RuntimeError("a bug in the reader")

    monkeypatch.setattr(pool, "_received", broken_reader)
    future = pool.submit(pow, 2, 10)
    with pytest.raises(BrokenProcessPool, match="reader thread failed.*a bug in the reader"):
        future.result(timeout=60)


def _echo_reversed(payload):
    return payload[::-1]


def test_large_tasks_and_large_results_at_once_do_not_block_each_other():
    """Tasks larger than the task pipe, with results larger than a result pipe, more
    tasks than workers: the calling thread waits in its writes while the workers wait
    in theirs, and the reader thread, which never writes, drains the results."""
    made = PipePool(3, context())
    try:
        payloads = [bytes([k]) * (1_500_000 + k) for k in range(12)]
        futures = [made.submit(_echo_reversed, p) for p in payloads]
        assert [f.result(timeout=120) for f in futures] == [p[::-1] for p in payloads]
    finally:
        made.shutdown(wait=True)


def test_threads_submitting_at_once_each_get_their_own_results():
    """Several threads of the caller write into the one task pipe at once (a task's
    two messages stay together), with payloads small and larger than the pipe."""
    made = PipePool(2, context())
    got: dict[int, list] = {}

    def caller(t):
        payloads = [bytes([t]) * (10 + (k % 3) * 700_000) for k in range(8)]
        futures = [made.submit(_echo_reversed, p) for p in payloads]
        got[t] = [f.result(timeout=120) == p[::-1] for f, p in zip(futures, payloads)]

    try:
        threads = [threading.Thread(target=caller, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert got == {t: [True] * 8 for t in range(4)}
    finally:
        made.shutdown(wait=True)
