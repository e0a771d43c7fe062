"""``[tool.optlevel]`` in ``pyproject.toml``: a project's settings, kept with its code.

The file is the nearest ``pyproject.toml`` at or above the current directory. It is
read the first time optlevel needs its settings, like the environment. Keys are the
:class:`~optlevel.config.Settings` fields, with ``-`` or ``_``::

    [tool.optlevel]
    level = "auto"          # or 0-4
    max-level = 3
    verify = "auto"
    compile = "auto"
    executor = "processes"
    workers = 4

    [tool.optlevel.check]   # what ``optlevel check`` reports
    select = ["OL1"]
    ignore = ["OL201"]
    per-file-ignores = { "benchmarks/*" = ["OL103"] }

One precedence order, highest first: the call (``optlevel=``, ``with_level``), the
``with optlevel.level()`` block, the decorator's ``level=``, :func:`optlevel.configure`,
the ``OPTLEVEL_*`` environment variables, this table, the built-in defaults. A bad
value or an unknown key warns (``OptlevelWarning``) and is ignored; the file never
stops a program. On Python 3.10 the file is read when ``tomli`` is installed.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import ConfigError, OptlevelWarning, user_stacklevel

__all__ = ["ProjectFile", "find_project_file", "read_project_file", "runtime_values",
           "CHECK_KEYS"]

#: keys of ``[tool.optlevel.check]``
CHECK_KEYS = ("select", "ignore", "per-file-ignores")


@dataclasses.dataclass(frozen=True)
class ProjectFile:
    """The ``[tool.optlevel]`` table of one ``pyproject.toml`` (empty if none)."""

    path: Path | None = None
    table: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The folder paths in the table are relative to."""
        return self.path.parent if self.path is not None else Path.cwd()

    def check(self) -> dict[str, Any]:
        """``[tool.optlevel.check]`` with ``_`` in keys spelled ``-``."""
        raw = self.table.get("check", {})
        return {str(k).replace("_", "-"): v for k, v in raw.items()} if isinstance(
            raw, dict) else {}

    def ignored_for(self, file: Path) -> tuple[str, ...]:
        """Rule ids ``per-file-ignores`` turns off for ``file`` (glob patterns matched
        against the path relative to the table's folder, and against the bare path)."""
        table = self.check().get("per-file-ignores", {})
        try:
            rel = file.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            rel = file.as_posix()
        out: list[str] = []
        for pattern, ids in table.items():
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(file.as_posix(), pattern):
                out += [ids] if isinstance(ids, str) else list(ids)
        return tuple(i.upper() for i in out)


def find_project_file(start: Path | None = None) -> Path | None:
    """The ``pyproject.toml`` whose table applies: the nearest one at or above
    ``start`` (the current folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


#: "optlevel" as a TOML key: bare or quoted, then a dot, "]" or "=" (a dependency
#: "optlevel>=0.1" or the project's own name is not one)
_OUR_KEY = re.compile(rb"optlevel[\"']?\s*[.\]=]")


def _toml() -> Any:
    try:
        import tomllib  # Python 3.11+
        return tomllib
    except ImportError:
        try:
            import tomli  # type: ignore[import-not-found]
            return tomli
        except ImportError:
            return None


def read_project_file(start: Path | None = None) -> ProjectFile:
    """Read ``[tool.optlevel]``; a file that cannot be read warns and counts as empty."""
    path = find_project_file(start)
    if path is None:
        return ProjectFile()
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        # a file with no key "optlevel" (as in [tool.optlevel], tool.optlevel.x = or
        # optlevel = {...}) holds no table of ours: it is not parsed (the TOML parser's
        # import took 3 ms of a fresh process's first call)
        toml = _toml() if _OUR_KEY.search(raw) else None
        if toml is None:
            return ProjectFile()
        data = toml.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:  # TOMLDecodeError, UnicodeDecodeError: ValueErrors
        _warn(f"{path}: cannot read it ({type(exc).__name__}: {exc}); [tool.optlevel] "
              "ignored")
        return ProjectFile()
    table = data.get("tool", {}).get("optlevel", {})
    if not isinstance(table, dict):
        _warn(f"{path}: [tool.optlevel] is not a table; ignored")
        return ProjectFile()
    return ProjectFile(path, table)


def runtime_values(project: ProjectFile, fields: Iterable[str],
                   coerce: Callable[[str, Any], Any]) -> dict[str, Any]:
    """The table's values for ``fields`` (the Settings fields), each through
    ``coerce(field, value)``; a bad value or an unknown key warns and is left out."""
    fields = tuple(fields)
    out: dict[str, Any] = {}
    for key, value in project.table.items():
        if key == "check":
            continue
        field = str(key).replace("-", "_")
        if field not in fields:
            valid = ", ".join(f.replace("_", "-") for f in fields)
            _warn(f"{project.path}: unknown key {key!r} in [tool.optlevel] ignored; valid "
                  f"keys are {valid} and the [tool.optlevel.check] table")
            continue
        try:
            out[field] = coerce(field, value)
        except ConfigError as exc:
            _warn(f"{project.path}: [tool.optlevel] {key} = {value!r} ignored: {exc}")
    return out


def _warn(message: str) -> None:
    warnings.warn(message, OptlevelWarning, stacklevel=user_stacklevel() + 1)
