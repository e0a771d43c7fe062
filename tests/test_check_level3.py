"""``optlevel check``'s level-3 rules (OL301–OL303): independent loops written so that
no iteration-split proof holds. The documented before is found, the after is not and
is proven, both compute the same; loops that are not independent are not reported."""

import ast
import re
from pathlib import Path

import pytest

from optlevel.analysis import analyze
from optlevel.cli.check import check_text

ROOT = Path(__file__).resolve().parents[1]
RULES = ("OL301", "OL302", "OL303")


def _examples(rule_id):
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    body = re.split(r"^## (OL\d{3})\b.*$", text, flags=re.MULTILINE)
    section = dict(zip(body[1::2], body[2::2]))[rule_id]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[:2]


def _function(source, filename):
    scope: dict = {}
    exec(compile(source, filename, "exec"), scope)
    return next(v for k, v in scope.items() if callable(v) and not k.startswith("__"))


@pytest.mark.parametrize("rule_id", RULES)
def test_before_is_found_after_is_proven_and_both_agree(rule_id, tmp_path):
    before, after = _examples(rule_id)
    found = check_text(before, select=("OL3",))
    assert [d.rule for d in found] == [rule_id], found
    assert check_text(after, select=("OL3",)) == []
    # the suggestion is the documented loop, and the proof holds on it
    loop = next(n for n in ast.parse(after).body[0].body if isinstance(n, ast.For))
    assert found[0].suggestion == ast.unparse(loop)
    files = []
    for name, source in (("before", before), ("after", after)):
        path = tmp_path / f"{rule_id}_{name}.py"
        path.write_text(source)
        files.append(_function(source, str(path)))
    plain, rewritten = files
    analysis = analyze(rewritten).split
    assert analysis.iterations is not None, analysis.iteration_reason
    assert analyze(plain).split.iterations is None
    args = {"OL301": (["a b", "", "c d e"],), "OL302": ([1.0, 2.0, 3.5], [2.0, 0.5, 4.0]),
            "OL303": ([1.0, 2.5, -3.0],)}[rule_id]
    assert plain(*args) == rewritten(*args)


NOT_INDEPENDENT = '''
def prefix(x):
    out = [0] * (len(x) + 1)
    for i in range(len(x)):
        out[i + 1] = out[i] + x[i]
    return out


def counter_read_after(docs):
    out = [0] * len(docs)
    k = 0
    for doc in docs:
        out[k] = len(doc)
        k += 1
    return out, k


def bumped_first(docs):
    out = [0] * (len(docs) + 1)
    k = 0
    for doc in docs:
        k += 1
        out[k] = len(doc)
    return out


def growing_bound(xs):
    out = []
    i = 0
    while i < len(out) + 3:
        out.append(xs[i])
        i += 1
    return out


def leaves_early(a):
    out = [0] * len(a)
    i = 0
    while i < len(a):
        if a[i] < 0:
            break
        out[i] = a[i]
        i += 1
    return out


def already_proven(x):
    out = [0] * len(x)
    for i in range(len(x)):
        out[i] = x[i] * 2
    return out
'''


def test_loops_that_are_not_independent_or_already_proven_are_not_reported():
    assert check_text(NOT_INDEPENDENT, select=("OL3",)) == []


def test_select_and_ignore_take_the_level_3_rules():
    before = _examples("OL301")[0]
    assert check_text(before, select=("OL1",)) == []
    assert check_text(before, ignore=("OL3",)) == []
    assert [d.rule for d in check_text(before, select=("OL3",))] == ["OL301"]
