"""``f.map(iterable, ...)``: many independent calls in parallel, results in order."""

import sys

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.bench import workloads as W
from optlevel.levels.parallel import mapping
from optlevel.levels.parallel.pools import PROCESSES


def word_lengths(words):
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + len(w)
    return sorted(counts.items())


def scaled(x, k):
    return x * k + 1


def noisy(x):
    print("working on", x)
    return x + 1


def nested(x):
    return inner(x)


inner = optimize(W.elementwise, level=3, strict=True, verify=False)


def test_vectorized_calls_go_to_threads_in_order():
    optlevel.configure(workers=2)
    f = optimize(scaled)
    xs = [np.full(4, float(k)) for k in range(11)]
    ks = list(range(11))
    assert mapping._gil_free(f, (xs[0], ks[0]), optlevel.settings())
    results = f.map(xs, ks, chunksize=3)
    assert len(results) == 11
    for x, k, result in zip(xs, ks, results):
        np.testing.assert_array_equal(result, scaled(x, k))


def test_python_code_goes_to_processes_in_order():
    optlevel.configure(workers=2)
    f = optimize(word_lengths)
    batches = [["a", "bb", "a"], [], ["ccc"] * 3] * 5
    assert not mapping._gil_free(f, (batches[0],), optlevel.settings())
    starts = PROCESSES.starts
    assert f.map(batches) == [word_lengths(b) for b in batches]
    assert PROCESSES.starts >= starts and PROCESSES.running


# level 1 advises on conditional_accumulate's loop; map's executor is the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
@pytest.mark.numba
def test_loops_numba_compiles_use_threads():
    optlevel.configure(workers=2)
    f = optimize(W.conditional_accumulate)
    xs = [np.random.default_rng(k).random(300) for k in range(6)]
    assert mapping._gil_free(f, (xs[0], 0.5), optlevel.settings())
    results = f.map(xs, [0.5] * 6)
    np.testing.assert_allclose(results, [W.conditional_accumulate(x, 0.5) for x in xs])


def test_calls_inside_a_worker_do_not_wait_for_the_pool():
    optlevel.configure(executor="threads", workers=2)
    xs = [np.random.default_rng(k).random(64) for k in range(8)]
    results = optimize(nested).map(xs, chunksize=1)  # each call is itself level 3
    for x, result in zip(xs, results):
        np.testing.assert_array_equal(result, W.elementwise(x))


def test_empty_single_and_bad_arguments():
    f = optimize(scaled)
    assert f.map([], []) == []
    np.testing.assert_array_equal(f.map([np.ones(2)], [2])[0], scaled(np.ones(2), 2))
    with pytest.raises(optlevel.ConfigError, match="chunksize"):
        f.map([1, 2], [1, 2], chunksize=0)
    with pytest.raises(TypeError, match="at least one iterable"):
        f.map()


def test_random_or_io_calls_run_in_order_with_a_warning(capsys):
    optlevel.configure(workers=2)
    f = optimize(noisy)
    with pytest.warns(optlevel.FallbackWarning, match="one after another"):
        assert f.map([1, 2, 3]) == [2, 3, 4]
    assert capsys.readouterr().out.splitlines() == [f"working on {k}" for k in (1, 2, 3)]


def test_an_unpicklable_function_maps_in_this_process():
    import threading

    optlevel.configure(executor="processes", workers=2)
    lock = threading.Lock()

    def held(words):
        out = 0 if lock else 1  # the closure holds a lock: it cannot be pickled
        for w in words:
            out += len(w)
        return out

    with pytest.warns(optlevel.FallbackWarning, match="cannot be sent"):
        assert optimize(held).map([["a"], ["bb", "c"]] * 3) == [1, 3] * 3


def test_progress_bar_is_optional(monkeypatch):
    pytest.importorskip("rich")
    optlevel.configure(workers=2)
    f = optimize(scaled)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # rich draws it instead
    assert f.map([1, 2, 3], [2, 2, 2], progress=True) == [3, 5, 7]
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    with pytest.raises(optlevel.ConfigError, match="tqdm or rich"):
        f.map([1, 2], [1, 1], progress=True)


def _chunk_or_fail(chunk):
    if chunk == "bad":
        raise ZeroDivisionError("the user's error")
    return [chunk * 2]


class _Bar:
    def __init__(self):
        self.updates = []

    def update(self, n):
        self.updates.append(n)


def test_process_chunks_flow_a_window_at_a_time_and_stop_after_an_error():
    """The process pool's submit waits while its pipe is full: chunks go a window at a
    time (the progress bar moves as they end), and after an error no more are sent."""
    from optlevel.levels.parallel.pipes import PipePool
    from optlevel.levels.parallel.start import context

    pool = PipePool(2, context())
    sent = []

    def submit(chunk):
        sent.append(chunk)
        return pool.submit(_chunk_or_fail, chunk)

    try:
        bar = _Bar()
        chunks = [f"c{k}" for k in range(7)]
        assert mapping._flowing(submit, chunks, [1, 2, 3, 4, 5, 6, 7], bar, 3) == \
            [c * 2 for c in chunks]
        assert bar.updates == [1, 2, 3, 4, 5, 6, 7] and sent == chunks
        sent.clear()
        with pytest.raises(ZeroDivisionError, match="the user's error"):
            mapping._flowing(submit, ["bad"] + chunks, [1] * 8, None, 3)
        assert sent == ["bad", "c0", "c1"]  # the window, and nothing after the error
    finally:
        pool.shutdown(wait=True)
