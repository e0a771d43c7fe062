"""The ``optlevel`` command line and the workload runner behind ``demo`` and ``bench``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from optlevel import cli, optimize
from optlevel.bench import WORKLOADS, Options, Workload, failures, parse_size, run_case, runner

ROOT = Path(__file__).resolve().parent.parent

FAST = Options(repeat=2, budget=0.05, single_above=0.5, min_sample=0.0, first_calls=0)


def optlevel_cmd(*args, cwd, cache_dir, check=True):
    """Run ``python -m optlevel ARGS`` in a fresh interpreter with its own cache dir."""
    env = {**os.environ, "OPTLEVEL_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "optlevel", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_info_prints_every_level(tmp_path, cache_dir):
    out = optlevel_cmd("info", cwd=tmp_path, cache_dir=cache_dir).stdout
    assert f"cache dir: {cache_dir}" in out
    for name in ("python", "vectorize", "jit", "parallel", "gpu"):
        assert name in out


def test_info_json_parses(tmp_path, cache_dir):
    info = json.loads(optlevel_cmd("info", "--json", cwd=tmp_path, cache_dir=cache_dir).stdout)
    rows = info["backends"]
    assert sorted({r["level"] for r in rows}) == [0, 1, 2, 3, 4]
    assert [r["level"] for r in rows] == sorted(r["level"] for r in rows)
    by_name = {r["backend"]: r for r in rows if r["backend"]}
    assert by_name["python"]["usable"] is True
    assert {"python", "numba"} <= set(by_name)
    assert set(info["gpu"]["libraries"]) == {"cupy", "torch"}
    assert info["cache_dir"] == str(cache_dir)


def test_info_does_not_import_gpu_libraries(monkeypatch):
    for name in ("cupy", "torch"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    cli.collect_info(probe=False)  # probing a GPU backend may import its library
    assert "cupy" not in sys.modules and "torch" not in sys.modules


MODULE = """
    import numpy as np

    def total_above(x, t):
        s = 0.0
        for i in range(x.shape[0]):
            if x[i] > t:
                s += x[i]
        return s

    class Kernels:
        @staticmethod
        def vectorized(x):
            return np.sin(x) + 1.0
"""


@pytest.fixture
def user_module(tmp_path):
    (tmp_path / "usermod.py").write_text(textwrap.dedent(MODULE))
    return tmp_path


@pytest.mark.numba
def test_explain_module_function(user_module, cache_dir):
    out = optlevel_cmd("explain", "usermod:total_above", cwd=user_module,
                       cache_dir=cache_dir).stdout
    assert "optlevel.explain: total_above" in out
    assert "loops: line 6" in out
    assert "→ level 2 (jit)" in out


def test_explain_file_path_json(user_module, cache_dir, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    target = f"{user_module / 'usermod.py'}:Kernels.vectorized"
    report = json.loads(optlevel_cmd("explain", target, "--json", cwd=elsewhere,
                                     cache_dir=cache_dir).stdout)
    assert report["function"] == "Kernels.vectorized"
    assert report["chosen"] == 0
    assert "elementwise" in report["features"]["numpy_calls"]


@pytest.mark.parametrize("target, words", [
    ("usermod:missing", "has no attribute 'missing'"),
    ("no_such_module:f", "cannot import module"),
    ("usermod", "expected module:function"),
])
def test_explain_bad_target_is_a_usage_error(user_module, cache_dir, target, words):
    proc = optlevel_cmd("explain", target, cwd=user_module, cache_dir=cache_dir, check=False)
    assert proc.returncode == 2
    assert words in proc.stderr


@pytest.mark.slow  # runs the whole demo in a fresh process
def test_demo_quick_runs_every_workload_with_same_results(tmp_path, cache_dir):
    out_json = tmp_path / "demo.json"
    proc = optlevel_cmd("demo", "--quick", "--json", str(out_json), cwd=tmp_path,
                        cache_dir=cache_dir)
    for name in WORKLOADS:
        assert name in proc.stdout
        assert name in proc.stderr  # progress
    assert "every optimized result equals the plain result" in proc.stdout
    data = json.loads(out_json.read_text())
    assert data["ok"] is True
    variants = [r for r in data["rows"] if r["requested"] != runner.PLAIN]
    assert {r["workload"] for r in variants} == set(WORKLOADS)
    assert all(r["same"] is True for r in variants)
    assert {r["requested"] for r in variants} == {"0", "1", "2", "3", "4", "auto"}


@pytest.mark.slow  # runs the whole demo in a fresh process
@pytest.mark.numba
def test_demo_realizes_level_2_only_where_loops_are(tmp_path, cache_dir):
    out_json = tmp_path / "demo.json"
    # 1M elements: big enough that auto compiles on the first call (no warm-up)
    optlevel_cmd("bench", "--quick", "--workload", "conditional_accumulate,elementwise",
                 "--sizes", "1M", "--levels", "2,auto", "--json", str(out_json),
                 cwd=tmp_path, cache_dir=cache_dir)
    ran = {(r["workload"], r["requested"]): r["realized"]
           for r in json.loads(out_json.read_text())["rows"]}
    assert ran[("conditional_accumulate", "2")] == "2"
    # auto compiles the loop: level 2, or level 3 (the same loop with prange); where
    # it races prange against level 2, plain Python times the trial's first call
    realized = set(ran[("conditional_accumulate", "auto")].split("+"))
    assert realized - {"0"} and realized - {"0"} <= {"2", "3"}, realized
    assert ran[("elementwise", "2")] == "0"  # no loops: level 2 does not pay
    assert ran[("elementwise", "auto")] != "2"


def test_demo_rejects_unknown_workload(tmp_path, cache_dir):
    proc = optlevel_cmd("demo", "--only", "nope", cwd=tmp_path, cache_dir=cache_dir,
                        check=False)
    assert proc.returncode == 2
    assert "valid names are" in proc.stderr


def add_one(x):
    return x + 1.0


def wrong_variant(func, level, strict=False):
    """What a broken level would be: optlevel running a different function."""
    return optimize(lambda x: x + 2.0, level=level, strict=strict)


ADD_ONE = Workload("add_one", add_one, lambda n: (np.arange(n, dtype=float),), (100,), (100,),
                   "x + 1")


def test_runner_reports_a_mismatch():
    rows = run_case(ADD_ONE, 100, [0, "auto"], FAST, variant=wrong_variant)
    assert [r.requested for r in rows] == [runner.PLAIN, "0", "auto"]
    assert [r.same for r in rows] == [None, False, False]
    assert failures(rows) == rows[1:]


def test_runner_rows_for_a_correct_workload():
    rows = run_case(ADD_ONE, 100, [0], FAST)
    assert failures(rows) == []
    plain, level0 = rows
    assert (plain.speedup, plain.realized) == (1.0, "-")
    assert (level0.same, level0.realized, level0.compile_time) == (True, "0", 0.0)
    assert level0.time > 0 and level0.runs >= 1


def test_runner_reports_an_exception_as_a_failed_row():
    def raising_variant(func, level, strict=False):
        return optimize(lambda x: x[10**6], level=level)

    rows = run_case(ADD_ONE, 100, [0], FAST, variant=raising_variant)
    assert rows[1].error.startswith("IndexError")
    assert failures(rows) == [rows[1]]


def test_bench_exits_non_zero_on_a_mismatch(monkeypatch, capsys):
    monkeypatch.setitem(WORKLOADS, ADD_ONE.name, ADD_ONE)
    monkeypatch.setattr(runner, "make_variant", wrong_variant)
    status = cli.main(["bench", "--quick", "--workload", "add_one", "--levels", "0"])
    captured = capsys.readouterr()
    assert status == 1
    assert "NO  <-- differs" in captured.out
    assert "FAILED" in captured.err


@pytest.mark.parametrize("text, size", [("2048", 2048), ("10K", 10_000), ("1m", 10**6),
                                        ("1.5M", 1_500_000)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "0", "1.5", "-3"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="bad size"):
        parse_size(text)
