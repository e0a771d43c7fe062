"""``optlevel check``'s output formats: text, json, github and sarif.

- ``text``: ``path:line:col: OL103 message → suggestion``, one line per finding;
- ``json``: a list of objects (file, line, col, rule, pattern, message, suggestion,
  rewrite);
- ``github``: GitHub Actions workflow commands (``::warning file=…``), which the
  Actions runner shows as annotations on the pull request's diff;
- ``sarif``: SARIF 2.1.0, the format code-scanning services (GitHub code scanning,
  most IDEs) read; one run, the rules in ``tool.driver.rules``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..levels.vectorize.analysis import RULES, Diagnostic

__all__ = ["FORMATS", "render"]

Finding = tuple[str, Diagnostic]


def _text(findings: list[Finding]) -> str:
    return "\n".join(f"{f}:{d.line}:{d.col + 1}: {d.one_line()}" for f, d in findings)


def as_dict(file: str, d: Diagnostic) -> dict[str, Any]:
    """One finding as JSON."""
    return {"file": file, "line": d.line, "col": d.col + 1, "rule": d.rule,
            "pattern": d.pattern, "message": d.message, "suggestion": d.suggestion,
            "rewrite": d.rewrite}


def _json(findings: list[Finding]) -> str:
    return json.dumps([as_dict(f, d) for f, d in findings], indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(findings: list[Finding]) -> str:
    lines = []
    for file, d in findings:
        props = (f"file={_escape_property(Path(file).as_posix())},line={d.line},"
                 f"col={d.col + 1},title={_escape_property(d.rule + ' ' + d.pattern)}")
        lines.append(f"::warning {props}::{_escape_data(d.one_line())}")
    return "\n".join(lines)


def _sarif(findings: list[Finding]) -> str:
    rules = [{"id": r.id, "name": r.name, "shortDescription": {"text": r.title},
              "fullDescription": {"text": r.summary}}
             for r in RULES.values()]
    index = {r.id: i for i, r in enumerate(RULES.values())}
    results = [{
        "ruleId": d.rule, "ruleIndex": index[d.rule], "level": "warning",
        "message": {"text": d.one_line()},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": Path(file).as_posix()},
            "region": {"startLine": d.line, "startColumn": d.col + 1}}}],
    } for file, d in findings]
    log = {"version": "2.1.0",
           "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
           "runs": [{"tool": {"driver": {"name": "optlevel", "version": __version__,
                                         "rules": rules}},
                     "results": results}]}
    return json.dumps(log, indent=2)


#: output format → renderer of the findings
FORMATS: dict[str, Callable[[list[Finding]], str]] = {
    "text": _text, "json": _json, "github": _github, "sarif": _sarif}


def render(findings: list[Finding], fmt: str) -> str:
    """The findings in ``fmt`` (a key of :data:`FORMATS`)."""
    return FORMATS[fmt](findings)
