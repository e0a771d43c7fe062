"""The Numba disk cache heals itself, and OPTLEVEL_CACHE_DIR must be usable.

Each case runs real processes: the first compiles and caches, the files are
damaged, the next must warn once naming the file, run at level 2 and give the
right answer; the one after loads from the healed cache without a warning.
"""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import optlevel
from optlevel import OptlevelWarning, optimize
from optlevel.config import default_cache_dir

KERNEL = '''
import os
from optlevel import optimize

SCALE = float(os.environ.get("KERNEL_SCALE", "1"))


@optimize(level=2, strict=True)
def sum_of_squares(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * x[i] * SCALE
    return t
'''

RUN = '''
import json, sys, warnings
import numpy as np
sys.path.insert(0, {folder!r})
import optlevel
import kernels

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", optlevel.OptlevelWarning)
    result = kernels.sum_of_squares(np.arange(5.0))
f = kernels.sum_of_squares
[plan] = f._dispatcher.plans.values()
disp = getattr(plan.prepared.fn, "__wrapped__", plan.prepared.fn)  # the Numba dispatcher
print(json.dumps({{"result": float(result), "levels": f.stats().levels,
                  "warnings": [str(w.message) for w in caught
                               if issubclass(w.category, optlevel.OptlevelWarning)],
                  "hits": sum(disp.stats.cache_hits.values()),
                  "misses": sum(disp.stats.cache_misses.values())}}))
'''

def _garbage_index(path: Path) -> None:
    path.write_bytes(b"not a pickle at all\n")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _flip_bytes(path: Path) -> None:
    # Still a whole file of the right length: only a checksum can tell. Loaded
    # unchecked, damaged object code can abort the process inside LLVM.
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.fixture
def kernels(tmp_path, run_python):
    (tmp_path / "kernels.py").write_text(textwrap.dedent(KERNEL))
    cache = tmp_path / "cache"

    def run(**env):
        return run_python(RUN.format(folder=str(tmp_path)), OPTLEVEL_CACHE_DIR=str(cache),
                          **env)

    return cache, run


@pytest.mark.slow  # three fresh processes that compile
@pytest.mark.numba
@pytest.mark.parametrize("suffix, damage", [(".nbi", _garbage_index), (".nbi", _truncate),
                                            (".nbc", _truncate), (".nbc", _flip_bytes)],
                         ids=["index-garbage", "index-truncated", "data-truncated",
                              "data-damaged"])
def test_a_damaged_cache_file_is_removed_and_rebuilt(kernels, suffix, damage):
    cache, run = kernels
    first = run()
    assert (first["result"], first["misses"], first["warnings"]) == (30.0, 1, [])
    [bad] = (cache / "numba").rglob(f"*{suffix}")
    damage(bad)

    second = run()
    assert second["result"] == 30.0 and second["levels"] == {"2": 1}
    [message] = second["warnings"]
    assert str(bad) in message and "could not be read" in message
    assert "compiles the function again" in message

    third = run()
    assert third == {**third, "result": 30.0, "warnings": [], "hits": 1, "misses": 0}


@pytest.mark.slow  # fresh processes that compile
@pytest.mark.numba
def test_a_global_read_at_compile_time_is_part_of_the_cache_key(kernels):
    """Numba's own key ignores globals: a new process would load code built for the old
    value. optlevel's key includes the values its code froze (catalogue SEM012)."""
    _, run = kernels
    assert run(KERNEL_SCALE="1")["misses"] == 1
    changed = run(KERNEL_SCALE="3")
    assert (changed["result"], changed["hits"], changed["misses"]) == (90.0, 0, 1)
    again = run(KERNEL_SCALE="1")
    assert (again["result"], again["hits"]) == (30.0, 1)


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_cache_dir_warns_and_keeps_the_default(monkeypatch, value):
    monkeypatch.setenv("OPTLEVEL_CACHE_DIR", value)
    with pytest.warns(OptlevelWarning, match="OPTLEVEL_CACHE_DIR.*empty"):
        found = optlevel.reload_config().cache_dir
    assert found == default_cache_dir()


def test_a_file_as_cache_dir_warns_and_keeps_the_default(monkeypatch, tmp_path):
    plain_file = tmp_path / "a-file"
    plain_file.write_text("x")
    for value in (plain_file, plain_file / "below"):
        monkeypatch.setenv("OPTLEVEL_CACHE_DIR", str(value))
        with pytest.warns(OptlevelWarning, match="is not a directory"):
            assert optlevel.reload_config().cache_dir == default_cache_dir()
    with pytest.raises(optlevel.ConfigError, match="empty"):
        optlevel.configure(cache_dir="")


def sum_of_cubes(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * x[i] * x[i]
    return t


@pytest.mark.numba
def test_unwritable_cache_dir_at_run_time_warns_once_and_compiles(tmp_path):
    cache = tmp_path / "cache"
    optlevel.configure(cache_dir=cache)  # fine when read...
    cache.write_text("now a file: nothing can be created below it")  # ...not when used
    f = optimize(sum_of_cubes, level=2, strict=True)
    x = np.arange(4.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OptlevelWarning)
        assert f(x) == sum_of_cubes(x) == 36.0
        assert f(x[:3]) == 9.0
    messages = [str(w.message) for w in caught if issubclass(w.category, OptlevelWarning)]
    assert len(messages) == 1, messages
    assert "cannot be written" in messages[0]
    assert str(cache) in messages[0]
    assert f.stats().levels == {2: 2}
