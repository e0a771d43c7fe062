"""``optlevel check``: a linter over files and folders that never imports them; its
output format, JSON, --select/--ignore, exit codes; every rule documented with a
before/after example; no finding in a corpus of already-vectorized code."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optlevel.cli import main
from optlevel.levels.vectorize.analysis import RULES, analyze_source

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "corpus").glob("vectorized_*.py"))
LINE = re.compile(r"^(?P<file>.+\.py):(?P<line>\d+):(?P<col>\d+): (?P<rule>OL\d{3}) "
                  r"(?P<message>.+) → (?P<suggestion>.+)$")

SUM = """\
import numpy as np

def total(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * 2
    return s
"""
NORMALIZE = """\
import numpy as np
raise RuntimeError("optlevel check must not import this file")

def normalize(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = (x[i] - x.mean()) / x.std()
    return out
"""
CLEAN = """\
import numpy as np

def total(x):
    return np.sum(x * 2)
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(SUM)
    (tmp_path / "pkg" / "sub").mkdir()
    (tmp_path / "pkg" / "sub" / "b.py").write_text(NORMALIZE)
    (tmp_path / "pkg" / "clean.py").write_text(CLEAN)
    (tmp_path / "pkg" / ".venv").mkdir()
    (tmp_path / "pkg" / ".venv" / "skipped.py").write_text(SUM)
    (tmp_path / "pkg" / "notes.txt").write_text(SUM)
    return tmp_path / "pkg"


def run(capsys, *args):
    status = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_one_line_per_finding_and_exit_1(project, capsys):
    status, out, err = run(capsys, project)
    assert status == 1
    lines = out.splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    found = [(Path(m["file"]).name, int(m["line"]), int(m["col"]), m["rule"]) for m in parsed]
    assert found == [("a.py", 5, 5, "OL103"), ("b.py", 6, 5, "OL101"),
                     ("b.py", 7, 26, "OL104"), ("b.py", 7, 38, "OL104")]
    assert parsed[0]["suggestion"] == "s += np.sum(x * 2)"
    assert parsed[1]["suggestion"] == "out[:] = (x - x.mean()) / x.std()"
    assert "4 finding(s) in 2 of 3 file(s)" in err


def test_json(project, capsys):
    status, out, _ = run(capsys, project, "--format", "json")
    assert status == 1
    data = json.loads(out)
    assert [d["rule"] for d in data] == ["OL103", "OL101", "OL104", "OL104"]
    first = data[0]
    assert set(first) == {"file", "line", "col", "rule", "pattern", "message", "suggestion",
                          "rewrite"}
    assert (first["line"], first["col"], first["pattern"], first["rewrite"]) == (
        5, 5, "reduction", True)


@pytest.mark.parametrize("args, rules", [
    (["--select", "OL104"], ["OL104", "OL104"]),
    (["--select", "OL1"], ["OL103", "OL101", "OL104", "OL104"]),
    (["--select", "ol101,OL103"], ["OL103", "OL101"]),
    (["--ignore", "OL104"], ["OL103", "OL101"]),
    (["--select", "OL1", "--ignore", "OL10"], []),
    (["--select", "OL2"], []),
])
def test_select_and_ignore(project, capsys, args, rules):
    status, out, _ = run(capsys, project, "--format", "json", *args)
    assert [d["rule"] for d in json.loads(out)] == rules
    assert status == (1 if rules else 0)


def test_a_clean_file_exits_0(project, capsys):
    status, out, err = run(capsys, project / "clean.py")
    assert (status, out) == (0, "")
    assert "0 finding(s)" in err


@pytest.mark.parametrize("args, message", [
    (["no/such/path"], "no such file or folder"),
    (["--select", "XY1", "."], "no rule id starts with 'XY1'"),
    (["--ignore", "OL9", "."], "no rule id starts with 'OL9'"),
])
def test_usage_errors_exit_2(capsys, args, message):
    status, _, err = run(capsys, *args)
    assert status == 2 and message in err


def test_a_file_that_does_not_parse_exits_2(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "good.py").write_text(SUM)
    status, out, err = run(capsys, tmp_path)
    assert status == 2
    assert "broken.py: cannot check it: SyntaxError" in err
    assert "OL103" in out  # the other files are still checked


def test_argparse_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_the_command_line_entry_point(project):
    proc = subprocess.run([sys.executable, "-m", "optlevel", "check", str(project),
                           "--select", "OL103"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.strip().endswith("→ s += np.sum(x * 2)")


# -- the documentation: every rule, with a before and an after ------------------------------

def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (OL\d{3})\b.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_rule_is_documented_with_before_and_after():
    sections = _sections((ROOT / "docs" / "rules.md").read_text(encoding="utf-8"))
    assert list(sections) == list(RULES)
    for rule_id, body in sections.items():
        assert "Before:" in body and "After:" in body, rule_id
        blocks = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)
        assert len(blocks) >= 2, rule_id
        for block in blocks:
            ast.parse(block)  # the examples are valid Python


def test_the_documented_before_examples_are_found():
    sections = _sections((ROOT / "docs" / "rules.md").read_text(encoding="utf-8"))
    for rule_id in ("OL101", "OL102", "OL103", "OL104", "OL105", "OL106", "OL201",
                    "OL202"):
        before = re.findall(r"```python\n(.*?)```", sections[rule_id], flags=re.DOTALL)[0]
        found = {d.rule for d in analyze_source("import numpy as np\n" + before)}
        assert rule_id in found, (rule_id, found)
        after = re.findall(r"```python\n(.*?)```", sections[rule_id], flags=re.DOTALL)[1]
        assert rule_id not in {d.rule for d in analyze_source("import numpy as np\n" + after)}


# -- no false positives ------------------------------------------------------------------------

def test_the_corpus_has_at_least_30_functions():
    functions = [node for path in CORPUS for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.FunctionDef)]
    assert len(CORPUS) >= 4 and len(functions) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_no_finding_in_vectorized_code(path):
    assert analyze_source(path.read_text(), str(path)) == []


def test_check_over_the_corpus_exits_0(capsys):
    status, out, _ = run(capsys, ROOT / "tests" / "corpus")
    assert (status, out) == (0, "")


def test_suggestions_in_a_file_with_its_own_numpy_alias(tmp_path, capsys):
    (tmp_path / "alias.py").write_text(textwrap.dedent("""\
        import numpy as xp

        def f(x):
            s = 0.0
            for i in range(len(x)):
                s = 0.5 * s + xp.exp(x[i])
            return s
        """))
    status, out, _ = run(capsys, tmp_path)
    assert status == 1 and "OL105" in out and "exp_x = xp.exp(x)" in out
