"""The override chain, the kill switches, and validation of levels and env values.

A fake level-2 backend stands in for Numba, so these run with or without it.
"""

import re
import threading

import numpy as np
import pytest

import optlevel
from optlevel import ConfigError, LevelUnavailable, OptlevelWarning, optimize

# Level 1 advises on total()'s loop at every level above 0; these tests are about which
# level a call asks for, not that advice (test_vectorize_backend's subject).
pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")

X = np.arange(5.0)
VALID = re.escape("valid values are 0 (python), 1 (vectorize), 2 (jit), 3 (parallel), "
                  "4 (gpu), or 'auto'")


def total(x):
    t = 0.0
    for v in x:
        t += v
    return t


@pytest.fixture(autouse=True)
def fake_jit(fake_backend):
    return fake_backend()


def test_default_is_auto_and_picks_level_2(ran_at):
    assert ran_at(optimize(total), X) == 2


def test_call_keyword_beats_with_level(ran_at):
    f = optimize(total)
    assert ran_at(f.with_level(0), X, optlevel=2) == 2
    assert ran_at(f.with_level(2), X, optlevel=0) == 0


def test_with_level_beats_context(ran_at):
    f = optimize(total)
    with optlevel.level(0):
        assert ran_at(f.with_level(2), X) == 2
    with optlevel.level(2):
        assert ran_at(f.with_level(0), X) == 0


def test_context_beats_decorator(ran_at):
    with optlevel.level(0):
        assert ran_at(optimize(total, level=2), X) == 0
    with optlevel.level(2):
        assert ran_at(optimize(total, level=0), X) == 2


def test_inner_context_wins_and_auto_lifts_it(ran_at):
    f = optimize(total)
    with optlevel.level(0):
        with optlevel.level(2):
            assert ran_at(f, X) == 2
        with optlevel.level("auto"):
            assert ran_at(f, X) == 2
        assert ran_at(f, X) == 0


def test_decorator_beats_set_level(ran_at):
    optlevel.set_level(0)
    assert ran_at(optimize(total, level=2), X) == 2
    optlevel.set_level(2)
    assert ran_at(optimize(total, level=0), X) == 0


def test_set_level_beats_env_which_beats_default(monkeypatch, ran_at):
    f = optimize(total)
    monkeypatch.setenv("OPTLEVEL_LEVEL", "0")
    optlevel.reload_config()
    assert ran_at(f, X) == 0
    optlevel.set_level(2)
    assert ran_at(f, X) == 2
    optlevel.set_level(None)
    assert ran_at(f, X) == 0


def test_levels_are_per_call_not_sticky(ran_at):
    f = optimize(total, level=2)
    assert ran_at(f, X, optlevel=0) == 0
    assert ran_at(f, X) == 2
    assert total(X) == f(X, optlevel=0) == f(X) == 10.0


@pytest.mark.parametrize("env", [{"OPTLEVEL_MAX_LEVEL": "0"}, {"OPTLEVEL_DISABLE": "1"}])
def test_kill_switch_makes_every_call_plain(monkeypatch, ran_at, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    optlevel.reload_config()
    strict = optimize(total, level=2, strict=True)  # the cap wins over strict
    assert ran_at(strict, X) == 0
    assert ran_at(strict.with_level(2), X) == 0
    assert ran_at(optimize(total), X, optlevel=2) == 0
    with optlevel.level(2):
        assert ran_at(optimize(total), X) == 0
    assert strict(X) == total(X)


def test_configure_max_level_caps_and_none_restores(ran_at):
    f = optimize(total, level=2)
    optlevel.configure(max_level=1)
    assert ran_at(f, X) == 0
    optlevel.configure(max_level=None)
    assert ran_at(f, X) == 2


def test_strict_from_env(monkeypatch, fake_jit):
    fake_jit.decline = "the fake declines"
    monkeypatch.setenv("OPTLEVEL_STRICT", "1")
    optlevel.reload_config()
    with pytest.raises(LevelUnavailable, match="the fake declines"):
        optimize(total, level=2)(X)


@pytest.mark.parametrize("name, value, field, default", [
    ("OPTLEVEL_LEVEL", "fast", "level", "auto"),
    ("OPTLEVEL_MAX_LEVEL", "9", "max_level", 4),
    ("OPTLEVEL_DISABLE", "maybe", "disable", False),
])
def test_bad_env_value_warns_and_keeps_default(monkeypatch, ran_at, name, value, field,
                                                default):
    monkeypatch.setenv(name, value)
    with pytest.warns(OptlevelWarning, match=f"{name}='{value}' ignored") as record:
        settings = optlevel.reload_config()
    assert "keeping the default" in str(record[0].message)
    assert record[0].filename == __file__  # points at the line that read the config
    assert getattr(settings, field) == default
    assert ran_at(optimize(total), X) == 2


@pytest.mark.parametrize("bad", [7, -1, "fast", True, 2.0])
def test_bad_decorator_level_lists_valid_values(bad):
    with pytest.raises(ConfigError, match=VALID):
        optimize(level=bad)


def test_bad_level_elsewhere_raises():
    with pytest.raises(ConfigError, match=VALID):
        optlevel.configure(level=9)
    with pytest.raises(ConfigError, match=VALID):
        optlevel.set_level("fastest")
    with pytest.raises(ConfigError, match=VALID):
        optimize(total).with_level(5)
    with pytest.raises(ConfigError, match=VALID):
        optimize(total)(X, optlevel="turbo")
    with pytest.raises(ConfigError, match="valid options are"):
        optlevel.configure(speed=2)
    assert optlevel.settings().level == "auto"  # nothing was half-applied


def test_context_level_is_per_thread():
    # Separate functions, so each thread's realized level is its own.
    inside, outside = optimize(total), optimize(total)
    barrier = threading.Barrier(2, timeout=10)
    seen = {}

    def in_block():
        with optlevel.level(0):
            barrier.wait()  # both threads are now running, one inside the block
            seen["inside"] = inside(X)
            barrier.wait()

    def not_in_block():
        barrier.wait()
        seen["outside"] = outside(X)
        barrier.wait()

    threads = [threading.Thread(target=in_block), threading.Thread(target=not_in_block)]
    with optlevel.level(0):  # the main thread's block does not reach new threads either
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert seen == {"inside": 10.0, "outside": 10.0}
    assert inside.stats().levels == {0: 1}
    assert outside.stats().levels == {2: 1}


@pytest.mark.parametrize("kwargs, match", [
    ({"strict": "no"}, r"strict='no' is not valid: use True or False"),
    ({"strict": 1}, r"strict=1 is not valid"),
    ({"verify": "sometimes"}, r"verify='sometimes' is not valid: use True, False or None"),
    ({"sum_order": "fastest"}, r"sum_order='fastest' is not valid: use one of 'auto'"),
    ({"gpu_random": "yes"}, r"gpu_random='yes' is not valid: use True or False"),
    ({"split": ["x"]}, r"split=\['x'\] is not valid: use a dict of parameter name"),
])
def test_nonsense_decorator_values_are_refused_at_decoration(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        optimize(**kwargs)
    with pytest.raises(ConfigError, match=match):
        optimize(total, **kwargs)


@pytest.mark.parametrize("name", ["strict", "disable", "boundscheck"])
@pytest.mark.parametrize("value", ["no", "yes", 1, None.__class__])
def test_configure_takes_booleans_only_for_switches(name, value):
    with pytest.raises(ConfigError, match="use True or False"):
        optlevel.configure(**{name: value})
    assert getattr(optlevel.settings(), name) == (name == "boundscheck")


def test_a_misspelled_variable_warns_once_with_the_closest_name(monkeypatch):
    monkeypatch.setenv("OPTLEVEL_LEVLE", "2")
    with pytest.warns(OptlevelWarning, match="OPTLEVEL_LEVLE is not an optlevel setting "
                                             "and is ignored: did you mean OPTLEVEL_LEVEL"):
        optlevel.reload_config()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optlevel.reload_config()  # once per process
    assert optlevel.settings().level == "auto"


def test_an_unwritable_cache_dir_warns_once_and_falls_back(tmp_path, ran_at):
    from optlevel.config import usable_cache_dir

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.warns(OptlevelWarning, match="cannot be written .* using .* instead"):
        found = usable_cache_dir(blocked / "cache")
    assert found != blocked / "cache" and found.is_dir()
    assert usable_cache_dir(blocked / "cache") == found  # no second warning
    assert usable_cache_dir(tmp_path / "ok") == tmp_path / "ok"
