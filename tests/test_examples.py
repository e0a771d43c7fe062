"""Every script in examples/ runs to completion (exit code 0) in a fresh process.

Each example asserts its own result against the plain function (``f.py_func``),
so a zero exit code means the example still shows what it claims. They run with
an empty ``OPTLEVEL_CACHE_DIR``, so each one compiles for real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_examples_exist():
    assert EXAMPLES, "examples/ has no scripts"


@pytest.fixture(scope="module")
def examples_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("optlevel-cache")


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script: Path, examples_cache: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTLEVEL_")}
    env["OPTLEVEL_CACHE_DIR"] = str(examples_cache / script.stem)
    # The working tree's optlevel, as `PYTHONPATH=. python3 examples/NAME.py` would use.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"{script.name} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}")
    assert proc.stdout.strip(), f"{script.name} printed nothing"
