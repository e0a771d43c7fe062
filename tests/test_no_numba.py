"""Optional libraries stay unimported, and without Numba level 2 falls back to plain Python.

These run in both worlds: with Numba installed, and in the ``nonumba`` tox env.
"""

import sys
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import FallbackWarning, LevelUnavailable, optimize

X = np.arange(6.0)
NOT_INSTALLED = "numba is not installed"


def total(x):
    t = 0.0
    for i in range(x.shape[0]):
        t += x[i] * 2
    return t


def test_import_and_decorate_import_no_optional_library(run_python):
    loaded = run_python("""
        import json, sys
        import optlevel
        from optlevel import optimize

        @optimize(level=4)
        def f(x):
            for i in range(len(x)):
                x[i] += 1
            return x

        optlevel.explain(f)
        print(json.dumps([m for m in ("numba", "cupy", "torch", "dask", "ray")
                          if m in sys.modules]))
    """)
    assert loaded == []


def test_subprocess_without_numba_falls_back(run_python):
    out = run_python("""
        import sys
        sys.modules["numba"] = None  # as if it were not installed
        import json, warnings
        import numpy as np
        import optlevel
        from optlevel import optimize

        def total(x):
            t = 0.0
            for i in range(x.shape[0]):
                t += x[i] * 2
            return t

        x = np.arange(6.0)
        auto, two = optimize(total), optimize(total, level=2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = [auto(x), two(x), total(x)]
        print(json.dumps({
            "results": results,
            "levels": [list(auto.stats().levels), list(two.stats().levels)],
            "warnings": [(w.category.__name__, str(w.message)) for w in caught],
            "explain": str(optlevel.explain(two, x)),
            "row": optlevel.explain(auto, x).row("numba").to_dict(),
        }))
    """)
    assert out["results"] == [30.0, 30.0, 30.0]
    assert out["levels"] == [[0], [0]]
    [(category, message)] = [w for w in out["warnings"]  # only for the explicit level=2
                             if w[0] != "VectorizationAdvice"]
    assert category == "FallbackWarning" and NOT_INSTALLED in message
    assert NOT_INSTALLED in out["explain"]
    assert out["row"]["kind"] == "missing" and NOT_INSTALLED in out["row"]["reason"]
    assert out["row"]["code"] == "PL005", out["row"]


@pytest.fixture
def no_numba(monkeypatch):
    """Numba blocked in this process, as the nonumba env has it."""
    monkeypatch.setitem(sys.modules, "numba", None)


# level 1 advises on total()'s loop; the level-2 fallback is the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_level_2_falls_back_with_the_reason(no_numba):
    f = optimize(total, level=2)
    with pytest.warns(FallbackWarning, match=NOT_INSTALLED):
        assert f(X) == total(X)
    assert f.stats().levels == {0: 1}
    row = optlevel.explain(f, X).row("numba")
    assert (row.kind, row.tried) == ("missing", False)
    assert NOT_INSTALLED in row.reason
    assert row.code == "PL005", row
    assert NOT_INSTALLED in f.stats().signatures[0].fallbacks[0][2]


# level 1 advises on total()'s loop; "quietly" means no FallbackWarning
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
def test_auto_falls_back_quietly(no_numba):
    f = optimize(total)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        assert f(X) == total(X)
    assert f.stats().levels == {0: 1}
    assert optlevel.explain(f, X).chosen == 0


def test_strict_raises_without_numba(no_numba):
    f = optimize(total, level=2, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)  # it raises instead of warning
        with pytest.raises(LevelUnavailable, match=NOT_INSTALLED):
            f(X)
