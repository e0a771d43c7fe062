"""Level 3's prange code is built over level 2's compiled helpers: a global a helper
reads is compiled into it. Rebinding that global must give plain Python's value, in
this process (the parallel code then hands the call to level 2's, which rebuilds) and
in the next (Numba's disk cache keys the code on it)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import optlevel

pytestmark = pytest.mark.numba

MODULE = '''
K = 2.0


def scale(v):
    return v * K


def total(x, out):
    for i in range(x.shape[0]):
        out[i] = scale(x[i])
    return out
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    (tmp_path / "prange_helper_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import prange_helper_mod

    yield prange_helper_mod
    sys.modules.pop("prange_helper_mod", None)


def test_a_helpers_global_rebound_reaches_the_parallel_code(module):
    f = optlevel.optimize(module.total, level=3, strict=True)
    x = np.ones(200_000)
    for k in (2.0, 3.0, 0.5, 3.0):
        module.K = k
        np.testing.assert_array_equal(f(x, np.empty_like(x)), module.total(x, np.empty_like(x)))
    assert set(f.stats().levels) == {3}


def test_the_next_process_does_not_load_code_built_for_the_old_value(module, tmp_path):
    script = textwrap.dedent(f'''
        import sys, warnings
        import numpy as np, optlevel
        sys.path.insert(0, {str(tmp_path)!r})
        import prange_helper_mod as m
        m.K = float(sys.argv[1])
        warnings.simplefilter("error", optlevel.ResultMismatchWarning)
        f = optlevel.optimize(m.total, level=3, strict=True)
        x = np.ones(200_000)
        print(f(x, np.empty_like(x))[0], sorted(f.stats().levels))
    ''')
    cache = tmp_path / "cache"
    env = {"OPTLEVEL_CACHE_DIR": str(cache), "NUMBA_CACHE_DIR": str(cache)}
    outs = [subprocess.run([sys.executable, "-c", script, k], capture_output=True, text=True,
                           env={**os.environ, **env}, timeout=300) for k in ("2.0", "3.0")]
    for done in outs:
        assert done.returncode == 0, done.stderr[-2000:]
    assert [o.stdout.split()[:2] for o in outs] == [["2.0", "[3]"], ["3.0", "[3]"]]


def doubled_into(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0
    return out


@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_a_float_stored_into_an_int_array_at_level_3_raises_as_plain():
    """prange's code is rebuilt from the source without level 2's checked stores: a
    NaN stored into an int array gave -2**63 there. Such functions leave prange."""
    f = optlevel.optimize(doubled_into, level=3, strict=True)
    x = np.linspace(0, 5, 200_000)
    for _ in range(2):
        np.testing.assert_array_equal(f(x, np.zeros(x.size, np.int64)),
                                      doubled_into(x, np.zeros(x.size, np.int64)))
    y = x.copy()
    y[7] = np.nan
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        doubled_into(y, np.zeros(x.size, np.int64))
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        f(y, np.zeros(x.size, np.int64))
    assert "prange" not in {s.backend for s in f.stats().signatures}
