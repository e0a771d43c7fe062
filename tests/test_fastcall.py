"""The compiled call fast path (``optlevel/_fastcall.c``) means what the Python one
(``Optimized._python_call``) means: the same keys, results, errors, counts and
re-planning when settings or the context level change."""

import contextlib
import threading

import numpy as np
import pytest

import optlevel
from optlevel import _fastpath, optimize
from optlevel.analysis import signature_key
from optlevel.core.plan import TIMED_CALLS

compiled = pytest.mark.skipif(not _fastpath.COMPILED,
                              reason="the compiled fast path was not built here (no C "
                              "compiler at install); the Python path serves")


class Sub(np.ndarray):
    pass


def _arguments():
    a = np.arange(12.0)
    return [
        (a,), (a.reshape(3, 4),), (a.reshape(3, 4).T,), (a[::2],), (a.astype(np.int8),),
        (np.empty(0),), (np.ones(15), np.ones(16)), (np.ones(4096, dtype=np.complex64),),
        (np.frombuffer(b"\0" * 16),),  # read-only
        (np.frombuffer(b"\0" * 33, dtype=np.uint8)[1:].view(np.float64),),  # unaligned
        (np.array(2.0),), (np.zeros((0, 3)),), (np.zeros(2, dtype=[("a", "f4")]),),
        (np.zeros((70_000, 2), dtype=bool, order="F"),),
        (1,), (1.5,), (True,), (None,), ("s",), (np.float32(2),), (2 ** 70,),
        ([1, 2],), ((1, 2.0),), ({"k": 1},), (a.view(Sub),), (object(),), (),
    ]


def first(*args):
    return args[0] if args else None


@pytest.mark.parametrize("args", _arguments(), ids=lambda a: "-".join(
    type(x).__name__ for x in a) or "none")
def test_both_paths_key_a_call_as_signature_key_does(args):
    for path in ("compiled", "python"):
        f = optimize(first, level=0)
        call = f if path == "compiled" else f._python_call
        assert call(*args) is first(*args)
        (key,) = f._dispatcher.plans
        assert key.sig == signature_key(args, {}), path


@compiled
def test_array_heads_are_read_only_where_they_agree_with_the_attributes():
    from optlevel import _fastcall
    assert _fastcall.reads_array_heads()  # this NumPy's layout agrees on every probe
    args = [a for a in _arguments() if len(a) == 1 and type(a[0]) is np.ndarray]
    try:
        # a probe that is not an ndarray proves nothing: the attributes serve
        _fastpath.configure(probes=(np.arange(3.0).view(Sub),))
        assert not _fastcall.reads_array_heads()
        for (a,) in args:
            f = optimize(first, level=0)
            assert f(a) is a
            assert next(iter(f._dispatcher.plans)).sig == signature_key((a,), {})
    finally:
        _fastpath.configure()
    assert _fastcall.reads_array_heads()


@compiled
def test_the_compiled_path_serves_where_it_was_built():
    assert _fastpath.CallBase.__module__ == "optlevel._fastcall"
    assert optlevel.Optimized.__call__ is _fastpath.CallBase.__call__


def test_pure_python_is_chosen_by_the_environment(run_python):
    out = run_python("""
        import json, warnings
        warnings.simplefilter("error")  # the switch is known: no "misspelled" warning
        import numpy as np, optlevel
        from optlevel import _fastpath
        f = optlevel.optimize(lambda x, y=1: x * y, level=0)
        print(json.dumps([_fastpath.COMPILED, f(np.arange(3.0)).tolist(), f(2, y=3),
                          optlevel.Optimized.__call__ is optlevel.Optimized._python_call]))
    """, OPTLEVEL_PURE_PYTHON="1")
    assert out == [False, [0.0, 1.0, 2.0], 6, True]


class Boom(ValueError):
    pass


def raises(x):
    if x < 0:
        raise Boom(f"negative: {x}")
    return x


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_the_users_error_passes_through_unchanged(path):
    f = optimize(raises, level=0)
    call = f if path == "compiled" else f._python_call
    for _ in range(20):  # past the timed calls too
        assert call(3) == 3
    with pytest.raises(Boom, match="negative: -1") as info:
        call(-1)
    assert any(entry.name == "raises" for entry in info.traceback)
    (plan,) = f._dispatcher.plans.values()
    assert plan.calls == 20  # the call that raised is not counted


def kw(x, scale=2.0):
    return x * scale


def test_keyword_arguments_and_optlevel_go_through_python():
    f = optimize(kw, level=0)
    assert f(3.0, scale=4.0) == 12.0
    assert f(3.0, optlevel=0) == 6.0
    assert f(np.ones(2), scale=0.5).tolist() == [0.5, 0.5]


def test_a_context_level_or_a_settings_change_plans_again():
    f = optimize(first)
    f(1)
    with optlevel.level(0):
        f(1)
    keys = {(k.ceiling, k.mode) for k in f._dispatcher.plans}
    assert len(keys) == 2 and any(c == 0 for c, _ in keys)
    generation = optlevel.config.STATE.generation
    try:
        optlevel.configure(level=0)
        f(1)
        assert f._head[0] != generation and f._head[2] == 0
        assert {(k.ceiling, k.mode) for k in f._dispatcher.plans} == {(0, f._head[3])}
    finally:
        optlevel.configure(level=None)


@contextlib.contextmanager
def one_second_calls():
    """A fake clock on both paths that advances one second per read (each timed call
    measures 1 s); yields the count of reads, in a list."""
    reads = [0.0]

    def clock():
        reads[0] += 1.0
        return reads[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optlevel.api, "perf_counter", clock)
        _fastpath.configure(clock)
        try:
            yield reads
        finally:
            _fastpath.configure()


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_the_first_calls_are_timed_then_one_in_eight(path):
    f = optimize(lambda x: x + 1, level=0)
    call = f if path == "compiled" else f._python_call
    call(1)
    with one_second_calls() as reads:
        for i in range(99):
            assert call(i) == i + 1
    (plan,) = f._dispatcher.plans.values()
    assert plan.calls == 100
    sampled = [n for n in range(1, 100) if n < TIMED_CALLS or n % TIMED_CALLS == 0]
    assert reads[0] == 2 * len(sampled)
    assert plan.time - plan.time // 1 < 1 and plan.time // 1 == \
        sum(TIMED_CALLS if n >= TIMED_CALLS else 1 for n in sampled)


@pytest.mark.parametrize("path", ["compiled", "python", "optlevel="])
def test_the_measured_time_per_call_is_the_mean_between_samples(path):
    # Every call measures 1 s on a fake clock. Read right after a call timed for the
    # eight around it, time / calls once gave 16 / 9 s (a stencil's 100 ms calls read
    # as 164 ms in explain); the mean divides by the calls the time stands for.
    f = optimize(lambda x: x + 1, level=0)
    call = {"compiled": f, "python": f._python_call,
            "optlevel=": lambda x: f(x, optlevel=0)}[path]
    call(1)
    (plan,) = f._dispatcher.plans.values()
    with one_second_calls():
        plan.calls, plan.time = 0, 0.0
        for n in range(1, 30):
            assert call(n) == n + 1
            assert plan.measured == 1.0, (n, plan.time, plan.calls)
            (row,) = [s for s in f.stats().signatures if s.level == 0]
            assert row.mean == 1.0 and row.time == row.calls == n


@compiled
def test_threads_count_every_call():
    # The compiled path counts with the GIL held from read to write: no call is lost
    # (the Python path's ``plan.calls += 1`` may lose one between two threads).
    f = optimize(lambda x: x, level=0)
    f(0)

    def work():
        for i in range(2000):
            assert f(i) == i
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (plan,) = f._dispatcher.plans.values()
    assert plan.calls == 8001


def methodic():
    class K:
        @optimize(level=0)
        def m(self, x):
            return (self, x)

        @optimize(level=0)
        @staticmethod
        def s(x):
            return x * 2
    return K


def test_methods_bind_through_the_compiled_call():
    K = methodic()
    k = K()
    assert k.m(3) == (k, 3)
    assert K.s(4) == 8 and k.s(5) == 10


def float_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")  # the loop is the point
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_a_compiled_result_gets_the_plain_functions_type_on_both_paths(path):
    pytest.importorskip("numba")
    from optlevel.core.plan import Retyped
    x = np.arange(5.0)
    f = optimize(float_sum, level=2)
    call = f if path == "compiled" else f._python_call
    results = [call(x) for _ in range(12)]
    assert all(type(r) is np.float64 and r == float_sum(x) for r in results)
    (plan,) = f._dispatcher.plans.values()
    assert plan.level == 2 and isinstance(plan.fn, Retyped)  # Numba returns a float


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_retyped_reads_its_targets_at_call_time(path):
    from optlevel.core.plan import Retyped
    f = optimize(lambda v: v, level=0)
    call = f if path == "compiled" else f._python_call
    call(1.0)
    (plan,) = f._dispatcher.plans.values()
    targets: dict = {}
    plan.fn = Retyped(plan.fn, targets)
    assert type(call(1.0)) is float
    targets[float] = np.float32  # a repair that joins later
    result = call(2.0)
    assert type(result) is np.float32 and result == 2.0
    with pytest.raises(Boom):  # an error of the wrapped function is the user's
        plan.fn = Retyped(raises, targets)
        call(-1.0)


def loop_free(x):
    return x * 2.0 + 1.0


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_a_scout_wraps_no_call_and_its_check_runs_after_each_timed_call(path):
    from optlevel.core.plan import State
    x = np.arange(4.0)
    f = optimize(loop_free)  # auto: a loop-free function is scouted first
    call = f if path == "compiled" else f._python_call
    np.testing.assert_array_equal(call(x), loop_free(x))
    (plan,) = f._dispatcher.plans.values()
    assert plan.state is State.SCOUTING and plan.fn is loop_free
    seen, check = [], plan.watch
    plan.watch = lambda: (seen.append(plan.calls), check())
    for _ in range(30):
        np.testing.assert_array_equal(call(x), loop_free(x))
    # calls 2-8 are timed, then every eighth (9, 17, 25): the check follows each
    assert seen == [2, 3, 4, 5, 6, 7, 8, 9, 17, 25]
    assert plan.state is State.SCOUTING  # 31 calls of 4 elements do not pay planning


# --- the inline cache: a repeated positional call builds no key ---------------------

def _hits():
    from optlevel import _fastcall
    return _fastcall.inline_cache_hits()


def _kinds(x):
    return type(x).__name__ if not isinstance(x, np.ndarray) else (x.dtype.name, x.ndim)


@compiled
def test_plans_and_settings_are_read_at_their_slots():
    from optlevel import _fastcall
    from optlevel.config import STATE
    assert _fastcall.reads_slots()  # Plan and SettingsState keep __slots__
    f = optimize(lambda x: x * 2, level=0)
    assert f(3) == 6 and f(4) == 8
    (plan,) = f._dispatcher.plans.values()
    assert plan.calls == 2 and plan.time > 0
    plan.fn = lambda x: x * 3  # what the fast path reads is the slot's value now
    assert f(5) == 15 and plan.calls == 3
    before = STATE.generation
    try:
        optlevel.configure(level=1)
        assert f(5) == 10  # a new generation read: planned again, plain
        assert STATE.generation == before + 1
    finally:
        optlevel.configure(level=None)


@compiled
def test_a_repeated_call_is_served_by_the_inline_cache_under_its_own_key():
    f = optimize(_kinds, level=0)
    a, b = np.arange(8.0), np.arange(8)
    calls = [a, a, b, b, a.reshape(2, 4), a.reshape(2, 4), np.arange(4096.0), 1.5, 1.5,
             np.arange(8.0)[::2], a]
    before = _hits()
    for x in calls:
        assert f(x) == _kinds(x)
    # every call whose key items repeat the previous call's was served from the cache
    # (a, b, the 2-d view, 1.5; the last a follows a strided view: a new rank-1 key)
    assert _hits() - before == 4
    counts = {key.sig: plan.calls for key, plan in f._dispatcher.plans.items()}
    assert counts == {signature_key((x,), {}): n for x, n in
                      [(a, 3), (b, 2), (a.reshape(2, 4), 2), (np.arange(4096.0), 1),
                       (1.5, 2), (np.arange(8.0)[::2], 1)]}


@compiled
def test_the_inline_cache_never_runs_a_plan_the_table_dropped_or_replaced():
    f = optimize(lambda x: x + 1, level=0)
    x = np.arange(3.0)
    f(x)
    f(x)
    table = f._dispatcher.table
    (key, plan), = table.plans.items()
    table.drop(key, plan)  # the next call plans again, whatever the cache holds
    before = _hits()
    assert f(x).tolist() == [1.0, 2.0, 3.0]
    assert _hits() == before
    (key, second), = table.plans.items()
    assert second is not plan and second.calls == 1 and plan.calls == 2
    # a plan swapped in under the same key runs from the next call on
    third = type(second).__new__(type(second))
    for name in type(second).__slots__:
        setattr(third, name, getattr(second, name))
    third.fn, third.calls = (lambda y: y * 10), 0
    assert table.replace(key, second, third)
    assert f(x).tolist() == [0.0, 10.0, 20.0]
    assert f(x).tolist() == [0.0, 10.0, 20.0]
    assert third.calls == 2 and second.calls == 1


@compiled
def test_the_inline_cache_sees_settings_context_levels_and_a_new_configure():
    f = optimize(first)
    f(1)
    f(1)
    with optlevel.level(0):
        before = _hits()
        f(1)  # the context level changed: the key is built again (ceiling 0)
        assert _hits() == before
        f(1)
        assert _hits() == before + 1
    f(1)
    assert {k.ceiling for k in f._dispatcher.plans} == {0, f._head[2]}
    try:
        optlevel.configure(level=0)
        before = _hits()
        f(1)
        assert _hits() == before and f._head[2] == 0
    finally:
        optlevel.configure(level=None)
    f(1)
    _fastpath.configure()  # new objects to compare with: every cache is stale
    before = _hits()
    f(1)
    assert _hits() == before


@compiled
def test_what_the_inline_cache_holds_is_freed_with_the_function():
    import gc
    import weakref

    class Box:
        g = None

    box = Box()

    def recursive(x, n, box=box):
        return x if n == 0 else box.g(x, n - 1)  # the plan reaches g: a cycle
    g = box.g = optimize(recursive, level=0)
    x = np.arange(4.0)
    assert g(x, 3) is x and g(x, 2) is x
    refs = [weakref.ref(g), weakref.ref(g._dispatcher)]
    del g, box, recursive
    gc.collect()
    assert [r() for r in refs] == [None, None]


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_a_shallow_copy_shares_the_plans(path):
    import copy
    f = optimize(lambda x: x + 1, level=0)
    call = f if path == "compiled" else f._python_call
    assert call(1) == 2
    g = copy.copy(f)
    assert (g(2) if path == "compiled" else g._python_call(2)) == 3
    (plan,) = f._dispatcher.plans.values()
    assert g._plans is f._plans and plan.calls == 2
