"""The planner ranks backends, several per level, by predicted cost; the registry
caches availability and closes what backends hold."""

from __future__ import annotations

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.contract import Verdict
from optlevel.core.calibrate import MachineProfile
from optlevel.core.registry import close_all, forget_availability, is_available

# Level 1 advises on total()'s loop whenever it is ranked; the ranking is this module's
# subject, the advice test_vectorize_backend's.
pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")

X = np.arange(5.0)


def total(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def tagged(tag):
    """A ``make`` for FakeBackend: the plain function, plus which backend ran it."""
    ran = []

    def make(func):
        def run(*args, **kwargs):
            ran.append(tag)
            return func(*args, **kwargs)
        return run
    make.ran = ran
    return make


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_two_backends_at_a_level_both_show_and_run_in_cost_order(fake_backend, level):
    cheap, dear = tagged("cheap"), tagged("dear")
    fake_backend(name="dear", level=level, cost=2.0, make=dear)
    fake_backend(name="cheap", level=level, cost=1.0, make=cheap, shadow=False)
    # strict: the level's own backends only (a ceiling would race "cheap" against the
    # levels below it, whose costs are unknown: test_measured_planner's subject)
    f = optimize(total, level=level, strict=True, verify=False)
    report = optlevel.explain(f, X)
    rows = {r.backend: r for r in report.rows if r.level == level}
    assert {"cheap", "dear"} <= set(rows)
    assert rows["cheap"].cost == 1.0 and rows["dear"].cost == 2.0
    assert rows["cheap"].tried and rows["dear"].tried
    assert "cost" in str(report) and "dear" in str(report)
    assert f(X) == total(X)
    assert cheap.ran == ["cheap"] and dear.ran == []


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_the_cheaper_backend_declining_hands_over_to_the_next(fake_backend, level):
    dear = tagged("dear")
    fake_backend(name="dear", level=level, cost=2.0, make=dear)
    fake_backend(name="cheap", level=level, cost=1.0, decline="the cheap one declines",
                 shadow=False)
    # strict: the level's own backends only (a ceiling would race "dear" against the
    # levels below it, whose costs are unknown: test_measured_planner's subject)
    f = optimize(total, level=level, strict=True, verify=False)
    assert f(X) == total(X)
    assert dear.ran == ["dear"]
    assert f.stats().signatures[0].backend == "dear"
    row = optlevel.explain(f, X).row("cheap")
    assert "not used: the cheap one declines" in row.reason
    assert row.code == "PL010", row  # declined while building


def test_known_costs_go_before_unknown_and_levels_break_ties(fake_backend):
    fake_backend(name="l3", level=3, cost=None)
    fake_backend(name="l4", level=4, cost=None)
    fake_backend(name="l2", level=2, cost=0.5, shadow=False)
    f = optimize(total, level=4)
    order = [b.name for b in f._dispatcher.ranking((4, 0, ()), (X,), {},
                                                   optlevel.settings())[1].order]
    assert order[:3] == ["l2", "l4", "l3"] and order[-1] == "python"


def test_a_backend_that_does_not_pay_is_listed_but_not_tried(fake_backend):
    backend = fake_backend(name="slow", level=3)
    backend.estimate = lambda *a: optlevel.contract.Estimate("no", "would be slower")
    report = optlevel.explain(optimize(total, level=3), X)
    row = report.row("slow")
    assert (row.tried, row.kind, row.reason) == (False, "pays", "would be slower")
    assert row.code == "PL008", row
    assert report.chosen == 2 or report.chosen == 0  # a lower level serves


def test_applies_and_estimate_receive_settings_and_the_machine_profile(fake_backend):
    seen = []
    backend = fake_backend(name="probe", level=3)
    backend.applies = lambda features, sig, settings, profile: (
        seen.append((settings.workers, type(profile))) or Verdict(True))
    optlevel.configure(workers=3)
    optimize(total, level=3)(X)
    assert seen == [(3, MachineProfile)]


def test_availability_is_asked_once_and_a_failing_probe_is_a_reason(fake_backend):
    asked = []
    backend = fake_backend(name="gpu-ish", level=4)

    def available(settings):
        asked.append(1)
        raise RuntimeError("no driver found")

    backend.available = available
    forget_availability()
    f = optimize(total, level=4)
    with pytest.warns(optlevel.FallbackWarning) as caught:  # one per level above the one run
        for _ in range(3):
            assert f(X) == total(X)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, optlevel.FallbackWarning)]
    assert any("gpu-ish (level 4) cannot run it" in m and "no driver found" in m
               for m in messages), messages
    verdict = is_available(backend, optlevel.settings())
    assert not verdict and "no driver found" in verdict.reason
    assert len(asked) == 1
    row = optlevel.explain(f, X).row("gpu-ish")
    assert row.kind == "unavailable" and "no driver found" in row.reason
    assert row.code == "PL006", row
    forget_availability()


def test_close_all_closes_backends_that_hold_resources(fake_backend):
    closed = []
    backend = fake_backend(name="pool", level=3)
    backend.holds_resources = True
    backend.close = lambda: closed.append("pool")
    close_all()
    assert closed == ["pool"]


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(optlevel.ConfigError, match="valid keywords are level, strict, verify"):
        optimize(total, no_such_option=1)


def test_info_has_one_row_per_backend(fake_backend):
    from optlevel.cli import collect_info

    fake_backend(name="second-jit", level=2, shadow=False)
    rows = collect_info(probe=False)["backends"]
    names = [r["backend"] for r in rows if r["level"] == 2]
    assert "numba" in names and "second-jit" in names


def test_profile_survives_a_corrupt_file(tmp_path):
    path = tmp_path / "profile.json"
    profile = MachineProfile(path)
    assert profile.measure("x.rate", lambda: 2.5) == 2.5
    assert MachineProfile(path).get("x.rate") == 2.5  # read back, not measured again
    path.write_text("{ not json")
    with pytest.warns(optlevel.OptlevelWarning, match="unreadable"):
        fresh = MachineProfile(path)
    assert fresh.get("x.rate") is None
    assert fresh.measure("x.rate", lambda: 3.0) == 3.0


def test_a_backend_left_out_by_configuration_is_neither_probed_nor_warned(fake_backend):
    import warnings

    probed = []
    backend = fake_backend(name="cluster", level=3)
    backend.selected = lambda settings: Verdict(False, "OPTLEVEL_EXECUTOR is local")
    backend.available = lambda settings: probed.append(1) or Verdict(True)
    backend.requires = ("no_such_module_anywhere",)
    f = optimize(total, level=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f(X) == total(X)
    assert not [w for w in caught if "cluster" in str(w.message)]
    row = optlevel.explain(f, X).row("cluster")
    assert (row.kind, row.tried, row.reason) == ("configured", False,
                                                 "OPTLEVEL_EXECUTOR is local")
    assert row.code == "PL004", row
    assert probed == []
