"""The backend registry: backends load by name when first needed, and a backend in
another package joins through the ``optlevel.backends`` entry point alone."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from optlevel.core.registry import BACKENDS, BUILTIN

PLUGINS = pathlib.Path(__file__).resolve().parent / "plugins"


def _run(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(PLUGINS), str(PLUGINS.parent.parent), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_name_loads_only_its_backend():
    found = _run(
        "import json, sys, optlevel\n"
        "from optlevel.core.registry import BACKENDS\n"
        "before = BACKENDS.loaded()\n"
        "BACKENDS['python']\n"
        "print(json.dumps({'before': before, 'after': BACKENDS.loaded(),\n"
        "  'levels': sorted(m for m in sys.modules if m.startswith('optlevel.levels.'))}))")
    assert found["before"] == []
    assert found["after"] == ["python"]
    assert found["levels"] == ["optlevel.levels.python", "optlevel.levels.python.backend"]


def test_every_builtin_backend_is_listed_once_in_order():
    assert list(BUILTIN) == [n for n in BACKENDS if n in BUILTIN]
    assert all(BACKENDS[name].name == name for name in BUILTIN)


def test_a_third_party_backend_joins_through_its_entry_point():
    found = _run(
        "import json, numpy as np, optlevel\n"
        "from optlevel_tally import backend as tally\n"
        "@optlevel.optimize(level=1, strict=True)\n"
        "def total(x):\n"
        "    return float(np.sum(x))\n"
        "@optlevel.optimize(level=1)\n"
        "def untallied_total(x):\n"
        "    return float(np.sum(x))\n"
        "x = np.arange(10.0)\n"
        "r = [total(x), total(x), untallied_total(x)]\n"
        "row = optlevel.explain(untallied_total, x).row('tally')\n"
        "print(json.dumps({'results': r, 'calls': next(tally.CALLS),\n"
        "  'backends': [s.backend for s in total.stats().signatures],\n"
        "  'declined': [row.tried, row.reason, row.code]}))")
    assert found["results"] == [45.0, 45.0, 45.0]
    assert found["calls"] == 2  # two tallied calls ran through the plugin's callable
    assert set(found["backends"]) == {"tally"}
    assert found["declined"] == [False, "the function asked not to be tallied", "PL007"]


def test_an_unloadable_plugin_is_skipped_with_a_warning_in_the_log(tmp_path):
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[optlevel.backends]\nbroken = no_such_module.anywhere:Backend\n")
    code = ("import json, logging, numpy as np, optlevel\n"
            "logging.basicConfig(level=logging.WARNING)\n"
            "from optlevel.core.registry import BACKENDS\n"
            "print(json.dumps({'names': sorted(BACKENDS),\n"
            "  'result': optlevel.optimize(lambda x: x + 1)(np.ones(3)).tolist()}))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), str(PLUGINS.parent.parent)]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert "broken" not in found["names"] and set(BUILTIN) <= set(found["names"])
    assert found["result"] == [2.0, 2.0, 2.0]
    assert "backend 'broken'" in out.stderr and "could not be loaded" in out.stderr


@pytest.mark.parametrize("name", ["python", "numba"])
def test_register_backend_replaces_by_name(monkeypatch, name):
    original = BACKENDS[name]
    monkeypatch.setitem(BACKENDS, name, original)
    assert BACKENDS[name] is original


def test_the_entry_point_search_reads_metadata_only_where_a_file_names_the_group(
        tmp_path, monkeypatch):
    from optlevel.core.registry import ENTRY_POINT_GROUP, _may_declare

    info = tmp_path / "some_plugin-0.1.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[console_scripts]\nsome = some.cli:main\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "missing")])
    assert not _may_declare(ENTRY_POINT_GROUP)  # no file names the group
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nx = some.b:B\n")
    assert _may_declare(ENTRY_POINT_GROUP)
    archive = tmp_path / "eggs.zip"
    archive.write_bytes(b"")
    (info / "entry_points.txt").unlink()
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(archive)])
    assert _may_declare(ENTRY_POINT_GROUP)  # a zip on the path: metadata decides
