"""Faults at level 3, each actually injected: a worker killed mid-call, an unpicklable
function or argument, Ctrl-C; and no shared-memory segment outlives a call."""

import os
import re
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.levels.parallel import shm
from optlevel.levels.parallel.pools import PROCESSES

pytestmark = [pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning"),
              pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals")]


def _fallbacks(caught):
    """The FallbackWarnings' messages: one per level above the one that ran."""
    return [str(w.message) for w in caught if issubclass(w.category, optlevel.FallbackWarning)]


def slow_rows(a, work):
    n = a.shape[0]
    out = np.zeros(n)
    for i in range(n):
        s = 0.0
        for k in range(work):
            s += a[i, 0] * k
        out[i] = s
    return out


def expected(a, work):
    return a[:, 0] * (work * (work - 1) / 2)


def scale_by(x, ctx):
    return x * ctx.factor


class Context:
    """An argument that cannot be pickled (it holds a lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.factor = 2.0


@pytest.fixture
def processes():
    optlevel.configure(executor="processes", workers=2)
    f = optimize(slow_rows, level=3, strict=True, verify=False)
    a = np.arange(4.0).reshape(4, 1)
    np.testing.assert_allclose(f(a, 10), expected(a, 10))  # the pool is up and warm
    return f


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow  # kills a worker process and waits for its replacement
def test_a_killed_worker_is_replaced_and_the_call_still_right(processes):
    a = np.arange(40.0).reshape(40, 1)
    work = 600_000  # some 30 ms of Python per row here: the kill lands mid-call
    victim = PROCESSES.pids()[0]
    killer = threading.Timer(0.2, os.kill, (victim, signal.SIGKILL))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        killer.start()
        result = processes(a, work)
    killer.join()
    np.testing.assert_allclose(result, expected(a, work))
    died = [w for w in caught if "died" in str(w.message)]
    assert len(died) == 1 and issubclass(died[0].category, optlevel.PerformanceWarning)
    assert "restarted" in str(died[0].message)
    assert victim not in PROCESSES.pids() and not _alive(victim)
    assert processes.stats().levels == {3: 2}
    assert shm.live_segments() == []


class CtrlC:
    """Ctrl-C pressed after ``first`` seconds: the first SIGINT that reaches Python's
    handler raises KeyboardInterrupt, later ones are ignored. Where none reached it
    (on a loaded machine both Ctrl-C tests once failed together, in one CI run of
    about ten), it is pressed again every ``every`` seconds, at most ``times``; a
    KeyboardInterrupt that reached the handler and was swallowed still fails."""

    def __init__(self, first=0.3, every=0.5, times=6):
        self.done = threading.Event()
        self.sent = self.handled = 0
        self.thread = threading.Thread(target=self._press, args=(first, every, times))

    def _handler(self, signum, frame):
        self.handled += 1
        if self.handled == 1 and not self.done.is_set():
            raise KeyboardInterrupt

    def _press(self, first, every, times):
        wait = first
        while not self.handled and self.sent < times and not self.done.wait(wait):
            self.sent += 1
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            wait = every

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handler)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        signal.signal(signal.SIGINT, self.previous)
        return False


def test_ctrl_c_stops_the_workers_cleanly(processes):
    workers = PROCESSES.pids()
    started = time.perf_counter()
    with CtrlC() as ctrl_c, pytest.raises(KeyboardInterrupt):
        processes(np.arange(40.0).reshape(40, 1), 5_000_000)  # seconds, if not stopped
    assert ctrl_c.handled >= 1
    assert time.perf_counter() - started < 10
    assert shm.live_segments() == []
    assert not any(_alive(pid) for pid in workers)
    a = np.arange(6.0).reshape(6, 1)
    np.testing.assert_allclose(processes(a, 10), expected(a, 10))  # a new pool serves


def test_ctrl_c_in_the_thread_pool(monkeypatch):
    from optlevel.levels.parallel import costs

    monkeypatch.setattr(costs, "BLOCK_BYTES", 64)
    optlevel.configure(executor="threads", workers=2)

    def heavy(x):
        return np.sin(np.cos(np.sin(x)))

    f = optimize(heavy, level=3, strict=True, verify=False)
    x = np.ones(2_000_000)  # 250 000 blocks: far longer than the 0.3 s before Ctrl-C
    with CtrlC() as ctrl_c, pytest.raises(KeyboardInterrupt):
        f(x)
    assert ctrl_c.handled >= 1
    small = np.ones(100)
    np.testing.assert_array_equal(f(small), heavy(small))  # the pool still serves


# level 1 advises on doubled()'s loop (and runs it); the level-3 fallback is the subject
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_an_unpicklable_function_falls_back_with_the_reason():
    optlevel.configure(executor="processes", workers=2)
    guard = threading.Lock()

    def doubled(a):
        scale = 2.0 if guard else 0.0  # the closure holds a lock: not picklable at all
        n = a.shape[0]
        out = np.zeros(n)
        for i in range(n):
            out[i] = a[i, 0] * scale
        return out

    a = np.arange(20_000.0).reshape(-1, 1)  # enough work that processes would be tried
    strict = optimize(doubled, level=3, strict=True, verify=False)
    with pytest.raises(optlevel.LevelUnavailable, match="cannot be sent to worker processes"):
        strict(a)
    f = optimize(doubled, level=3, verify=False)
    with pytest.warns(optlevel.FallbackWarning) as caught:  # level 3's, and level 2's
        result = f(a)
    messages = _fallbacks(caught)
    assert any("cannot be sent to worker processes" in m for m in messages), messages
    # the call that found it ran at level 1, or at level 0 timing a trial of level 3
    # against the levels below (whose costs are unknown)
    assert all(re.search(r"level 3 \(parallel\) was requested; it ran at level [01]", m)
               for m in messages), messages
    np.testing.assert_array_equal(result, a[:, 0] * 2)
    assert 3 not in f.stats().levels


def test_an_unpicklable_argument_falls_back_with_the_reason():
    optlevel.configure(executor="processes", workers=2)
    f = optimize(scale_by, level=3, verify=False, split={"x": 0})
    x = np.arange(20_000.0)
    with pytest.warns(optlevel.FallbackWarning) as caught:  # level 3's, and level 2's
        result = f(x, Context())
    messages = _fallbacks(caught)
    assert any("argument 'ctx' cannot be sent" in m for m in messages), messages
    assert all("level 3 (parallel) was requested; it ran at level 0 (python)" in m
               for m in messages), messages
    np.testing.assert_array_equal(result, x * 2.0)
    assert 3 not in f.stats().levels


def test_no_segment_outlives_a_failing_call():
    optlevel.configure(executor="processes", workers=2)

    def fails(a, b):
        n = a.shape[0]
        out = np.zeros(n)
        for i in range(n):
            out[i] = a[i, 0] / b[0]
        return out

    f = optimize(fails, level=3, strict=True, verify=False)
    a = np.ones((50_000, 2))  # large enough to travel through shared memory
    with pytest.raises(TypeError):
        f(a, np.array([object()]))  # object arrays are pickled; the division raises
    assert shm.live_segments() == []


# --- a process forked after level 3 ran ------------------------------------------------

def _in_a_forked_child(body) -> int:
    """``body()`` in a forked child: 0 when it returned True, 2 when False, 3 when it
    raised, 9 when it was still running after 60 s (killed: it hung)."""
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code
        code = 3
        try:
            code = 0 if body() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return 9
        time.sleep(0.02)


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
forks_with_threads = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning")


@needs_fork
@forks_with_threads
def test_a_forked_child_runs_level_3_threads_on_its_own_threads(monkeypatch):
    """multiprocessing's default on Linux forks: a child inherits the thread pool's
    executor but none of its threads, so a piece submitted there would wait for ever.
    The child starts its own threads and gets the plain function's result."""
    from optlevel.levels.parallel import costs
    from optlevel.levels.parallel.pools import THREADS

    monkeypatch.setattr(costs, "BLOCK_BYTES", 64)
    optlevel.configure(executor="threads", workers=2)

    def heavy(x):
        return np.sin(np.cos(x)) * 2

    f = optimize(heavy, level=3, strict=True, verify=False)
    x = np.linspace(0, 3, 4096)
    np.testing.assert_array_equal(f(x), heavy(x))
    parents = THREADS._executor
    assert parents is not None  # the parent's threads served the call

    def child():
        same = np.array_equal(f(x), heavy(x))
        return same and THREADS._executor is not None and THREADS._executor is not parents

    assert _in_a_forked_child(child) == 0
    np.testing.assert_array_equal(f(x), heavy(x))  # the parent's pool still serves
    assert THREADS._executor is parents


@pytest.mark.parametrize("kind", ["ThreadPool", "ProcessPool"])
@needs_fork
@forks_with_threads
def test_a_pool_lock_held_at_the_fork_does_not_block_the_child(kind):
    """Another thread of the parent inside ``get`` when the process forks: the child's
    copy of the lock stays taken, and nobody is left in the child to release it."""
    from optlevel.levels.parallel import pools

    pool = getattr(pools, kind)()
    try:
        assert pool.get(2).submit(pow, 2, 3).result(timeout=60) == 8
        with pool._lock:
            code = _in_a_forked_child(
                lambda: pool.get(2).submit(pow, 3, 2).result(timeout=50) == 9)
        assert code == 0
        assert pool.get(2).submit(pow, 2, 5).result(timeout=60) == 32
    finally:
        pool.close()
