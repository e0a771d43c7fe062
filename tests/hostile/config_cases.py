"""Configuration nonsense: every bad value must be refused or warned about, never
accepted silently (docs/configuration.md; issue 12, item 7).

Each case does one thing a user might mistype and returns ``None`` when optlevel
answered as documented, else what it did instead (a WRONG finding).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import warnings
from collections.abc import Callable

import numpy as np

import optlevel

from .harness import Finding


def _f(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


@dataclasses.dataclass(frozen=True)
class ConfigCase:
    name: str
    attempt: Callable[[], str | None]
    kind: str = "config"


def _raises_config_error(make: Callable[[], object], *valid: str) -> str | None:
    """``make()`` (and a call of what it made) must raise ConfigError naming ``valid``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = make()
            if callable(g):
                g(np.arange(3.0))
    except optlevel.ConfigError as exc:
        missing = [v for v in valid if v not in str(exc)]
        return f"ConfigError without the valid values {missing}: {exc}" if missing else None
    except Exception as exc:
        return f"{type(exc).__name__} instead of ConfigError: {exc}"
    return "accepted silently"


def _decorator(**kw):
    return lambda: _raises_config_error(lambda: optlevel.optimize(**kw)(_f), *_valid(kw))


def _valid(kw):
    name = next(iter(kw))
    return {"strict": ("True", "False"), "verify": ("True", "False"), "level": ("auto",)}.get(name, ())


def _configure(**kw):
    def attempt():
        try:
            return _raises_config_error(lambda: optlevel.configure(**kw))
        finally:
            optlevel.configure(**{k: None for k in kw})
    return attempt


@contextlib.contextmanager
def _env(name, value):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
        optlevel.reload_config()


def _env_warns(name, value, expect):
    """Setting ``name=value`` must give one OptlevelWarning mentioning ``expect``."""
    def attempt():
        with _env(name, value), warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            optlevel.reload_config()
            optlevel.settings()
            optlevel.optimize(level=1)(_f)(np.arange(3.0))
            mine = [w for w in rec if isinstance(w.message, optlevel.OptlevelWarning)
                    and expect in str(w.message)]
            if not mine:
                return f"{name}={value!r} gave no warning naming {expect!r}"
            return None
    return attempt


def _cache_dir_unwritable(path):
    def attempt():
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                optlevel.configure(cache_dir=path)
                s = optlevel.settings()
            except optlevel.ConfigError:
                optlevel.configure(cache_dir=None)
                return None
            try:
                r = optlevel.optimize(level=2)(_f)(np.arange(3.0))
            finally:
                optlevel.configure(cache_dir=None)
            warned = [w for w in rec if isinstance(w.message, optlevel.OptlevelWarning)]
            if r != 3.0:
                return f"result {r!r}"
            if not warned:
                return f"cache_dir={path!r} accepted silently (settings say {s.cache_dir})"
        return None
    return attempt


def _cluster(address, limit=2.0):
    def attempt():
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                optlevel.configure(executor=address)
            except optlevel.ConfigError:
                return None
            t0 = time.perf_counter()
            try:
                r = optlevel.optimize(level=3)(_f)(np.arange(300_000.0))
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            finally:
                optlevel.configure(executor=None)
            took = time.perf_counter() - t0
            fb = [w for w in rec if isinstance(w.message, optlevel.FallbackWarning)]
            if r != float(np.arange(300_000.0).sum()):
                return f"result {r!r}"
            if not fb:
                return f"{address}: no fallback warning ({took:.1f} s)"
            if took > limit:
                return f"{address}: fallback took {took:.1f} s"
        return None
    return attempt


CASES = [
    ConfigCase("config:strict_no", _decorator(strict="no")),
    ConfigCase("config:strict_yes", _decorator(strict="yes")),
    ConfigCase("config:strict_2", _decorator(strict=2)),
    ConfigCase("config:strict_none_str", _decorator(strict="None")),
    ConfigCase("config:verify_sometimes", _decorator(verify="sometimes")),
    ConfigCase("config:verify_2", _decorator(verify=2)),
    ConfigCase("config:level_fast", _decorator(level="fast")),
    ConfigCase("config:level_5", _decorator(level=5)),
    ConfigCase("config:level_neg", _decorator(level=-1)),
    ConfigCase("config:level_float", _decorator(level=1.5)),
    ConfigCase("config:level_true", _decorator(level=True)),
    ConfigCase("config:unknown_option", _decorator(levle=2)),
    ConfigCase("config:sum_order_bogus", _decorator(sum_order="sideways")),
    ConfigCase("config:configure_level", _configure(level="fastest")),
    ConfigCase("config:configure_workers_neg", _configure(workers=-1)),
    ConfigCase("config:configure_workers_str", _configure(workers="many")),
    ConfigCase("config:configure_executor", _configure(executor="bogus")),
    ConfigCase("config:configure_verify", _configure(verify="sometimes")),
    ConfigCase("config:configure_strict", _configure(strict="no")),
    ConfigCase("config:configure_compile", _configure(compile="now")),
    ConfigCase("config:configure_boundscheck", _configure(boundscheck="maybe")),
    ConfigCase("config:configure_gpu_backend", _configure(gpu_backend="opencl")),
    ConfigCase("config:cache_dir_proc", _cache_dir_unwritable("/proc/x")),
    ConfigCase("config:cache_dir_file", _cache_dir_unwritable("/etc/hostname")),
    ConfigCase("config:env_misspelled_level", _env_warns("OPTLEVEL_LEVLE", "2", "OPTLEVEL_LEVEL")),
    ConfigCase("config:env_misspelled_verify", _env_warns("OPTLEVEL_VERFY", "1", "OPTLEVEL_VERIFY")),
    ConfigCase("config:env_strict_maybe", _env_warns("OPTLEVEL_STRICT", "maybe", "OPTLEVEL_STRICT")),
    ConfigCase("config:env_verify_sometimes", _env_warns("OPTLEVEL_VERIFY", "sometimes", "OPTLEVEL_VERIFY")),
    ConfigCase("config:env_workers_many", _env_warns("OPTLEVEL_WORKERS", "many", "OPTLEVEL_WORKERS")),
    ConfigCase("config:env_level_9", _env_warns("OPTLEVEL_LEVEL", "9", "OPTLEVEL_LEVEL")),
    ConfigCase("config:dask_unreachable", _cluster("dask://127.0.0.1:1")),
]


def run_case(case: ConfigCase) -> list[Finding]:
    try:
        why = case.attempt()
    except Exception as exc:
        why = f"crashed: {type(exc).__name__}: {exc}"
        return [Finding("CRASH", case.name, "config", "-", 0, why)]
    return [] if why is None else [Finding("WRONG", case.name, "config", "-", 0, why)]
