"""Configuration: every ``OPTLEVEL_*`` variable, ``configure`` and ``level()``.

Environment variables are parsed here and nowhere else, each through
:func:`_readenv`, which warns on a bad value and keeps the default. They are read
the first time optlevel needs its settings; call :func:`reload_config` after
changing ``os.environ`` inside a running process. Values given to
:func:`configure` win over the environment.

=========================  =========================  =====================================
variable                   default                    meaning
=========================  =========================  =====================================
``OPTLEVEL_LEVEL``         ``auto``                   global level: 0-4, a level name or
                                                      ``auto`` (the ceiling, 4)
``OPTLEVEL_MAX_LEVEL``     ``4``                      cap on every decision; 0 = kill switch
``OPTLEVEL_DISABLE``       ``0``                      1 = everything runs as plain Python
``OPTLEVEL_STRICT``        ``0``                      1 = an explicit level runs exactly or
                                                      raises ``LevelUnavailable``
``OPTLEVEL_VERIFY``        ``auto``                   check the first call of each new
                                                      compiled plan against the plain
                                                      function: ``auto`` where the plain
                                                      run is cheap, ``always`` (``1``),
                                                      ``never`` (``0``)
``OPTLEVEL_COMPILE``       ``auto``                   ``auto``: the first call compiles,
                                                      except in auto mode for a call too
                                                      small to pay a compile back, which
                                                      warms up in Python first; ``eager``:
                                                      the first call compiles; ``background``:
                                                      it runs plain Python while a thread
                                                      compiles
``OPTLEVEL_BOUNDSCHECK``   ``1``                      1 = compiled code checks indices and
                                                      raises ``IndexError`` like Python
``OPTLEVEL_CACHE_DIR``     user cache dir             where compiled code is kept
``OPTLEVEL_EXECUTOR``      ``local``                  ``local``, ``threads``, ``processes``,
                                                      ``dask``, ``dask://host:port``,
                                                      ``ray``, ``ray://…``
``OPTLEVEL_GPU_BACKEND``   ``auto``                   ``auto``, ``cupy`` or ``torch``
``OPTLEVEL_WORKERS``       ``0``                      workers for level 3; 0 = all cores
=========================  =========================  =====================================

Each variable can also be set in the project's ``pyproject.toml`` under
``[tool.optlevel]`` (the field name: ``max-level = 3``); the environment wins over
the file (:mod:`optlevel.settings_file` gives the whole precedence order).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .core.runtime import RUNTIME
from .errors import ConfigError, OptlevelWarning, user_stacklevel, warn_once
from .ladder import AUTO, MAX_LEVEL, Level, LevelLike

__all__ = ["Settings", "settings", "configure", "reload_config", "set_level", "level",
           "default_cache_dir", "usable_cache_dir", "check_decorator_flags", "ENV_VARS",
           "STATE", "CONTEXT_LEVEL"]

log = logging.getLogger("optlevel")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"expected one of {sorted(_TRUE | _FALSE - {''})}, got {text!r}")


def _parse_verify(text: str) -> str:
    low = text.strip().lower()
    if low in ("auto", "always", "never"):
        return low
    try:
        return "always" if _parse_bool(text) else "never"
    except ConfigError:
        raise ConfigError(f"expected auto, always (1) or never (0), got {text!r}") from None


def _parse_level(text: str) -> Level:
    return Level.parse(text, source="level")


def _parse_max_level(text: str) -> int:
    lvl = Level.parse(text, source="maximum level")
    return MAX_LEVEL if lvl.is_auto else lvl.value  # type: ignore[return-value]


def _parse_choice(*choices: str, prefixes: tuple[str, ...] = ()) -> Callable[[str], str]:
    def parse(text: str) -> str:
        low = text.strip().lower()
        if low in choices or any(low.startswith(p) for p in prefixes):
            return text.strip() if prefixes else low
        valid = ", ".join(list(choices) + [p + "…" for p in prefixes])
        raise ConfigError(f"expected one of {valid}, got {text!r}")
    return parse


def _parse_workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(f"expected a whole number ≥ 0 (0 = all cores), got {text!r}") from None
    if n < 0:
        raise ConfigError(f"expected a whole number ≥ 0 (0 = all cores), got {text!r}")
    return n


def default_cache_dir() -> Path:
    """The per-user cache directory optlevel uses when ``OPTLEVEL_CACHE_DIR`` is unset."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "optlevel" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "optlevel"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "optlevel"


def _parse_path(text: str) -> Path:
    """A directory optlevel can write: it, or its nearest existing parent, must be a
    writable directory. Nothing is created here (reading the config has no side
    effects); an empty value is refused, as it would mean the current directory."""
    if not text.strip():
        raise ConfigError("expected a directory, got an empty value (which would put the "
                          "cache in the current directory)")
    path = Path(text).expanduser()
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{existing} is not writable")
    return path


@dataclasses.dataclass(frozen=True)
class _Var:
    field: str
    env: str
    parse: Callable[[str], Any]
    default: Callable[[], Any]


#: The one list of variables: field of :class:`Settings`, env name, parser, default.
ENV_VARS: tuple[_Var, ...] = (
    _Var("level", "OPTLEVEL_LEVEL", _parse_level, lambda: AUTO),
    _Var("max_level", "OPTLEVEL_MAX_LEVEL", _parse_max_level, lambda: MAX_LEVEL),
    _Var("disable", "OPTLEVEL_DISABLE", _parse_bool, lambda: False),
    _Var("strict", "OPTLEVEL_STRICT", _parse_bool, lambda: False),
    _Var("verify", "OPTLEVEL_VERIFY", _parse_verify, lambda: "auto"),
    _Var("compile", "OPTLEVEL_COMPILE", _parse_choice("auto", "eager", "background"),
         lambda: "auto"),
    _Var("boundscheck", "OPTLEVEL_BOUNDSCHECK", _parse_bool, lambda: True),
    _Var("cache_dir", "OPTLEVEL_CACHE_DIR", _parse_path, default_cache_dir),
    _Var("executor", "OPTLEVEL_EXECUTOR",
         _parse_choice("local", "threads", "processes", "dask", "ray",
                       prefixes=("dask://", "ray://")), lambda: "local"),
    _Var("gpu_backend", "OPTLEVEL_GPU_BACKEND", _parse_choice("auto", "cupy", "torch"),
         lambda: "auto"),
    _Var("workers", "OPTLEVEL_WORKERS", _parse_workers, lambda: 0),
)
_BY_FIELD = {v.field: v for v in ENV_VARS}
#: variables read elsewhere (the test suite's switches; the import-time choice of the
#: pure-Python call path, ``_fastpath.py``), never reported as misspelled
_OTHER_VARIABLES = ("OPTLEVEL_TEST_NONUMBA", "OPTLEVEL_PURE_PYTHON")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The resolved configuration; a new object each time anything changes."""

    level: Level
    max_level: int
    disable: bool
    strict: bool
    verify: str
    compile: str
    boundscheck: bool
    cache_dir: Path
    executor: str
    gpu_backend: str
    workers: int

    #: The highest level any call may use (``OPTLEVEL_DISABLE`` makes it 0); derived.
    cap: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cap", 0 if self.disable else self.max_level)


def _warn_unknown_variables(environ: Any) -> None:
    """An ``OPTLEVEL_*`` variable optlevel does not read is most likely a misspelling:
    say so once, with the closest valid name."""
    import difflib

    valid = [v.env for v in ENV_VARS] + list(_OTHER_VARIABLES)
    for name in sorted(k for k in environ if k.startswith("OPTLEVEL_") and k not in valid):
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"valid names: {', '.join(valid)}"
        warn_once(("config", "unknown variable", name),
                  f"{name} is not an optlevel setting and is ignored: {hint}",
                  OptlevelWarning)


def _readenv(var: _Var, environ: Any) -> Any:
    """Parse one variable; on a bad value warn and keep the default."""
    raw = environ.get(var.env)
    if raw is None:
        return var.default()
    try:
        return var.parse(raw)
    except ConfigError as exc:
        default = var.default()
        warnings.warn(f"{var.env}={raw!r} ignored: {exc}; keeping the default {default!r}",
                      OptlevelWarning, stacklevel=user_stacklevel() + 1)  # the user's line
        return default


def _project_values() -> dict[str, Any]:
    """``[tool.optlevel]`` of the project's ``pyproject.toml``: below the environment
    (see :mod:`optlevel.settings_file`)."""
    from .settings_file import read_project_file, runtime_values

    return runtime_values(read_project_file(), _BY_FIELD,
                          lambda field, value: _coerce(_BY_FIELD[field], value))


class SettingsState:
    """Holds the current :class:`Settings` (:data:`STATE`). The per-call fast path
    reads ``current`` and ``generation`` directly (the compiled one at the slot's
    offset); only this module writes them."""

    __slots__ = ("lock", "overrides", "env", "current", "generation")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.overrides: dict[str, Any] = {}
        self.env: dict[str, Any] | None = None
        self.current: Settings | None = None
        self.generation = 0  # bumped on every change; plan caches compare it

    def rebuild(self) -> Settings:
        with self.lock:
            if self.env is None:
                self.env = {**_project_values(),
                            **{v.field: _readenv(v, os.environ) for v in ENV_VARS
                               if v.env in os.environ}}
                self.env = {v.field: self.env[v.field] if v.field in self.env
                            else v.default() for v in ENV_VARS}
                _warn_unknown_variables(os.environ)
            values = {**self.env, **self.overrides}
            self.current = Settings(**values)
            self.generation += 1
            log.debug("settings: %s", self.current)
            return self.current


#: the one holder of the current settings
STATE = SettingsState()


def settings() -> Settings:
    """Return the current settings, reading the environment on first use."""
    current = STATE.current
    return current if current is not None else STATE.rebuild()


def reload_config() -> Settings:
    """Read every ``OPTLEVEL_*`` variable again (after changing ``os.environ``)."""
    with STATE.lock:
        STATE.env = None
        return STATE.rebuild()


def configure(**options: Any) -> Settings:
    """Set configuration at run time; it wins over the environment.

    Keyword names are the :class:`Settings` fields (``level``, ``max_level``,
    ``disable``, ``strict``, ``verify``, ``compile``, ``boundscheck``,
    ``cache_dir``, ``executor``, ``gpu_backend``, ``workers``). Values are
    validated like the environment variables, but a bad one raises
    :class:`ConfigError`. ``None`` removes a run-time value, restoring the
    environment's.
    """
    parsed: dict[str, Any] = {}
    for name, value in options.items():
        var = _BY_FIELD.get(name)
        if var is None:
            raise ConfigError(f"unknown option {name!r}: valid options are "
                              f"{', '.join(_BY_FIELD)}")
        parsed[name] = value if value is None else _coerce(var, value)
    with STATE.lock:
        for name, value in parsed.items():
            if value is None:
                STATE.overrides.pop(name, None)
            else:
                STATE.overrides[name] = value
        return STATE.rebuild()


def _coerce(var: _Var, value: Any) -> Any:
    if var.field == "level":
        return Level.parse(value)
    if var.field == "max_level":
        return _parse_max_level(str(value.value if isinstance(value, Level) else value))
    if var.field == "verify" and isinstance(value, bool):
        return "always" if value else "never"
    if var.field == "cache_dir":
        return _parse_path(str(value))
    if var.parse is _parse_bool:  # a Python API takes Python's booleans, not "no"
        if isinstance(value, bool):
            return value
        raise ConfigError(f"bad value {value!r} for option {var.field!r}: use True or False")
    if var.field == "workers" and isinstance(value, int) and not isinstance(value, bool):
        return _parse_workers(str(value))
    if isinstance(value, str):
        return var.parse(value)
    if var.field == "executor" and type(value).__name__ == "Client" and \
            (type(value).__module__ or "").startswith("distributed"):
        return value  # a dask.distributed.Client: level 3 runs its pieces there
    raise ConfigError(f"bad value {value!r} for option {var.field!r}")


def check_decorator_flags(strict: Any, verify: Any) -> None:
    """``@optimize(strict=..., verify=...)`` take True or False (and None for
    ``verify``); anything else — ``strict="no"`` is truthy — is refused."""
    if type(strict) is not bool:
        raise ConfigError(f"strict={strict!r} is not valid: use True or False")
    if verify is not None and type(verify) is not bool:
        raise ConfigError(f"verify={verify!r} is not valid: use True, False or None "
                          "(None follows OPTLEVEL_VERIFY)")


def usable_cache_dir(path: Path | str) -> Path:
    """``path`` if optlevel can create files in it, else a private temporary directory
    (with one warning): a cache that cannot be written must not fail a call."""
    return _USABLE.get_or_make(str(path), lambda: _probe_cache_dir(Path(path)))


def _probe_cache_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
        return path
    except OSError as exc:
        user = os.getuid() if hasattr(os, "getuid") else os.getpid()
        fallback = Path(tempfile.gettempdir()) / f"optlevel-cache-{user}"
        fallback.mkdir(mode=0o700, parents=True, exist_ok=True)
        warn_once(("config", "cache dir", str(path)),
                  f"the cache directory {path} cannot be written ({type(exc).__name__}: "
                  f"{exc.strerror or exc}); using {fallback} instead. Set "
                  "OPTLEVEL_CACHE_DIR to a writable directory to keep compiled code "
                  "between runs.", OptlevelWarning)
        return fallback


#: cache directory as configured → the one optlevel writes (itself, or a fallback)
_USABLE = RUNTIME.cache("usable cache directories")


def set_level(value: LevelLike) -> None:
    """Set the global level (same as ``OPTLEVEL_LEVEL``; ``None`` restores it)."""
    configure(level=None if value is None else Level.parse(value))


#: The level set by the innermost ``with optlevel.level(n):``; None outside any (the
#: fast path reads it; only :func:`level` sets it).
CONTEXT_LEVEL: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "optlevel_level", default=None)


@contextlib.contextmanager
def level(value: LevelLike) -> Iterator[Level]:
    """Run the block with a level; contextvars keep it per thread and per task.

    ``with optlevel.level("auto"):`` lifts an outer block's level again.
    """
    lvl = Level.parse(value)
    token = CONTEXT_LEVEL.set(lvl.value)
    try:
        yield lvl
    finally:
        CONTEXT_LEVEL.reset(token)
