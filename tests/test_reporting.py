"""What optlevel tells the user: f.stats(), optlevel.stats(), report(), explain, logging."""

import json
import logging
import sys
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize

X = np.arange(4.0)


def squares_total(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * x[i]
    return t


def vectorized(x):
    return np.sqrt(np.abs(x)) + 1.0


# level 1 advises on squares_total's loop; the stats are the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
@pytest.mark.numba
def test_function_stats_per_signature():
    f = optimize(squares_total, level=2)
    assert f(X) == f(X) == squares_total(X) == 14.0
    assert f(np.arange(3, dtype=np.int64)) == 5.0
    stats = f.stats()
    assert stats.name == "squares_total"
    assert stats.calls == 3 and stats.levels == {2: 3}
    by_dtype = {s.signature.split()[2].split("[")[0]: s for s in stats.signatures}
    assert set(by_dtype) == {"float64", "int64"}
    s = by_dtype["float64"]
    assert (s.level, s.backend, s.calls, s.ceiling) == (2, "numba", 2, 2)
    assert all(lvl == 1 for lvl, _, _ in s.fallbacks)  # level 1 does not pay for 4 elements
    assert s.compile_time > 0 and s.time > 0 and s.mean == s.time / 2
    assert stats.compile_time == sum(x.compile_time for x in stats.signatures)
    json.dumps(stats.to_dict())


def test_function_stats_record_fallbacks():
    f = optimize(vectorized, level=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.FallbackWarning)  # the nonumba env warns
        np.testing.assert_array_equal(f(X), vectorized(X))
    [s] = f.stats().signatures
    assert (s.level, s.backend, s.calls, s.compile_time) == (0, "python", 1, 0.0)
    [(level, backend, reason)] = [f for f in s.fallbacks if f[0] == 2]
    assert (level, backend) == (2, "numba")
    assert reason


def test_global_stats_and_report(capsys):
    # optlevel.stats() keys by module and qualified name.
    @optimize
    def plain_kernel(x):
        return x * 2.0

    @optimize
    def never_called(x):
        return x

    plain_kernel(X)
    plain_kernel(X)
    everything = optlevel.stats()
    name = f"{__name__}.{plain_kernel.__qualname__}"
    assert everything[name].calls == 2
    assert everything[name].levels == {0: 2}
    assert f"{__name__}.{never_called.__qualname__}" not in everything
    optlevel.report()
    out = capsys.readouterr().out
    assert plain_kernel.__qualname__ in out and never_called.__qualname__ not in out
    assert "x: numpy float64[4] C-layout on cpu  0 (python)      2" in out


def test_report_when_nothing_ran(capsys, monkeypatch):
    monkeypatch.setattr(sys.modules["optlevel.stats"], "_registry", set())
    optlevel.report()
    assert "no decorated function has been called yet" in capsys.readouterr().out


# explain and the call rank level 1, which advises on squares_total's loop
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
@pytest.mark.numba
def test_explain_before_and_after_a_call():
    f = optimize(squares_total, level=2)
    before = optlevel.explain(f, X)
    assert before.chosen == 2
    levels = [r.level for r in before.rows]
    assert levels == sorted(levels, reverse=True) and set(levels) == {0, 1, 2, 3, 4}
    assert before.row("numba").tried and before.row("numba").backend == "numba"
    assert "if it fails to build, level 0 runs instead" in before.chosen_reason
    f(X)
    after = optlevel.explain(f, X)
    assert after.chosen == 2 and "realized on earlier calls (1 so far)" in after.chosen_reason
    text = str(after)
    assert "loops: line" in text and "range_shape (hot)" in text
    assert "→ level 2 (jit)" in text


def test_explain_to_dict_is_json():
    f = optimize(vectorized, level=2)
    data = json.loads(json.dumps(optlevel.explain(f, X).to_dict()))
    assert data["function"] == "vectorized"
    assert data["chosen"] == 0
    assert data["ceiling"] == 2 and data["mode"] == "requested (a ceiling)"
    levels = [row["level"] for row in data["levels"]]  # one row per backend
    assert levels == sorted(levels, reverse=True) and set(levels) == {0, 1, 2, 3, 4}
    assert {"numba", "python"} <= {row["backend"] for row in data["levels"]}
    assert data["signature"]["args"][0]["dtype"] == "float64"
    assert data["features"]["numpy_calls"]["elementwise"]
    bare = json.loads(json.dumps(optlevel.explain(vectorized).to_dict()))
    assert bare["signature"] is None


@pytest.mark.numba
def test_explain_says_vectorized_numpy_stays_at_level_0():
    f = optimize(vectorized, level=2)
    row = optlevel.explain(f, X).row("numba")
    assert (row.tried, row.kind) == (False, "pays")
    assert "no Python-level loops" in row.reason
    assert row.code == "PL008", row
    with warnings.catch_warnings():
        warnings.simplefilter("error", optlevel.FallbackWarning)  # not a fallback
        np.testing.assert_array_equal(f(X), vectorized(X))
    assert f.stats().levels == {0: 1}


def test_debug_log_names_the_chosen_level(caplog):
    f = optimize(vectorized, level=2)  # auto would scout first (test_scout's subject)
    with caplog.at_level(logging.DEBUG, logger="optlevel"):
        f(X)
    messages = [r.getMessage() for r in caplog.records if r.name == "optlevel"]
    assert any(m.startswith("vectorized: x: numpy float64[4]") and
               m.endswith("→ level 0 (python)") for m in messages), messages


# level 1 advises on squares_total's loop; the log is the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
@pytest.mark.numba
def test_debug_log_level_2(caplog):
    optlevel.configure(compile="eager")  # a small call would warm up in Python first
    f = optimize(squares_total)
    with caplog.at_level(logging.DEBUG, logger="optlevel"):
        f(X)
    assert any(r.getMessage().endswith("→ level 2 (numba)") for r in caplog.records)
