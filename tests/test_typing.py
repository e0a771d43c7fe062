"""A type checker sees a decorated function's parameters and return type.

mypy checks tests/typing/decorated.py: each ``reveal_type`` must show the type its
``# R:`` comment names, each line marked ``# E: code`` must be an error with that
code, and no other line may be one. Skipped when mypy is not installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed (pip install '.[test]')")

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "typing" / "decorated.py"
REPORT = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$")


def _expectations() -> tuple[dict[int, str], dict[int, set[str]]]:
    reveals: dict[int, str] = {}
    errors: dict[int, set[str]] = {}
    for number, line in enumerate(CASES.read_text().splitlines(), 1):
        if "# R: " in line:
            reveals[number] = line.split("# R: ", 1)[1].strip()
        if "# E: " in line:
            errors[number] = {c.strip() for c in line.split("# E: ", 1)[1].split(",")}
    return reveals, errors


@pytest.mark.slow
def test_mypy_sees_the_decorated_signature(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path),
         "--follow-imports=silent", "--show-error-codes", "--no-error-summary",
         "--config-file", str(ROOT / "pyproject.toml"), str(CASES)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    reveals, errors = _expectations()
    seen_reveals: dict[int, str] = {}
    seen_errors: dict[int, set[str]] = {}
    for line in proc.stdout.splitlines():
        m = REPORT.match(line)
        if not m or Path(m["file"]).name != CASES.name:
            continue
        number, text = int(m["line"]), m["text"]
        if m["kind"] == "note" and text.startswith("Revealed type is"):
            seen_reveals[number] = text.split('"')[1]
        elif m["kind"] == "error":
            code = re.search(r"\[([a-z-]+)\]$", text)
            seen_errors.setdefault(number, set()).add(code.group(1) if code else text)
    assert seen_reveals == reveals, proc.stdout
    for number, codes in errors.items():
        assert codes <= seen_errors.get(number, set()), (number, proc.stdout)
    unexpected = {n: c for n, c in seen_errors.items() if n not in errors}
    assert not unexpected, proc.stdout
