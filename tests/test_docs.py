"""The documentation names exactly the configuration the code reads.

``optlevel.config.ENV_VARS`` is the one list of ``OPTLEVEL_*`` variables. The
table in docs/configuration.md and the table in the config module's docstring
must list the same variables, in the same order, with the same defaults; and no
page may mention a variable the code does not read.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import optlevel.config as config
from optlevel.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIG_PAGE = DOCS / "configuration.md"

NAME_RE = re.compile(r"\bOPTLEVEL_[A-Z][A-Z0-9_]*")
LITERAL_RE = re.compile(r"``?([^`]+)``?")
#: Variables whose default depends on the platform, so a table may describe it in words.
PLATFORM_DEFAULTS = {"OPTLEVEL_CACHE_DIR"}


def _env_names() -> list[str]:
    return [var.env for var in config.ENV_VARS]


#: read outside the settings, at import (``optlevel/_fastpath.py``)
IMPORT_SWITCHES = {"OPTLEVEL_PURE_PYTHON"}


@pytest.fixture
def clean_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A home directory and no XDG_CACHE_HOME, so the default cache dir is predictable."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return tmp_path


def _check_default(name: str, cell: str) -> None:
    """The table's default parses (with the variable's own parser) to the code's default."""
    var = next(v for v in config.ENV_VARS if v.env == name)
    literal = LITERAL_RE.search(cell)
    if name in PLATFORM_DEFAULTS:
        if literal is None or not sys.platform.startswith("linux"):
            assert cell.strip(), f"{name}: no default given"
            return
    assert literal is not None, f"{name}: the default {cell!r} should be a `literal`"
    try:
        documented = var.parse(literal.group(1))
    except ConfigError as exc:
        raise AssertionError(f"{name}: the documented default is not valid: {exc}") from None
    assert documented == var.default(), (
        f"{name}: the table says the default is {literal.group(1)!r}, "
        f"the code's default is {var.default()!r}")


# -- docs/configuration.md ------------------------------------------------------------

def _markdown_table(text: str, header: list[str]) -> list[list[str]]:
    """The body rows of the first pipe table whose header cells are ``header``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip().lower() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells == header:
            rows = []
            for body in lines[i + 2:]:
                if not body.lstrip().startswith("|"):
                    break
                rows.append([c.strip() for c in body.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table with header {header} in {CONFIG_PAGE.name}")


def _config_page_rows() -> list[list[str]]:
    return _markdown_table(CONFIG_PAGE.read_text(encoding="utf-8"),
                           ["variable", "default", "meaning"])


def test_config_page_lists_exactly_env_vars():
    rows = _config_page_rows()
    names = [LITERAL_RE.search(row[0]).group(1) if LITERAL_RE.search(row[0]) else row[0]
             for row in rows]
    assert names == _env_names()
    assert all(len(row) == 3 and row[2] for row in rows), "every row needs a meaning"


def test_config_page_defaults_match_code(clean_home: Path):
    for row in _config_page_rows():
        name = LITERAL_RE.search(row[0]).group(1)
        _check_default(name, row[1])


def test_every_mentioned_variable_exists():
    known = set(_env_names()) | IMPORT_SWITCHES
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md")), *sorted(
        (ROOT / "examples").glob("*.py"))]
    unknown = {}
    for page in pages:
        found = set(NAME_RE.findall(page.read_text(encoding="utf-8"))) - known
        if found:
            unknown[str(page.relative_to(ROOT))] = sorted(found)
    assert not unknown, f"variables the code does not read: {unknown}"


# -- the config module's docstring ----------------------------------------------------

def _docstring_rows() -> list[tuple[str, str]]:
    """(variable, default) of the reStructuredText simple table in the docstring."""
    lines = (config.__doc__ or "").splitlines()
    rules = [i for i, line in enumerate(lines) if re.fullmatch(r"=+(\s+=+)+", line.strip())]
    assert len(rules) == 3, "expected one simple table: top rule, header rule, bottom rule"
    spans = [m.span() for m in re.finditer(r"=+", lines[rules[0]])]
    rows: list[tuple[str, str]] = []
    for line in lines[rules[1] + 1:rules[2]]:
        first = line[spans[0][0]:spans[0][1]].strip()
        default = line[spans[1][0]:spans[1][1]].strip()
        if first:
            rows.append((first, default))
        elif default:  # a default that wraps onto the next line
            rows[-1] = (rows[-1][0], f"{rows[-1][1]} {default}")
    return rows


def test_docstring_table_lists_exactly_env_vars():
    names = [LITERAL_RE.search(name).group(1) for name, _ in _docstring_rows()]
    assert names == _env_names()


def test_docstring_table_defaults_match_code(clean_home: Path):
    for name, default in _docstring_rows():
        _check_default(LITERAL_RE.search(name).group(1), default)


# -- the README and the site ----------------------------------------------------------

def test_readme_opens_with_the_two_commands():
    lines = [ln for ln in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
             if ln.strip()]
    assert lines[0].startswith("# ")
    fence = lines.index("```sh")
    assert fence <= 2, "the commands come right after the title and one sentence"
    assert lines[fence + 1:fence + 4] == [
        "pip install . && optlevel demo",
        'pip install -e ".[test]" && python -m pytest',
        "```",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == lines[fence + 2], "CI runs exactly the README's test command"


def test_mkdocs_build_strict(tmp_path: Path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings", reason="docs/api.md needs mkdocstrings: "
                        "pip install '.[docs]'")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_config_page_lists_every_decorator_option():
    from optlevel.core.registry import known_options

    text = CONFIG_PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Decorator options"):]
    section = section[:section.index("\n## ", 5)]
    rows = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert rows == ["level", "strict", "verify", *sorted(known_options())]
