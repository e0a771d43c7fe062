"""Ahead-of-time warm-up: ``f.precompile``, ``optlevel precompile`` and ``record``.

The promise checked end to end: after ``optlevel precompile`` (or replaying what
``optlevel record`` wrote), a fresh process's first call of the function compiles
nothing (Numba's disk cache is loaded); without it, the first call compiles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import optlevel
from optlevel.analysis import describe_args
from optlevel.precompile import example_args, parse_signature, signature_text

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parent.parent

MODULE = textwrap.dedent("""\
    import sys

    import numpy as np

    import optlevel


    @optlevel.optimize(level=2)
    def accumulate(x, t):
        total = 0.0
        for i in range(x.shape[0]):  # noqa: OL103 - the loop is compiled
            if x[i] > t:
                total += x[i] ** 2
            else:
                total -= x[i]
        return total


    if __name__ == "__main__":
        print(accumulate(np.ones(int(sys.argv[1])), 0.5))
    """)

FIRST_CALL = textwrap.dedent("""\
    import json
    import numpy as np
    from numba.core import event
    import work
    with event.install_recorder("numba:compile") as rec:
        value = work.accumulate(np.ones(1000), 0.5)
    print(json.dumps({"compiles": len(rec.buffer), "value": value}))
    """)


def test_signature_text_round_trip():
    assert parse_signature("float64[:, :], int64, float32[::1, :], bool") == [
        ("float64", 2, "C"), ("int64", 0, ""), ("float32", 2, "F"), ("bool", 0, "")]
    args = example_args("float64[:], float, float32[::1, :]", size=100)
    assert args[0].shape == (100,) and args[0].dtype == np.float64
    assert isinstance(args[1], float)
    assert args[2].shape == (10, 10) and args[2].flags.f_contiguous
    assert signature_text(describe_args(args).args) == "float64[:], float64, float32[::1, :]"
    assert signature_text(describe_args(([1, 2],)).args) is None  # a list: not replayable
    for bad in ("float64[:", "nosuchtype", "float64[1:2]"):
        with pytest.raises(ValueError):
            parse_signature(bad)


# level 1's advice on the loop, issued while the planner ranks the backends
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_precompile_builds_without_running_the_function():
    def scale(x, out):
        for i in range(x.shape[0]):  # noqa: OL101 - the loop is compiled
            out[i] = x[i] * 2.0
        return out

    f = optlevel.optimize(scale, level=2)
    x, out = np.ones(50), np.zeros(50)
    built = f.precompile(x, out)
    assert [(c.backend, c.declined) for c in built] == [("numba", "")]
    assert not out.any()  # the function did not run
    np.testing.assert_array_equal(f(x, out), scale(x, np.zeros(50)))
    assert f.stats().levels == {2: 1}


def _run(args, cwd, cache, check=True):
    env = {**os.environ, "OPTLEVEL_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(cwd)])}
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0 or not check, proc.stderr
    return proc


@pytest.mark.slow
def test_record_precompile_then_a_fresh_process_compiles_nothing(tmp_path):
    (tmp_path / "work.py").write_text(MODULE)
    (tmp_path / "first.py").write_text(FIRST_CALL)
    cold = _run(["first.py"], tmp_path, tmp_path / "cold-cache")
    assert json.loads(cold.stdout)["compiles"] >= 1  # without precompile: it compiles

    recorder = tmp_path / "record-cache"  # the recording run's cache is thrown away
    _run(["-m", "optlevel", "record", "-o", "manifest.json", "work.py", "100"], tmp_path,
         recorder)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["functions"] == [{"target": f"{(tmp_path / 'work.py').resolve()}:"
                                                "accumulate",
                                      "signatures": ["float64[:], float64"]}]
    cache = tmp_path / "cache"
    replay = _run(["-m", "optlevel", "precompile", "manifest.json", "--output-format",
                   "json"], tmp_path, cache)
    [row] = json.loads(replay.stdout)
    assert (row["backend"], row["declined"]) == ("numba", "")
    warm = json.loads(_run(["first.py"], tmp_path, cache).stdout)
    assert warm == {"compiles": 0, "value": json.loads(cold.stdout)["value"]}


def test_precompile_usage_errors(tmp_path, capsys):
    from optlevel.cli import main

    (tmp_path / "plain.py").write_text("def f(x):\n    return x\n")
    assert main(["precompile", f"{tmp_path / 'plain.py'}:f", "--signature", "int64"]) == 2
    assert "not decorated with @optimize" in capsys.readouterr().err
    assert main(["precompile", "os:path"]) == 2
    assert "give --signature" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{}")
    assert main(["precompile", str(tmp_path / "bad.json")]) == 2
    assert "not an optlevel manifest" in capsys.readouterr().err
