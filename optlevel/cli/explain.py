"""``optlevel explain module:function`` (or ``path/to/file.py:function``): what the
AST analysis finds and which levels would apply."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..explain import explain
from ._common import CLIError, add_output_format, add_verbosity, output_format


def _import_path(path_text: str) -> Any:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise CLIError(f"no such file: {path_text}")
    name = path.stem if path.stem not in sys.modules else f"_optlevel_target_{path.stem}"
    sys.path.insert(0, str(path.parent))  # so the file's own sibling imports work
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {path_text}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _import_module(name: str) -> Any:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.split(".")[0] == exc.name.split(".")[0]:
            raise CLIError(f"cannot import module {name!r}: {exc}") from None
        raise  # the module exists; one of its own imports failed


def load_target(spec: str) -> Any:
    """The object named by ``module:attr`` or ``path/to/file.py:attr`` (``attr`` dotted).

    Raises
    ------
    CLIError
        When the spec is malformed, the module cannot be found, or has no such attribute.
    """
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise CLIError(f"expected module:function or path/to/file.py:function, got {spec!r}")
    is_path = where.endswith(".py") or "/" in where or os.sep in where
    obj = _import_path(where) if is_path else _import_module(where)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(f"{where} has no attribute {attr!r}") from None
    if not callable(obj):
        raise CLIError(f"{spec} is a {type(obj).__name__}, not a function")
    return obj


def cmd_explain(args: argparse.Namespace) -> int:
    """``optlevel explain TARGET``."""
    report = explain(load_target(args.target))
    if output_format(args) == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        report.print()  # rich tables on a terminal, plain text when piped
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("explain", help="what optlevel finds in a function, and which "
                       "levels would apply")
    p.add_argument("target", help="module:function or path/to/file.py:function "
                   "(Class.method works too)")
    add_output_format(p)
    add_verbosity(p)
    p.set_defaults(handler=cmd_explain)
