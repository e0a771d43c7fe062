"""``optlevel bench``: intervals, auto against the best, the JSON file, --compare, --plot."""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
from time import perf_counter

import numpy as np
import pytest

from optlevel import cli
from optlevel.bench import (
    WORKLOADS,
    Options,
    Workload,
    allocator,
    first_calls,
    report,
    results,
    run_case,
    runner,
    spread,
    summary,
)
from optlevel.bench import compare as bench_compare

TINY = Options(repeat=15, min_rounds=5, budget=0.5, single_above=0.5, min_sample=0.002,
               first_calls=0)


# --- intervals -----------------------------------------------------------------------

def test_median_interval_from_order_statistics():
    xs = [float(x) for x in range(20)]
    # n = 20: the 95 % interval of the median is the 6th to the 15th smallest
    assert spread.median_interval(xs) == (5.0, 14.0)
    assert spread.median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) == (1.0, 5.0)  # too few: range
    assert spread.median_interval([7.0]) == (7.0, 7.0)
    with pytest.raises(ValueError):
        spread.median_interval([])


def test_paired_ratio_cancels_a_slow_spell():
    plain = [1.0, 1.0, 3.0, 1.0, 1.0, 1.0]  # round 3 hit a slow spell ...
    fast = [0.5, 0.5, 1.5, 0.5, 0.5, 0.5]  # ... for both variants
    r = spread.ratio(plain, fast)
    assert (r.value, r.low, r.high) == (2.0, 2.0, 2.0)
    assert r.low > 1.0  # a real difference
    same = spread.ratio([1.0, 1.1, 0.9, 1.0], [1.0, 1.0, 1.0, 1.05])
    assert same.low <= 1.0 <= same.high  # inside the noise


def test_unpaired_ratio_spans_both_intervals():
    r = spread.ratio([2.0], [0.9, 1.0, 1.1])
    assert r.value == 2.0 and r.low == pytest.approx(2 / 1.1) and r.high == pytest.approx(2 / 0.9)


# --- the runner ----------------------------------------------------------------------

def sort_copy(x):
    return np.sort(x)


SORT = Workload("sort_copy", sort_copy,
                lambda n: (np.random.default_rng(0).random(n),), (50_000,), (50_000,), "sort")


def test_rounds_keep_every_sample_and_level_0_reads_as_plain():
    # elementwise at 100K makes temporaries of 800 KB: with glibc's own thresholds the
    # heap layout alone made level 0 (the plain function) read 1.26-1.40x of plain
    plain, level0 = run_case(WORKLOADS["elementwise"], 100_000, [0], TINY)
    assert plain.runs == level0.runs >= 3  # interleaved rounds: one sample each a round
    assert len(plain.samples) == plain.runs and len(level0.samples) == level0.runs
    assert plain.time == statistics.median(plain.samples)
    assert level0.time == statistics.median(level0.samples)
    assert level0.speedup_low <= level0.speedup <= level0.speedup_high
    # the row's noise mark is the interval's verdict (whether plain and level 0 read
    # alike is a timing, measured by `optlevel bench`, not asserted on a shared machine)
    assert level0.noise is spread.inside_noise(level0.speedup, level0.speedup_low,
                                               level0.speedup_high)
    assert level0.realized == "0" and level0.same is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_allocator_is_pinned_for_every_variant():
    assert allocator.steady() is True
    assert allocator.steady() is True  # once; the same answer after


def test_rounds_stop_at_the_target_or_the_budget():
    steady = runner._Contender("x", None, times=[1.0, 1.01, 0.99])
    noisy = runner._Contender("y", None, times=[1.0, 3.0, 0.5])
    opts = Options(repeat=40, min_rounds=3, target=0.05, budget=1e9)
    started = perf_counter()
    assert runner._settled([steady], 3, started, opts)  # known within ±1 %
    assert not runner._settled([steady], 2, started, opts)  # min_rounds first
    assert not runner._settled([steady, noisy], 3, started, opts)  # one is not settled yet
    assert runner._settled([steady, noisy], 40, started, opts)  # repeat: the last round
    spent = dataclasses.replace(opts, budget=0.0)
    assert runner._settled([steady, noisy], 3, started, spent)  # the budget is spent
    rows = run_case(SORT, 50_000, [0], Options(repeat=40, min_rounds=3, target=1e-9,
                                               budget=0.01, min_sample=0.002, first_calls=0))
    assert 3 <= rows[0].runs < 40  # an unreachable target: the budget stops it


def _row(workload, size, requested, seconds, realized="0", **extra):
    samples = tuple(seconds * f for f in (1.0, 1.02, 0.98, 1.01, 0.99))
    return runner.Row(workload, size, str(size), requested, realized=realized,
                      time=statistics.median(samples), runs=5, samples=samples, **extra)


def _case(workload, size, plain, levels, auto, auto_ran="0"):
    """Rows as run_case makes them: speed-ups from the same rounds."""
    rows = [_row(workload, size, "plain", plain, realized="-")]
    rows += [_row(workload, size, str(lv), t, realized=str(lv)) for lv, t in levels.items()]
    rows.append(_row(workload, size, "auto", auto, realized=auto_ran))
    out = []
    for row in rows:
        r = spread.ratio(rows[0].samples, row.samples)
        out.append(runner.Row(**{**row.__dict__, "speedup": r.value, "speedup_low": r.low,
                                 "speedup_high": r.high, "same": None if row is rows[0]
                                 else True}))
    return out


def test_summary_names_the_best_level_and_auto_against_it():
    rows = _case("w", 1000, plain=1.0, levels={0: 1.0, 2: 0.1, 3: 0.05}, auto=0.1,
                 auto_ran="2")
    (case,) = summary.cases(rows)
    assert case.best.requested == "3" and report.best_cell(case.best) == "3"
    ran_lower = runner.Row(**{**case.best.__dict__, "requested": "4"})
    assert report.best_cell(ran_lower) == "4 (ran at 3)"
    assert case.auto_vs_best.value == pytest.approx(0.5)  # auto takes twice the best's time
    assert case.auto_vs_best.high < 1.0  # beyond the noise
    assert summary.miss_against_best(case)  # auto at 0.5x of the best: a miss
    assert not summary.miss_against_plain(case)  # but 10x plain
    (even,) = summary.cases(_case("w", 1, plain=1.0, levels={0: 1.0, 2: 0.1}, auto=0.1))
    assert even.auto_vs_best.noise and not summary.miss_against_best(even)


# --- the JSON file, --compare, --plot --------------------------------------------------

ENV = {"optlevel": "0.1.0", "python": "3.11", "numpy": "2", "numba": None,
       "usable_cores": 2, "cpu_cores": 2, "machine": "x86_64", "platform": "linux",
       "settings": ""}


def _results(rows):
    return results.Results("bench", tuple(rows), ENV, None, ("0", "2", "3", "auto"), 1.0)


def test_json_round_trip_keeps_every_sample(tmp_path):
    rows = _case("w", 1000, 1.0, {0: 1.0, 2: 0.1}, 0.1, auto_ran="2")
    rows[-1] = runner.Row(**{**rows[-1].__dict__, "first_calls": (0.5, 0.1, 0.1)})
    path = tmp_path / "run.json"
    path.write_text(json.dumps(results.to_json(_results(rows))))
    back = results.load(path)
    assert back.rows == tuple(rows)
    data = json.loads(path.read_text())
    assert data["schema"] == results.SCHEMA
    # pyperf's layout: one benchmark per timed row, the same samples as its values
    names = [b["metadata"]["name"] for b in data["benchmarks"]]
    assert names == ["w 1000 plain", "w 1000 level 0", "w 1000 level 2", "w 1000 auto"]
    assert data["benchmarks"][3]["runs"][0]["values"] == list(rows[3].samples)
    assert "numba" not in data["metadata"]  # pyperf refuses empty metadata values


def test_json_is_readable_by_pyperf(tmp_path):
    pyperf = pytest.importorskip("pyperf")
    path = tmp_path / "run.json"
    path.write_text(json.dumps(results.to_json(_results(_case("w", 10, 1.0, {0: 1.0}, 0.5)))))
    suite = pyperf.BenchmarkSuite.load(str(path))
    assert suite.get_benchmark("w 10 auto").median() == pytest.approx(0.5)


def test_load_rejects_another_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"benchmarks": []}')
    with pytest.raises(ValueError, match="not an optlevel bench file"):
        results.load(path)


def test_compare_says_faster_slower_and_same(tmp_path, capsys):
    old = _case("w", 1000, 1.0, {2: 0.2, 3: 0.1}, 0.2, auto_ran="2")
    new = _case("w", 1000, 1.0, {2: 0.1, 3: 0.2}, 0.2, auto_ran="3")
    changes = {c.requested: c for c in bench_compare.compare(old, new)}
    assert changes["2"].verdict == "faster" and changes["2"].ratio.value == pytest.approx(2.0)
    assert changes["3"].verdict == "slower" and changes["plain"].verdict == "same"
    old_path, new_path = tmp_path / "old.json", tmp_path / "new.json"
    old_path.write_text(json.dumps(results.to_json(_results(old))))
    new_path.write_text(json.dumps(results.to_json(_results(new))))
    status = cli.main(["bench", "--from", str(new_path), "--compare", str(old_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "Auto against the best level" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("w") and "auto" in ln
                and "2 -> 3" in ln)
    assert line.split()[-1] == "same"
    assert "4 variants in both runs: 1 faster, 1 slower, 2 the same within the noise" in out


def _sweep():
    rows = []
    for size, l3 in ((10_000, 2.0), (100_000, 1.25), (1_000_000, 0.5), (10_000_000, 0.25)):
        rows += _case("sweep", size, plain=1.0, levels={0: 1.0, 3: l3}, auto=min(1.0, l3),
                      auto_ran="3")
    return rows


def test_plot_draws_every_level_and_the_crossover(tmp_path):
    pytest.importorskip("matplotlib")
    from optlevel.bench import plot

    drawn = plot.plot(_sweep(), tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    series = drawn.series["sweep"]
    assert set(series) == {"plain", "level 0", "level 3", "auto"}
    assert [p.size for p in series["level 3"]] == [10_000, 100_000, 1_000_000, 10_000_000]
    assert [p.speedup for p in series["level 3"]] == pytest.approx([0.5, 0.8, 2.0, 4.0])
    # level 3 is 0.8x at 100K and 2x at 1M: it starts to pay in between
    assert drawn.crossovers["sweep"]["level 3"] == (100_000, 1_000_000)
    assert drawn.crossovers["sweep"]["auto"] == (100_000, 1_000_000)
    assert drawn.crossovers["sweep"]["level 0"] is None  # never pays
    axes = drawn.figure.axes
    assert len(axes) == 2 and len(axes[0].get_lines()) == 4  # time: plain, 0, 3, auto


def test_plot_from_a_saved_run(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "run.json"
    path.write_text(json.dumps(results.to_json(_results(_sweep()))))
    assert cli.main(["bench", "--from", str(path), "--plot", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 10_000
    assert "charts of 1 workload(s)" in capsys.readouterr().err


# --- the first calls, and the command end to end ----------------------------------------

def test_first_calls_run_in_a_fresh_process(cache_dir):
    times, error = first_calls.measure("reduction", 1000, "auto", 3, 30.0)
    assert error == "" and len(times) == 3 and all(t > 0 for t in times)
    times, error = first_calls.measure("no_such_workload", 10, "plain", 3, 30.0)
    assert times == () and "no_such_workload" in error


def test_bench_quick_json_on_stdout(capsys):
    status = cli.main(["bench", "--quick", "--workload", "reduction", "--levels", "0,auto",
                       "--output-format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0 and data["ok"] is True
    assert [r["requested"] for r in data["rows"]] == ["plain", "0", "auto"]
    assert all(len(r["samples"]) == r["runs"] >= 1 for r in data["rows"])


def test_the_verdict_says_when_results_are_equal_only_within_the_tolerance():
    rows = _case("w", 1000, plain=1.0, levels={2: 0.1}, auto=0.1, auto_ran="2")
    exact = [dataclasses.replace(r, identical=None if r.requested == "plain" else True)
             for r in rows]
    env = {"optlevel": "0", "python": "3", "numpy": "2", "numba": "numba", "usable_cores": 2,
           "machine": "x86_64"}
    text = report.format_results("optlevel bench", exact, None, env, 1.0)
    assert "every optimized result equals the plain result bit for bit" in text
    close = [dataclasses.replace(r, identical=False) if r.requested == "2" else r
             for r in exact]
    text = report.format_results("optlevel bench", close, None, env, 1.0)
    assert "1 of them within a relative 1e-9 rather than bit for bit (w 1000 level 2)" \
        in text
    assert "≈ (within 1e-9)" in text


# --- the steady state: a variant's plans settle before it is timed -------------------

class _Settling:
    """A variant whose first ``slow`` calls take 20 ms (a trial, a warm-up) and whose
    ``stats().settled`` turns true after them; then 1 ms calls."""

    def __init__(self, slow: int):
        self.calls, self.slow = 0, slow

    def __call__(self, x):
        self.calls += 1
        end = perf_counter() + (0.02 if self.calls <= self.slow else 0.001)
        while perf_counter() < end:
            pass
        return x

    def stats(self):
        return type("S", (), {"settled": self.calls >= self.slow})()


def test_a_variant_is_timed_once_its_plans_have_settled():
    fn = _Settling(6)
    c = runner._warm_up("auto", fn, (1.0,), TINY)
    assert fn.calls == 6 + runner.PROBES  # the warm-up, five more until settled, probes
    assert c.probe < 0.005  # a settled call, not a trial's
    assert not c.error and c.settled is True


def test_settling_stops_at_the_budget():
    fn = _Settling(10 ** 6)
    c = runner._warm_up("auto", fn, (1.0,), dataclasses.replace(TINY, budget=0.1))
    assert fn.calls <= 1 + 6 + runner.PROBES  # 20 ms calls: at most 6 fit in 0.1 s
    assert c.probe >= 0.02  # never settled: its probe says so
    assert c.settled is False


def test_the_summary_names_where_auto_was_still_settling():
    rows = _case("w", 1000, plain=1.0, levels={0: 1.0, 3: 0.05}, auto=0.5, auto_ran="0+2")
    rows += _case("v", 10, plain=1.0, levels={0: 1.0, 2: 0.1}, auto=0.1, auto_ran="2")
    rows = [dataclasses.replace(r, settled=(r.workload == "v"))
            if r.requested == "auto" else r for r in rows]
    text = report.format_summary(rows)
    assert text.endswith("auto was still settling when its timing began (a trial or a "
                         "warm-up is in its samples; a larger --budget times its steady "
                         "state) in 1: w 1000")
    settled = [dataclasses.replace(r, settled=True) if r.requested == "auto" else r
               for r in rows]
    assert "still settling" not in report.format_summary(settled)
    back = runner.Row.from_dict(json.loads(json.dumps(rows[3].to_dict())))
    assert back.requested == "auto" and back.settled is False  # kept in the JSON file
