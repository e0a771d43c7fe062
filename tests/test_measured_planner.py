"""The planner by measurement: compiles never in a thread beside the caller, trials
against the runner-up, a ceiling that never keeps a slower level, corrected
estimates, and the plan store on disk (persistence and invalidation)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.config import settings
from optlevel.contract import Code
from optlevel.core import store as store_mod
from optlevel.core.calibrate import profile_for
from optlevel.core.corrections import KEY, correction, learn
from optlevel.core.plan import State
from optlevel.core.registry import BACKENDS

pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")


def total(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def slowed(seconds):
    def make(func):
        def run(*args, **kwargs):
            time.sleep(seconds)
            return func(*args, **kwargs)
        return run
    return make


def vectorized(func):
    """The fake level 2's code: the same sum, far faster than the loop."""
    def run(x):
        return float(np.sum(x))
    return run


def in_thread_spy(backend):
    """Record the thread each prepare of ``backend`` runs in."""
    real, seen = backend.prepare, []

    def prepare(*args, **kwargs):
        seen.append(threading.current_thread())
        return real(*args, **kwargs)
    backend.prepare = prepare
    return seen


# --- item 1: compiles never in a thread beside the caller -----------------------------

def test_warm_up_runs_plain_only_then_the_caller_compiles(fake_backend, monkeypatch):
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 0.02)
    fake = fake_backend(name="numba")
    fake.compiles = True
    seen = in_thread_spy(fake)
    f = optimize(total)
    x = np.arange(200.0)
    threads = threading.active_count()
    calls = 0
    while not seen:
        assert f(x) == total(x)
        calls += 1
        assert calls < 10_000
        assert threading.active_count() == threads  # no compile thread, ever
    assert seen == [threading.current_thread()]  # the calling thread compiled
    assert calls >= 2 and f.stats().levels[0] == calls - 1  # warm-up calls: plain only
    plans = f._dispatcher.all_plans()
    assert any("until a compile paid" in p.note for p in plans if p.level == 0)


def test_a_warm_up_call_runs_the_plain_function_itself(fake_backend, monkeypatch):
    """No wrapper frame: the check runs as the plan's watch after timed calls."""
    fake = fake_backend(name="numba")
    fake.compiles = True
    f = optimize(total)
    x = np.arange(200.0)
    for _ in range(3):
        assert f(x) == total(x)
    (plan,) = f._dispatcher.plans.values()
    assert plan.state is State.WARMUP and plan.level == 0
    assert plan.fn is plan.prepared.fn and plan.watch is not None
    assert not f.stats().settled
    # the check reads the fast path's clock: a long enough time spent compiles next
    plan.time = 10.0
    plan.watch()
    assert f._dispatcher.paid and fake.prepared == 0
    assert not f.stats().settled  # the key is planned again on its next call
    assert f(x) == total(x)
    assert fake.prepared == 1
    assert f.stats().settled
    plans = f._dispatcher.all_plans()
    assert any("until a compile paid" in p.note for p in plans if p.level == 0)


def test_a_call_measured_long_compiles_on_the_next_call(fake_backend, monkeypatch):
    """The static estimate says small (warm-up); the first measured call says a
    compile pays within a few calls: the second call compiles."""
    monkeypatch.setattr("optlevel.core.warmup.COMPILE_ESTIMATE_S", 0.05)
    fake = fake_backend(name="numba")
    fake.compiles = True
    f = optimize(eval("lambda x: __import__('time').sleep(0.01) or x.sum()"))  # no source:
    # estimated tiny, measured 10 ms
    x = np.arange(5.0)
    f(x)
    assert fake.prepared == 0
    assert f._dispatcher.paid  # the measurement decided
    f(x)
    assert fake.prepared == 1


def test_eight_threads_on_a_cold_auto_function_with_a_trial(fake_backend, monkeypatch):
    """Issue 12 item 4: the trial's first call under 8 threads (it raised IndexError)."""
    monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", float("inf"))
    fake_backend(name="numba", make=slowed(0.002))
    BACKENDS["numba"].compiles = False
    f = optimize(total)  # level 2 is a trial here: no source, so measured
    x = np.arange(300.0)
    expected = total(x)
    results, errors = [], []
    barrier = threading.Barrier(8, timeout=30)

    def worker():
        try:
            barrier.wait()
            for _ in range(40):
                results.append(f(x))
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    f_nosource = optimize(eval("lambda x: x.sum()"))  # sourceless: numba is a trial
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 320 and all(r == expected for r in results)
    assert f.stats().calls == 320
    assert f_nosource(x) == x.sum()


# --- item 3: trials against the runner-up; the ceiling never keeps a slower level -----

def test_a_trial_races_the_runner_up_and_keeps_the_faster(fake_backend, monkeypatch):
    """Level 3 predicted cheap (a known cost) against level 2 (unknown): measured, and
    level 2, faster, keeps the key at ceiling 3."""
    monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", 0.0)
    monkeypatch.delitem(BACKENDS, "vectorize")
    fake_backend(name="par", level=3, cost=1e-4, make=slowed(0.02))
    fake_backend(name="jit", level=2, cost=None, make=vectorized)
    f = optimize(total, level=3, verify=False)
    x = np.arange(2000.0)
    for _ in range(6):
        assert f(x) == total(x)
    final = f._dispatcher.plans[next(iter(f._dispatcher.plans))]
    assert (final.level, final.backend, final.origin) == (2, "jit", "trial")
    row = optlevel.explain(f, x).row("par")
    assert "measured slower than level 2 (jit)" in row.reason
    assert row.code == Code.SLOWER.value


def test_an_explicit_ceiling_never_keeps_a_slower_higher_level(fake_backend, monkeypatch):
    monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", 0.0)
    monkeypatch.delitem(BACKENDS, "vectorize")
    fake_backend(name="gpu", level=4, cost=1e-6, make=slowed(0.01))
    fake_backend(name="jit", level=2, cost=None, make=vectorized)
    f = optimize(total, level=4, verify=False)
    x = np.arange(2000.0)
    for _ in range(5):
        f(x)
    (plan,) = f._dispatcher.plans.values()
    assert (plan.level, plan.backend) == (2, "jit")
    # gpu: its first call lost, so it was timed once more (a first call can carry
    # one-time work), and lost again
    assert f.stats().levels[2] >= 2 and f.stats().levels[4] == 2


# --- item 2: predictions corrected by measurements ----------------------------------

def test_a_wrong_estimate_is_corrected_and_stops_outranking(fake_backend, monkeypatch,
                                                            tmp_path):
    optlevel.configure(cache_dir=str(tmp_path))
    monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", 0.0)
    monkeypatch.delitem(BACKENDS, "vectorize")
    fake_backend(name="par", level=3, cost=1e-6, make=slowed(0.01))  # off by ~10^4
    fake_backend(name="jit", level=2, cost=None, make=vectorized)
    f = optimize(total, level=3, verify=False)
    x = np.arange(2000.0)
    for _ in range(5):
        f(x)
    profile = profile_for(settings())
    found = correction(profile, "par")
    assert found.pairs == 1 and found.factor > 1000 and not found.trusted
    stored = json.loads((tmp_path / "profile.json").read_text())["values"][KEY]
    assert stored["par"]["n"] == 1  # persisted with the machine profile
    report = optlevel.explain(f, np.arange(5000.0))  # another size: ranked again
    row = report.row("par")
    assert row.kind == "trial" and "off by" in row.reason
    assert row.cost == pytest.approx(1e-6 * found.factor)
    assert "predicted" in str(report) and "measured" in str(report)


def test_a_consistent_bias_is_learned_and_trusted_again():
    class Profile(dict):
        def set(self, key, value):
            self[key] = value
    profile = Profile()
    for _ in range(3):
        learn(profile, "b", 1e-3, 4e-3)  # always 4x slower than predicted
    found = correction(profile, "b")
    assert found.factor == pytest.approx(4.0) and found.trusted


# --- item 4: the plan store ---------------------------------------------------------

def _fid_store(tmp_path):
    optlevel.configure(cache_dir=str(tmp_path))
    return store_mod.store_for(settings())


def test_the_trial_winner_is_stored_and_a_new_dispatcher_runs_it_first(
        fake_backend, monkeypatch, tmp_path):
    _fid_store(tmp_path)
    monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", 0.0)
    monkeypatch.delitem(BACKENDS, "vectorize")
    par = fake_backend(name="par", level=3, cost=1e-6, make=slowed(0.01))
    jit = fake_backend(name="jit", level=2, cost=None, make=vectorized)
    x = np.arange(2000.0)
    f = optimize(total, level=3, verify=False)
    for _ in range(4):
        f(x)
    files = list((tmp_path / store_mod.SUBDIR).glob("*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    (record,) = saved["plans"].values()
    assert record["backend"] == "jit" and record["how"] == "trial"
    # a new process: the store's file read afresh, a new dispatcher
    monkeypatch.setattr("optlevel.core.store.SUBDIR", store_mod.SUBDIR)
    optlevel.reset("core.plan_stores")
    par.prepared = jit.prepared = 0
    g = optimize(total, level=3, verify=False)
    assert g(x) == total(x)
    (plan,) = g._dispatcher.plans.values()
    assert (plan.level, plan.origin, par.prepared, jit.prepared) == (2, "store", 0, 1)
    assert "plan store" in optlevel.explain(g, x).chosen_reason


def helper(v):
    return v * 2.0


def uses_helper(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += helper(x[i])
    return s


def test_function_ids_change_with_source_and_helper_edits():
    base = store_mod.function_id(uses_helper)
    assert base == store_mod.function_id(uses_helper)
    scope = dict(globals())
    exec("def uses_helper(x):\n    s = 1.0\n    for i in range(x.shape[0]):\n"
         "        s += helper(x[i])\n    return s\n", scope)
    edited = scope["uses_helper"]
    edited.__module__, edited.__qualname__ = uses_helper.__module__, "uses_helper"
    scope2 = dict(globals())
    exec(uses_helper.__code__.co_filename and "def helper(v):\n    return v * 3.0\n", scope2)
    helper_edited = type(uses_helper)(uses_helper.__code__, scope2, "uses_helper")
    ids = {base, store_mod.function_id(edited), store_mod.function_id(helper_edited)}
    assert len(ids) == 3


@pytest.mark.parametrize("change", ["versions", "machine"])
def test_a_library_or_machine_change_invalidates_the_store(tmp_path, monkeypatch, change):
    store = _fid_store(tmp_path)
    store.save("fid", "f", "k", {"backend": "jit"})
    assert store_mod.PlanStore(store.root).lookup("fid", "k") == {"backend": "jit"}
    env = json.loads(json.dumps(store_mod.environment()))
    if change == "versions":
        env["versions"]["numpy"] = "0.0.1"
    else:
        env["machine"]["cpus"] += 64
    monkeypatch.setattr(store_mod, "environment", lambda: env)
    assert store_mod.PlanStore(store.root).lookup("fid", "k") is None


def test_a_new_size_class_reuses_the_decision_without_another_trial(fake_backend,
                                                                   monkeypatch):
    monkeypatch.setattr("optlevel.core.trials.TRIAL_QUICK_S", 0.0)
    monkeypatch.delitem(BACKENDS, "vectorize")
    par = fake_backend(name="par", level=3, cost=1e-6, make=slowed(0.01))
    jit = fake_backend(name="jit", level=2, cost=None, make=vectorized)
    f = optimize(total, level=3, verify=False)
    for _ in range(4):
        f(np.arange(2000.0))
    par.prepared = 0
    big = np.arange(20_000.0)
    assert f(big) == total(big)
    plan = f._dispatcher.plans[next(k for k in f._dispatcher.plans if k[2] != next(
        iter(f._dispatcher.plans))[2])]
    assert (plan.backend, plan.origin, plan.state, par.prepared) == (
        "jit", "decided", State.READY, 0)
    assert jit.prepared == 2


def test_a_call_no_compiled_level_serves_imports_no_optional_library(run_python):
    out = run_python("""
        import sys, json
        import optlevel
        f = optlevel.optimize(eval("lambda x: x"))  # no source: level 2 is a trial
        assert f(3) == 3 and f(4) == 4
        print(json.dumps([m for m in ("numba", "cupy", "torch", "dask", "ray")
                          if m in sys.modules]))
    """)
    assert out == []



def test_planning_without_a_cluster_imports_no_cluster_code(run_python):
    """The dask and ray backends load their cluster code (multiprocessing, shared
    memory: about 4 ms) only once one of them is the executor."""
    out = run_python("""
        import sys, json
        import numpy as np
        import optlevel

        def total(x):
            s = 0.0
            for i in range(x.shape[0]):
                s += x[i] * 2.0
            return s

        x = np.arange(1000.0)
        f = optlevel.optimize(total)
        assert f(x) == total(x)
        rows = {r["backend"]: r["reason"] for r in optlevel.explain(f, x).to_dict()["levels"]
                if r["backend"] in ("dask", "ray")}
        print(json.dumps([rows, [m for m in ("optlevel.levels.parallel.cluster",
                                             "multiprocessing.shared_memory")
                                 if m in sys.modules]]))
    """)
    rows, loaded = out
    assert set(rows) == {"dask", "ray"} and all("OPTLEVEL_EXECUTOR" in r for r in rows.values())
    assert loaded == []

def cond_accumulate(x):
    t = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.5:
            t += x[i] ** 2
        else:
            t -= x[i]
    return t


@pytest.mark.numba
@pytest.mark.slow  # a real compile, under 8 threads
def test_eight_threads_make_the_first_call_of_a_cold_auto_function(tmp_path):
    """Issue 12 item 4, with the real backends: plan, compile, trial and the files on
    disk (profile, plan store, Numba's cache) under 8 threads at once."""
    optlevel.configure(cache_dir=str(tmp_path))
    f = optimize(cond_accumulate)
    x = np.random.default_rng(3).random(200_000)
    expected = cond_accumulate(x)
    results, errors = [], []
    barrier = threading.Barrier(8, timeout=60)

    def worker():
        try:
            barrier.wait()
            for _ in range(6):
                results.append(f(x))
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 48
    np.testing.assert_allclose(results, expected, rtol=1e-9)
    assert f.stats().calls == 48
    assert not list(tmp_path.rglob("*.tmp"))  # every temporary file renamed into place


def test_a_runner_up_in_doubt_brings_the_candidate_under_it_into_the_trial():
    """prange predicted (a trial), processes known, level 2 asking to be measured: the
    trial also measures level 1 under it, so a ceiling never keeps level 2 or 3 where
    vectorized NumPy is faster without having timed it."""
    from optlevel.contract import RowKind
    from optlevel.core.planner import Ranking, Row

    class Named:
        def __init__(self, name, level):
            self.name, self.level = name, level

    par, proc, jit, vec, py = (Named("par", 3), Named("proc", 3), Named("jit", 2),
                               Named("vec", 1), Named("python", 0))

    def rows(jit_kind):
        return (Row(3, "par", True, "", RowKind.TRIAL, 1e-3),
                Row(3, "proc", True, "", RowKind.OK, 3e-2),
                Row(2, "jit", True, "", jit_kind, None),
                Row(1, "vec", True, "", RowKind.OK, None),
                Row(0, "python", True, "", RowKind.OK, None))

    order = (par, proc, jit, vec, py)
    in_doubt = Ranking(order, rows(RowKind.TRIAL))
    assert [b.name for b in in_doubt.entrants(par)] == ["jit", "proc", "vec", "par"]
    assert [b.name for b in in_doubt.entrants(jit)] == ["vec", "jit"]
    settled = Ranking(order, rows(RowKind.OK))  # level 2 trusted: no chain below it
    assert [b.name for b in settled.entrants(par)] == ["jit", "proc", "par"]
    assert settled.entrants(jit) == []


def test_the_stores_library_versions_are_importlib_metadatas(tmp_path, monkeypatch):
    """Read from the folders' names, as importlib.metadata would find them: the
    first on the path wins (an .egg-info too, asked of its metadata), names
    normalize."""
    from importlib import metadata

    names = store_mod._LIBRARIES + ("pip", "pytest", "no-such-dist")
    expected = {}
    for name in names:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    assert store_mod.installed_versions(names) == expected
    first, second = tmp_path / "a", tmp_path / "b"
    for root, version in ((first, "1.2.3"), (second, "9.9.9")):
        info = root / f"Fake_Lib-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Name: fake-lib\nVersion: {version}\n")
    egg = second / "eggy.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: eggy\nVersion: 0.5\n")
    late = first / "eggy-0.9.dist-info"  # later on the path than second's .egg-info
    late.mkdir()
    (late / "METADATA").write_text("Name: eggy\nVersion: 0.9\n")
    monkeypatch.syspath_prepend(str(first))
    monkeypatch.syspath_prepend(str(second))  # second (its .egg-info) comes first now
    found = store_mod.installed_versions(("fake-lib", "eggy", "absent"))
    assert found == {"fake-lib": "9.9.9", "eggy": "0.5"}
    assert found == {n: metadata.version(n) for n in ("fake-lib", "eggy")}
