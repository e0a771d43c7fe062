"""Shared fixtures: a clean optlevel per test, a fake level-2 backend, subprocess runs.

Set ``OPTLEVEL_TEST_NONUMBA=1`` to run the suite as if Numba were not installed
(the tox env ``nonumba`` uninstalls it instead); tests marked ``numba`` then skip.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

if os.environ.get("OPTLEVEL_TEST_NONUMBA", "") not in ("", "0"):
    sys.modules["numba"] = None  # type: ignore[assignment]  # blocks `import numba`

import optlevel  # noqa: E402
from optlevel.config import ENV_VARS, Settings, settings  # noqa: E402
from optlevel.contract import YES, BackendBase, Decline, Estimate, Prepared
from optlevel.core.calibrate import profile_for
from optlevel.core.corrections import KEY
from optlevel.core.registry import BACKENDS, requirement_missing
from optlevel.levels.numba import result_type

HAS_NUMBA = requirement_missing(BACKENDS["numba"]) is None
ROOT = Path(optlevel.__file__).resolve().parent.parent
_FIELDS = [f.name for f in dataclasses.fields(Settings) if f.init]


def pytest_configure(config):
    config.addinivalue_line("markers", "numba: needs Numba installed (skipped without it)")


def pytest_collection_modifyitems(config, items):
    if HAS_NUMBA:
        return
    skip = pytest.mark.skip(reason="numba is not installed")
    for item in items:
        if "numba" in item.keywords:
            item.add_marker(skip)


def _reset():
    optlevel.configure(**{name: None for name in _FIELDS})
    optlevel.reload_config()
    # through the runtime's owner: the warnings issued and the compile times measured
    # (probes, profiles and compiled code stay: they are the machine's, not the test's)
    optlevel.reset("errors.", "core.compile_times")
    # the corrections a test's trials taught the planner are that test's (fake
    # backends, loaded machines): the profile's other measurements stay
    profile = profile_for(settings())
    if KEY in profile:
        profile.forget(KEY)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    # One per session, so Numba reuses what earlier tests compiled.
    return tmp_path_factory.mktemp("optlevel-cache")


@pytest.fixture(autouse=True)
def fresh_optlevel(monkeypatch, cache_dir):
    """Every test starts from the defaults, its own warnings, its own plan store (the
    winners earlier tests measured are not this test's), and the real backends."""
    for var in ENV_VARS:
        monkeypatch.delenv(var.env, raising=False)
    monkeypatch.setenv("OPTLEVEL_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr("optlevel.core.store.SUBDIR", f"plans-{uuid.uuid4().hex}")
    backends = dict(BACKENDS)
    _reset()
    yield
    monkeypatch.undo()  # the test's env changes too, before the config is read again
    _reset()
    assert BACKENDS == backends, "a test left the backend registry changed"


def _ran_at(f, *args, **kwargs):
    """Call ``f`` and return the level the call ran at, read from ``f.stats()``."""
    before = f.stats().levels
    f(*args, **kwargs)
    after = f.stats().levels
    changed = [lvl for lvl, n in after.items() if n != before.get(lvl, 0)]
    assert len(changed) == 1, (before, after)
    return changed[0]


@pytest.fixture
def ran_at():
    """``ran_at(f, *args, **kwargs)``: call ``f``, return the level that call ran at."""
    return _ran_at


class FakeBackend(BackendBase):
    """A backend for tests (level 2 by default): runs ``make(func)`` (the plain function
    by default), or declines, and counts how often it was prepared. Its predicted cost
    is ``cost`` seconds (0: cheaper than any other, so it is tried first)."""

    def __init__(self, name="fake", *, level=2, decline=None, make=None, internal_errors=(),
                 cost=0.0, applies=YES):
        self.name = name
        self.level = level
        self.decline = decline
        self.make = make
        self.internal_errors = internal_errors
        self.cost = cost
        self.verdict = applies
        self.prepared = 0

    def applies(self, features, signature, settings, profile):
        return self.verdict

    def estimate(self, features, signature, settings, profile):
        if self.name == "numba":  # standing in for Numba: keep its pay rule (trials)
            from optlevel.levels.numba import NumbaBackend
            return NumbaBackend().estimate(features, signature, settings, profile)
        return Estimate("yes", f"fake backend {self.name}", self.cost)

    def prepare(self, func, features, signature, settings, args=(), kwargs=None):
        self.prepared += 1
        if self.decline:
            raise Decline(self.decline)
        fn = self.make(func) if self.make else func
        # a compiling stand-in gives the scalar type level 2 proves, as Numba's backend does
        proven = result_type(func, features, signature) if self.compiles else None
        return Prepared(fn, internal_errors=self.internal_errors, result_type=proven)


@pytest.fixture
def fake_backend(monkeypatch):
    """``fake_backend(**options)`` registers a FakeBackend; undone after the test. With
    ``shadow=True`` (the default) the other backends of its level leave the registry for
    the test, so the fake alone serves its level; with ``shadow=False`` it joins them and
    is tried first (its known cost of 0 s sorts before unknown costs)."""

    def register(shadow=True, **options):
        backend = FakeBackend(**options)
        if shadow:
            for name, other in list(BACKENDS.items()):
                if other.level == backend.level and name != backend.name:
                    monkeypatch.delitem(BACKENDS, name)
        monkeypatch.setitem(BACKENDS, backend.name, backend)
        return backend

    return register


@pytest.fixture
def run_python(tmp_path):
    """Run a snippet in a fresh interpreter that imports this optlevel; return the JSON
    it prints on its last line."""

    def run(code, **env):
        full_env = {**os.environ, **env,
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return run
