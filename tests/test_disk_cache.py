"""A second process loads compiled code from OPTLEVEL_CACHE_DIR instead of compiling."""

import textwrap

import pytest

pytestmark = [pytest.mark.numba, pytest.mark.slow]  # fresh processes that compile

KERNEL = '''
from optlevel import optimize


@optimize(level=2, strict=True)
def sum_of_squares(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * x[i]
    return t
'''

RUN = '''
import json, sys
import numpy as np
sys.path.insert(0, {folder!r})
import kernels

try:
    result = kernels.sum_of_squares(np.arange(5.0))
except IndexError:
    result = "IndexError"
[plan] = kernels.sum_of_squares._dispatcher.plans.values()
fn = plan.prepared.fn
disp = fn if hasattr(fn, "stats") else fn.__wrapped__  # the Numba dispatcher
print(json.dumps({{"result": result,
                  "hits": sum(disp.stats.cache_hits.values()),
                  "misses": sum(disp.stats.cache_misses.values())}}))
'''


def test_second_process_loads_from_the_cache(tmp_path, run_python):
    (tmp_path / "kernels.py").write_text(textwrap.dedent(KERNEL))
    cache = tmp_path / "cache"
    code = RUN.format(folder=str(tmp_path))
    first = run_python(code, OPTLEVEL_CACHE_DIR=str(cache))
    assert first == {"result": 30.0, "hits": 0, "misses": 1}
    assert list((cache / "numba").rglob("*.nbi")), "Numba wrote no index file"
    second = run_python(code, OPTLEVEL_CACHE_DIR=str(cache))
    assert second == {"result": 30.0, "hits": 1, "misses": 0}


def test_boundscheck_setting_gets_its_own_cache(tmp_path, run_python):
    (tmp_path / "kernels.py").write_text(textwrap.dedent(KERNEL.replace(
        "range(x.shape[0])", "range(x.shape[0] + 1)")))  # reads one past the end
    code = RUN.format(folder=str(tmp_path))
    cache = str(tmp_path / "cache")
    # Without bounds checks the read past the end returns garbage where Python raises;
    # verification would catch that and run level 0, so it is off for this run.
    unchecked = run_python(code, OPTLEVEL_CACHE_DIR=cache, OPTLEVEL_BOUNDSCHECK="0",
                           OPTLEVEL_VERIFY="never")
    assert unchecked["misses"] == 1
    # Code built without bounds checks must not be loaded where they are on.
    checked = run_python(code, OPTLEVEL_CACHE_DIR=cache, OPTLEVEL_BOUNDSCHECK="1")
    assert checked == {"result": "IndexError", "hits": 0, "misses": 1}
