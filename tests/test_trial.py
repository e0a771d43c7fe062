"""The measured trial: where the planner cannot tell whether level 2 pays, the first
calls measure it against level 0 and the faster one keeps the call shape."""

import time

import numpy as np
import pytest

import optlevel
from optlevel.analysis import analyze
from optlevel.core.registry import BACKENDS


def normalize_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = (x[i] - x.mean()) / x.std()
    return out


def clipped_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += min(x[i], 0.5)
    return s


def fast_normalize(func):
    def run(x, out):
        np.divide(np.subtract(x, x.mean(), out=out), x.std(), out=out)
        return out
    return run


def slow_version(func):
    def run(*args):
        time.sleep(0.05)
        return func(*args)
    return run


def calls(n=2000):
    x = np.random.default_rng(1).random(n)
    return x, np.empty_like(x)


@pytest.fixture
def entrant(fake_backend, monkeypatch):
    """A fake level-2 backend built by ``make`` for ``func``, with level 1 out of the way
    (it would hoist ``x.mean()`` and win) and level 3 too (where a plain call is slow
    enough, the processes' split of ``normalize_loop`` joins the trial: its calls come
    between level 2's, whatever the machine's speed made of the plan); ``quick``: the
    trial's threshold for short calls (0: one timed call a side; None: as it is).
    Returns the optimized function and a call's arguments of ``n`` elements."""
    def make_entrant(make, func=normalize_loop, n=2000, quick=0.0, **options):
        for name in ("vectorize", "prange", "threads", "processes"):
            monkeypatch.delitem(BACKENDS, name)
        fake_backend(name="numba", make=make)
        if quick is not None:
            monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", quick)
        return (optlevel.optimize(func, **options), *calls(n))
    return make_entrant


def kept_at_level_2(f):
    """The trial kept level 2, and its signature's note says why."""
    (sig,) = [s for s in f.stats().signatures if s.level == 2]
    return "faster than level 0" in sig.note


def test_loops_calling_numpy_on_whole_arrays_are_told_apart():
    (loop,) = analyze(normalize_loop).loops
    assert loop.hot and loop.array_work
    assert not analyze(normalize_loop).scalar_hot_loops
    assert analyze(clipped_sum).scalar_hot_loops


# explain ranks level 1 too, which advises on normalize_loop's loop
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_explain_says_level_2_will_be_measured(fake_backend):
    fake_backend(name="numba", make=slow_version)
    f = optlevel.optimize(normalize_loop, level=2)
    (row,) = [r for r in optlevel.explain(f, *calls()).rows if r.level == 2]
    assert row.kind == "trial" and "measure" in row.reason
    assert row.code == "PL009", row


def test_slower_level_2_is_dropped_after_one_measured_call(entrant, ran_at):
    f, x, out = entrant(slow_version, level=2)
    # its first call lost, so it is timed once more (a first call can carry one-time
    # work) before level 0 takes the key back
    assert [ran_at(f, x, out) for _ in range(5)] == [0, 2, 2, 0, 0]
    np.testing.assert_allclose(out, normalize_loop(x, np.empty_like(x)))
    reasons = [why for _, _, why in f.stats().fallbacks]
    assert any("measured slower than level 0" in why for why in reasons), reasons


def slow_first_call(func):
    fast = fast_normalize(func)
    first = [True]

    def run(*args):
        if first[0]:  # one-time work, as level 3's first split call checks a piece
            first[0] = False
            time.sleep(0.1)
        return fast(*args)
    return run


def test_a_first_long_call_that_lost_is_timed_again(entrant, ran_at):
    f, x, out = entrant(slow_first_call, verify=False)  # no check runs it before
    assert [ran_at(f, x, out) for _ in range(5)] == [0, 2, 2, 2, 2]
    np.testing.assert_allclose(out, normalize_loop(x, np.empty_like(x)))
    assert not [why for _, _, why in f.stats().fallbacks if "measured slower" in why]
    assert kept_at_level_2(f)


def paced_loop(x, out):
    time.sleep(0.04)  # plain Python: about 41 ms a call, whatever the machine
    for i in range(x.shape[0]):  # NumPy on the whole array inside: only a trial tells
        out[i] = x[i] * 2.0 + x.min() * 0.0
    return out


def pausing(pauses, then=0.0):
    """An entrant that doubles ``x`` into ``out`` after sleeping ``pauses[0]`` on its
    first call, ``pauses[1]`` on its second, ..., then ``then`` on every later one."""
    def make(func):
        left = list(pauses)

        def run(x, out):
            time.sleep(left.pop(0) if left else then)
            np.multiply(x, 2.0, out=out)
            return out
        return run
    return make


#: calls of 100 ms (one-time work), 45 ms (within noise of plain's 40), then fast:
#: level 3's stencil on 2 cores ran its first split calls at 1.10-1.26x of plain
#: Python, its settled ones at 1.5x
close_then_fast = pausing([0.1, 0.045])


def test_a_long_call_within_the_noise_of_plain_is_no_verdict(entrant, ran_at):
    f, x, out = entrant(close_then_fast, paced_loop, 200, verify=False)
    # the first call lost (timed again); the second came within CLOSE of plain Python's:
    # timed on (up to three long calls), and the median decides (one call alone gave the
    # key back to plain Python)
    assert [ran_at(f, x, out) for _ in range(7)] == [0, 2, 2, 2, 2, 2, 2]
    np.testing.assert_array_equal(out, x * 2.0)
    assert not [why for _, _, why in f.stats().fallbacks if "measured slower" in why]
    assert kept_at_level_2(f)


def test_a_long_call_well_outside_the_noise_is_a_verdict(entrant):
    f, x, out = entrant(pausing([]), paced_loop, 200, verify=False)
    f(x, out)
    f(x, out)  # the entrant's one call, far faster than 40 ms: kept at once
    assert kept_at_level_2(f)


def quick_paced(x, out):
    time.sleep(0.004)  # plain Python: about 4 ms a call, under TRIAL_QUICK_S
    for i in range(x.shape[0]):  # NumPy on the whole array inside: only a trial tells
        out[i] = x[i] * 2.0 + x.min() * 0.0
    return out


#: three calls of 3.6 ms (within noise of plain's 4 ms, and faster), then 6 ms ones:
#: the GPU's 10M-element sum on the H100 machine ran 2.1-4.3 ms a call against NumPy's
#: 2.2-2.7, and three lucky calls won it the trial
lucky_then_slow = pausing([0.0036] * 3, then=0.006)


def test_short_calls_within_the_noise_of_plain_are_timed_longer(entrant, ran_at):
    f, x, out = entrant(lucky_then_slow, quick_paced, 20, quick=None, verify=False)
    # three plain calls, then the entrant: its first three come within CLOSE of plain
    # Python's fastest, so it is timed on (up to nine calls) until its median leaves
    # the band: at the seventh, 6 ms, and it loses
    assert [ran_at(f, x, out) for _ in range(14)] == [0] * 3 + [2] * 7 + [0] * 4
    np.testing.assert_array_equal(out, x * 2.0)
    reasons = [why for _, _, why in f.stats().fallbacks]
    assert any("measured slower than level 0" in why for why in reasons), reasons


def test_faster_level_2_is_kept(entrant, ran_at):
    f, x, out = entrant(fast_normalize)
    assert [ran_at(f, x, out) for _ in range(4)] == [0, 2, 2, 2]


def test_short_calls_are_timed_three_times_a_side(entrant, ran_at):
    f, x, out = entrant(fast_normalize, quick=float("inf"))
    assert [ran_at(f, x, out) for _ in range(8)] == [0, 0, 0, 2, 2, 2, 2, 2]
    np.testing.assert_allclose(out, normalize_loop(x, np.empty_like(x)))
    np.testing.assert_allclose(out, normalize_loop(x, np.empty_like(x)))
    notes = [s.note for s in f.stats().signatures if s.level == 2]
    assert notes and "faster than level 0" in notes[0]


def test_strict_skips_the_trial(fake_backend, ran_at):
    fake_backend(name="numba", make=slow_version)
    f = optlevel.optimize(normalize_loop, level=2, strict=True)
    assert ran_at(f, *calls()) == 2


# level 1 advises on clipped_sum's loop; the trial is the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_element_wise_loops_are_compiled_without_a_trial(fake_backend, ran_at):
    fake_backend(name="numba", make=slow_version)
    f = optlevel.optimize(clipped_sum, level=2)
    x = np.random.default_rng(2).random(100)
    assert ran_at(f, x) == 2
    assert f(x) == clipped_sum(x)
