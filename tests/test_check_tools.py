"""``optlevel check`` in CI and editors: noqa, [tool.optlevel], output formats, --fix.

Also the settings file's place in the precedence order, and how results render in
notebooks and terminals (HTML, IPython's pretty printer, rich).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import optlevel
from optlevel.cli import main
from optlevel.levels.vectorize.analysis import analyze_source
from optlevel.levels.vectorize.fix import FIXABLE, apply_fixes, plan_fixes

ROOT = Path(__file__).resolve().parent.parent

LOOPS = textwrap.dedent("""\
    import numpy as np


    def total(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * 2
        return s


    def kept(x):
        s = 0.0
        for i in range(x.shape[0]):  # noqa: OL103 - the loop is the example
            s += x[i]
        return s
    """)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "loops.py").write_text(LOOPS)
    (tmp_path / "pkg" / "clean.py").write_text("import numpy as np\n\n\n"
                                               "def f(x):\n    return np.sum(x)\n")
    return tmp_path


def run(capsys, *args):
    status = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_noqa_silences_its_rule_on_its_line_only(project, capsys):
    status, out, _ = run(capsys, "pkg")
    assert status == 1
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()] == ["OL103"]
    assert "loops.py:6:5:" in out  # total's loop; kept's loop (line 13) is silenced


def test_noqa_for_another_rule_does_not_silence(project, capsys):
    text = LOOPS.replace("noqa: OL103", "noqa: OL201")
    (project / "pkg" / "loops.py").write_text(text)
    assert run(capsys, "pkg")[1].count("OL103") == 2
    (project / "pkg" / "loops.py").write_text(LOOPS.replace("noqa: OL103", "noqa"))
    assert run(capsys, "pkg")[1].count("OL103") == 1  # bare noqa: every rule


def test_pyproject_select_ignore_and_per_file_ignores(project, capsys):
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.optlevel.check]
        per-file-ignores = { "pkg/loops.py" = ["OL103"] }
        """))
    assert run(capsys, "pkg")[0] == 0
    (project / "pyproject.toml").write_text('[tool.optlevel.check]\nignore = ["OL1"]\n')
    assert run(capsys, "pkg")[0] == 0
    assert run(capsys, "pkg", "--ignore", "OL2")[0] == 1  # the command line wins
    (project / "pyproject.toml").write_text('[tool.optlevel.check]\nselect = ["OL2"]\n')
    assert run(capsys, "pkg")[0] == 0


@pytest.mark.parametrize("path, status", [("pkg/loops.py", 1), ("pkg/clean.py", 0)])
def test_every_output_format_with_and_without_findings(project, capsys, path, status):
    code, text, _ = run(capsys, path, "--output-format", "text")
    assert code == status and text.count("OL103") == status

    code, out, _ = run(capsys, path, "--output-format", "json")
    found = json.loads(out)
    assert code == status and [d["rule"] for d in found] == ["OL103"] * status
    if found:
        assert (found[0]["line"], found[0]["col"]) == (6, 5)

    code, out, _ = run(capsys, path, "--output-format", "github")
    assert code == status
    lines = out.splitlines()
    assert len(lines) == status
    for line in lines:
        assert re.fullmatch(r"::warning file=pkg/loops\.py,line=6,col=5,"
                            r"title=OL103 reduction::OL103 .+", line), line

    code, out, _ = run(capsys, path, "--output-format", "sarif")
    log = json.loads(out)
    assert code == status and log["version"] == "2.1.0"
    run_ = log["runs"][0]
    assert {r["id"] for r in run_["tool"]["driver"]["rules"]} >= {"OL101", "OL201"}
    assert [r["ruleId"] for r in run_["results"]] == ["OL103"] * status
    if status:
        where = run_["results"][0]["locations"][0]["physicalLocation"]
        assert where == {"artifactLocation": {"uri": "pkg/loops.py"},
                         "region": {"startLine": 6, "startColumn": 5}}


def test_old_spellings_still_work_with_a_note(project, capsys):
    code, out, err = run(capsys, "pkg", "--format", "json")
    assert code == 1 and json.loads(out)[0]["rule"] == "OL103"
    assert "--format is deprecated; use --output-format json" in err
    assert main(["info", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["optlevel"] and "--json is deprecated" in err


def test_quiet_drops_the_summary(project, capsys):
    _, _, err = run(capsys, "pkg")
    assert "1 finding(s)" in err
    assert main(["check", "pkg", "-q"]) == 1 and capsys.readouterr().err == ""


# -- --fix ------------------------------------------------------------------------------------

def _rule_examples(rule_id: str) -> tuple[str, str]:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    body = re.split(r"^## (OL\d{3})\b.*$", text, flags=re.MULTILINE)
    section = dict(zip(body[1::2], body[2::2]))[rule_id]
    before, after = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[:2]
    return "import numpy as np\n\n\n" + before, "import numpy as np\n\n\n" + after


def _fix(text: str) -> str:
    return apply_fixes(text, plan_fixes(text, analyze_source(text)))


def _function(text: str):
    scope: dict = {}
    exec(compile(text, "<fixed>", "exec"), scope)
    return next(v for k, v in scope.items() if callable(v) and k != "np"
                and getattr(v, "__module__", None) is None)


@pytest.mark.parametrize("rule_id", sorted(FIXABLE))
def test_fix_gives_the_documented_after_code_and_is_idempotent(rule_id):
    before, after = _rule_examples(rule_id)
    fixed = _fix(before)
    assert fixed == after
    assert _fix(fixed) == fixed
    assert rule_id not in {d.rule for d in analyze_source(fixed)}


@pytest.mark.parametrize("rule_id", sorted(FIXABLE))
def test_fixed_code_computes_what_the_loop_did(rule_id):
    before, _ = _rule_examples(rule_id)
    plain, fixed = _function(before), _function(_fix(before))
    rng = np.random.default_rng(16)
    for n in (0, 1, 7, 1000):
        x, y = rng.standard_normal(n), rng.standard_normal(n + 3)
        args = {"OL101": (x, 1.5, -2.0, 0.25), "OL103": (x, 0.1),
                "OL106": (x, y)}[rule_id]
        expected, got = plain(*args), fixed(*args)
        assert type(got) in (type(expected), np.float64)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_fix_leaves_what_it_cannot_prove(tmp_path):
    text = textwrap.dedent("""\
        import numpy as np


        def f(x):
            s = 0.0
            for i in range(x.shape[0]):
                s += x[i]  # a comment the fix would lose
            return s


        def g(x):
            s = 0.0
            for i in range(x.shape[0]):
                s += x[i]
            else:
                s = -1.0
            return s
        """)
    assert _fix(text) == text  # a comment on the loop's last line; a for-else


def test_fix_in_place_and_diff(project, capsys):
    path = project / "pkg" / "loops.py"
    code, out, _ = run(capsys, "pkg", "--diff")
    assert code == 1 and path.read_text() == LOOPS  # --diff changes no file
    assert "-    for i in range(x.shape[0]):\n-        s += x[i] * 2\n" \
           "+    s += np.sum(x * 2)\n" in out
    code, out, _ = run(capsys, "pkg", "--fix")
    assert code == 0 and out == ""  # what is left: kept's loop, silenced by its noqa
    assert "s += np.sum(x * 2)" in path.read_text()
    assert "# noqa: OL103" in path.read_text()
    assert run(capsys, "pkg", "--diff")[1] == ""  # nothing more to do


def test_the_projects_examples_and_benchmarks_pass(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run(capsys, "examples", "benchmarks") == (
        0, "", run(capsys, "examples", "benchmarks")[2])


def test_pre_commit_hook_runs_the_check():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: optlevel-check" in text and "entry: optlevel check" in text


# -- [tool.optlevel]: below the environment, above the defaults --------------------------------

def test_the_settings_table_and_its_place_in_the_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.optlevel]\nmax-level = 2\nworkers = 3\nverify = "never"\n')
    monkeypatch.delenv("OPTLEVEL_WORKERS", raising=False)
    monkeypatch.delenv("OPTLEVEL_MAX_LEVEL", raising=False)
    monkeypatch.delenv("OPTLEVEL_VERIFY", raising=False)
    try:
        s = optlevel.reload_config()
        assert (s.max_level, s.workers, s.verify) == (2, 3, "never")
        monkeypatch.setenv("OPTLEVEL_WORKERS", "5")  # the environment wins over the file
        assert optlevel.reload_config().workers == 5
        assert optlevel.configure(workers=1).workers == 1  # and configure over both
    finally:
        optlevel.configure(workers=None)
        monkeypatch.chdir(ROOT)
        optlevel.reload_config()


def test_a_bad_value_in_the_table_warns_and_keeps_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTLEVEL_COMPILE", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.optlevel]\ncompile = "weird"\nbogus = 1\n')
    try:
        with pytest.warns(optlevel.OptlevelWarning) as caught:
            s = optlevel.reload_config()
        assert s.compile == "auto"
        text = " ".join(str(w.message) for w in caught)
        assert "compile = 'weird' ignored" in text and "unknown key 'bogus'" in text
    finally:
        monkeypatch.chdir(ROOT)
        optlevel.reload_config()


# -- notebooks and terminals -------------------------------------------------------------------

def _called():
    def scaled(x):
        return x * 2.0

    f = optlevel.optimize(scaled, level=0)
    f(np.ones(4))
    return f


def test_explain_and_stats_render_as_html_and_pretty_text():
    f = _called()
    report = optlevel.explain(f, np.ones(4))
    page = report._repr_html_()
    assert "<table>" in page and "<th>why</th>" in page and "&lt;" not in page[:20]
    assert page.count("<tr>") == len(report.rows) + 1
    stats = f.stats()
    assert "<th>calls</th>" in stats._repr_html_() and "<td" in stats._repr_html_()
    everything = optlevel.stats()
    assert isinstance(everything, dict) and "<table>" in everything._repr_html_()

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, s):
            self.out.append(s)

    p = Printer()
    report._repr_pretty_(p, False)
    assert p.out == [str(report)]


def test_report_draws_rich_tables_on_a_terminal_and_plain_text_when_piped(capsys):
    pytest.importorskip("rich")
    import io

    f = _called()

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    optlevel.explain(f, np.ones(4)).print(term)
    assert "┃" in term.getvalue() or "│" in term.getvalue()  # rich's box
    piped = io.StringIO()
    optlevel.explain(f, np.ones(4)).print(piped)
    assert piped.getvalue().strip() == str(optlevel.explain(f, np.ones(4))).strip()
    optlevel.report()
    assert "scaled" in capsys.readouterr().out


def _steps(bar):
    for name in "abc":
        bar.start(name)
        bar.note(f"  {name} measured")
        bar.done()


def test_progress_lines_carry_a_time_estimate_and_quiet_prints_nothing():
    import io

    from optlevel.cli._progress import Progress

    out = io.StringIO()
    with Progress(3, "bench", file=out) as bar:
        _steps(bar)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["[1/3] a", "  a measured"]
    assert re.fullmatch(r"\[2/3\] b \(about .+ left\)", lines[2]), lines
    quiet = io.StringIO()
    with Progress(3, "bench", file=quiet, quiet=True) as bar:
        _steps(bar)
    assert quiet.getvalue() == ""


def test_progress_draws_a_rich_bar_on_a_terminal():
    pytest.importorskip("rich")
    import io

    from optlevel.cli._progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    with Progress(3, "bench", file=out) as bar:
        _steps(bar)
        assert bar._rich is not None
    text = out.getvalue()
    assert "c measured" in text and "[1/3]" not in text


def test_a_project_file_with_no_optlevel_key_is_not_parsed(tmp_path):
    import os
    import subprocess
    import sys

    from optlevel.settings_file import read_project_file

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["optlevel>=0.1"]\n[tool.other]\nbad = \n')
    assert read_project_file(tmp_path).table == {}  # broken, but none of ours: no warning
    (tmp_path / "pyproject.toml").write_text("[tool]\noptlevel = { workers = 2 }\n")
    assert read_project_file(tmp_path).table == {"workers": 2}
    (tmp_path / "pyproject.toml").write_text('[tool.optlevel]\nworkers = 3\n')
    assert read_project_file(tmp_path).table == {"workers": 3}
    (tmp_path / "pyproject.toml").write_text('[tool.optlevel]\nworkers = \n')
    with pytest.warns(optlevel.OptlevelWarning, match="cannot read it"):
        assert read_project_file(tmp_path).table == {}
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["optlevel>=0.1"]\n')
    code = ("import sys, numpy as np, optlevel\n"
            "optlevel.optimize(lambda x: x + 1)(np.ones(3))\n"
            "print('tomllib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
