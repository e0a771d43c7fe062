"""Level 2's guards over the values its compiled code froze, where they live beyond the
decorated function itself, and the replays they lead to.

- A global read inside a called helper (``K = 2.0; def scale(v): return v * K``) is
  compiled into the caller's code: rebinding it must give plain Python's value, at
  level 2 and under auto, for a helper in the same module, in another module, and a
  helper of a helper; and a fresh build (or a new process) must not load the code
  built for the old value from the disk cache.
- A divisor frozen while it was 3 and rebound to 0 (a global or a closure cell) must
  replay the call in plain Python (NumPy's zeros and its RuntimeWarning), never let
  level 2's internal ``Replay`` reach the user, and undo the call's writes first.

Every case compares value, type, warnings and argument contents with the plain
function.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
import warnings

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from tests.test_replay import _repr
from tests.test_replay import outcome as replay_outcome

pytestmark = pytest.mark.numba
pytest.importorskip("numba")


def outcome(func, *args):
    """(value or exception type and message, warnings, argument contents after)."""
    return replay_outcome(func, args)


def same(fast, plain, *args):
    assert outcome(fast, *args) == outcome(plain, *args)


def at_level_2(fast):
    return fast.stats().levels.get(2, 0)


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """``modules(name=source, ...)``: import each source as a fresh module (unique names,
    so no test sees another's module or its disk cache); returns them by name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def load(**sources):
        tag = uuid.uuid4().hex[:10]
        names = {name: f"ol_{name}_{tag}" for name in sources}
        out = {}
        for name, source in sources.items():  # written first: they import each other
            text = textwrap.dedent(source)
            for other, real in names.items():
                text = text.replace(f"@{other}@", real)
            (tmp_path / f"{names[name]}.py").write_text(text)
        importlib.invalidate_caches()
        for name in sources:
            out[name] = importlib.import_module(names[name])
            made.append(names[name])
        return out

    yield load
    for name in made:
        sys.modules.pop(name, None)


SAME_MODULE = """
    K = 2.0

    def scale(v):
        return v * K

    def total(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += scale(x[i])
        return s
"""


# --- bug 5: a helper's global ------------------------------------------------------------


def test_helper_global_rebound_at_level_2(modules):
    mod = modules(main=SAME_MODULE)["main"]
    fast = optimize(mod.total, level=2)
    x = np.linspace(0.0, 1.0, 1000)
    same(fast, mod.total, x)
    for k in (3.0, 2.0, 5, np.float64(0.5), 3.0):
        mod.K = k
        before = at_level_2(fast)
        same(fast, mod.total, x)
        same(fast, mod.total, x)
        assert at_level_2(fast) == before + 2  # compiled for the new value, not plain


def test_helper_global_rebound_under_auto(modules):
    mod = modules(main=SAME_MODULE)["main"]
    fast = optimize(mod.total)
    x = np.ones(2_000_000)
    for _ in range(12):
        fast(x)
        if at_level_2(fast):
            break
    assert at_level_2(fast), fast.stats().levels
    mod.K = 3.0
    before = at_level_2(fast)
    for _ in range(2):
        same(fast, mod.total, x)
    assert at_level_2(fast) > before, fast.stats().levels
    assert fast(x) == 6_000_000.0


def test_helper_in_another_module(modules):
    mods = modules(helper="""
        K = 2.0

        def scale(v):
            return v * K
    """, main="""
        from @helper@ import scale

        def total(x):
            s = 0.0
            for i in range(x.shape[0]):
                s += scale(x[i])
            return s
    """)
    helper, main = mods["helper"], mods["main"]
    main.K = 100.0  # the caller's module has its own K: not the one scale reads
    fast = optimize(main.total, level=2)
    x = np.arange(1000.0)
    same(fast, main.total, x)
    helper.K = -1.5
    same(fast, main.total, x)
    main.K = 7.0  # not read by anything compiled: the value stays the helper's
    same(fast, main.total, x)
    assert fast(x) == -1.5 * x.sum()
    assert at_level_2(fast) >= 3


def test_helper_of_a_helper(modules):
    mods = modules(inner="""
        import numpy as np

        OFFSET = 1

        def shift(v):
            return v + OFFSET
    """, outer="""
        from @inner@ import shift

        FACTOR = 2

        def step(v):
            return shift(v) * FACTOR
    """, main="""
        import numpy as np

        from @outer@ import step

        def apply(x):
            out = np.empty_like(x)
            for i in range(x.shape[0]):
                out[i] = step(x[i])
            return out
    """)
    inner, outer, main = mods["inner"], mods["outer"], mods["main"]
    fast = optimize(main.apply, level=2)
    x = np.arange(-50, 50, dtype=np.int64)
    same(fast, main.apply, x)
    inner.OFFSET = 10
    same(fast, main.apply, x)
    outer.FACTOR = -3
    same(fast, main.apply, x)
    inner.OFFSET = 0.5  # a float now: the result's dtype stays x's (out is int64)
    same(fast, main.apply, x)
    assert at_level_2(fast) >= 4


def test_helper_global_not_loaded_from_the_disk_cache(modules):
    """A fresh build for the new value (a new process, or here one whose in-memory
    builds were forgotten) must not load the code compiled for the old one from disk:
    the cache's key holds the helpers' frozen values too."""
    mod = modules(main=SAME_MODULE)["main"]
    x = np.linspace(0.0, 1.0, 1000)
    same(optimize(mod.total, level=2), mod.total, x)
    mod.K = 3.0
    optlevel.reset("numba.")
    fast = optimize(mod.total, level=2)
    same(fast, mod.total, x)
    assert at_level_2(fast) == 1


# --- bug 6: a frozen divisor rebound to 0 --------------------------------------------------

DIVIDE = """
    import numpy as np

    D = 3

    def div_by_global(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = x[i] // D
        return out

    def bump_then_divide(out, k):
        for i in range(out.shape[0]):
            out[i] += 1.0
        for j in range(k.shape[0]):
            k[j] = k[j] // D
        return out

    def make(d):
        def div_by_cell(x):
            out = np.empty_like(x)
            for i in range(x.shape[0]):
                out[i] = x[i] // d
            return out

        def set_d(value):
            nonlocal d
            d = value

        return div_by_cell, set_d

    def div_by_arg(x, d):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = x[i] // d
        return out
"""


def test_global_divisor_rebound_to_zero_replays(modules):
    mod = modules(main=DIVIDE)["main"]
    fast = optimize(mod.div_by_global, level=2)
    x = np.arange(-5, 5)
    same(fast, mod.div_by_global, x)
    mod.D = 0
    same(fast, mod.div_by_global, x)  # zeros, NumPy's RuntimeWarning, no Replay
    result, seen, _ = outcome(fast, x)
    assert result[2] == _repr(np.zeros(10, x.dtype))
    assert ("RuntimeWarning", "divide by zero encountered in scalar floor_divide") in seen
    assert fast.stats().levels.get(0, 0) >= 2  # replayed in plain Python
    mod.D = -2
    before = at_level_2(fast)
    same(fast, mod.div_by_global, x)
    assert at_level_2(fast) == before + 1  # back in compiled code


def test_global_divisor_rebound_to_zero_undoes_the_writes(modules):
    """Code built for D = 3 cannot replay, so it copied nothing before each call; the
    code rebuilt for D = 0 can, so its calls must copy the written array first."""
    mod = modules(main=DIVIDE)["main"]
    fast = optimize(mod.bump_then_divide, level=2)
    out, k = np.arange(8.0), np.array([7, 8])
    same(fast, mod.bump_then_divide, out, k)
    mod.D = 0
    same(fast, mod.bump_then_divide, out, k)  # out + 1 once, k 0: not out + 2
    mod.D = 3
    same(fast, mod.bump_then_divide, out, k)


def test_closure_divisor_rebound_to_zero_replays(modules):
    mod = modules(main=DIVIDE)["main"]
    plain, set_d = mod.make(3)
    fast = optimize(plain, level=2)
    x = np.arange(-5, 5)
    same(fast, plain, x)
    set_d(2)
    same(fast, plain, x)
    set_d(0)
    same(fast, plain, x)
    same(fast, plain, x)
    set_d(4)
    same(fast, plain, x)


def test_divisor_argument_zero_replays(modules):
    mod = modules(main=DIVIDE)["main"]
    fast = optimize(mod.div_by_arg, level=2)
    x = np.arange(-5, 5)
    same(fast, mod.div_by_arg, x, 3)
    same(fast, mod.div_by_arg, x, 0)
    same(fast, mod.div_by_arg, x, 3)
    same(fast, mod.div_by_arg, x.astype(np.uint8), 0)


def test_no_internal_exception_reaches_the_user(modules):
    from optlevel.levels.numba.guard import Replay, Replayed

    mod = modules(main=DIVIDE)["main"]
    fast = optimize(mod.div_by_global, level=2)
    x = np.arange(100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast(x)
    mod.D = 0
    for _ in range(3):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got, expected = fast(x), mod.div_by_global(x)
        except (Replay, Replayed) as exc:  # pragma: no cover - the bug
            pytest.fail(f"level 2's internal {type(exc).__name__} reached the caller")
        np.testing.assert_array_equal(got, expected)
