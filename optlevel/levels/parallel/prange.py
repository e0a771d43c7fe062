"""Building a Numba ``parallel=True`` version of a function whose loops are independent.

The loops :mod:`optlevel.levels.parallel.split_loops` proved independent are rewritten
from ``range`` to ``numba.prange``; a reduction written with both ``+=`` and
``-=`` becomes ``+=`` of the negated term (Numba's parfors take one operator per
reduction variable; ``s - e`` and ``s + (-e)`` are the same floating-point
operation). The rewritten source goes to a file under ``OPTLEVEL_CACHE_DIR/prange``
so Numba's disk cache works for it; it runs in the globals of level 2's
dispatcher (compiled helpers, checked replacements) with level 2's options.

Numba's parallel reductions add in a different order than the serial loop, so a
float sum may differ from level 2's in the last bits (within the tolerance the
tests and ``verify`` use); integer results are exact.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...analysis import FunctionFeatures
from ...contract import Code, Decline
from ..numba import trim_numba_error

__all__ = ["build_parallel", "rewrite", "compile_checked"]

_PRANGE = "__optlevel_prange__"


def rewrite(features: FunctionFeatures) -> ast.FunctionDef:
    """The function's AST with its independent loops over ``prange``."""
    tree = copy.deepcopy(features.source.tree)
    assert isinstance(tree, ast.FunctionDef)
    proofs = {lp.line: lp for lp in features.split.loops}
    for stmt in tree.body:
        proof = proofs.get(stmt.lineno) if isinstance(stmt, ast.For) else None
        if proof is None:
            continue
        assert isinstance(stmt, ast.For) and isinstance(stmt.iter, ast.Call)
        stmt.iter.func = ast.Name(_PRANGE, ast.Load())
        added = {name for name, op in proof.reductions if op == "+"}
        for node in ast.walk(stmt):
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub) \
                    and isinstance(node.target, ast.Name) and node.target.id in added:
                node.op = ast.Add()
                node.value = ast.UnaryOp(ast.USub(), node.value)
    tree.decorator_list = []
    return ast.fix_missing_locations(tree)


def build_parallel(func: Callable[..., Any], features: FunctionFeatures,
                   serial: Callable[..., Any], cache_dir: Path) -> tuple[Any, dict[str, Any]]:
    """A Numba dispatcher compiled with ``parallel=True`` over the rewritten source,
    and the globals it froze (name → value; a call re-checks them).

    ``serial`` is level 2's prepared callable for the same function: its dispatcher's
    globals (compiled helpers, checked replacements) and options are reused, so the
    parallel version means what level 2's does.
    """
    import numba

    # Level 2 hands back its dispatcher, or a guard function with __wrapped__ = dispatcher.
    disp0 = serial if hasattr(serial, "targetoptions") else getattr(serial, "__wrapped__", None)
    py_func = getattr(disp0, "py_func", None)
    options = dict(getattr(disp0, "targetoptions", {}) or {})
    if py_func is None:
        raise Decline("level 2 built no Numba dispatcher to take the globals from")
    if func.__code__.co_freevars or py_func.__code__.co_freevars:
        raise Decline("a closure: prange rebuilds the function from its source, which would "
                      "lose the closure's variables", code=Code.UNSUPPORTED)
    frozen = {name: func.__globals__[name] for name in sorted(features.loaded_globals)
              if name in func.__globals__}
    tree = rewrite(features)
    # The header keys Numba's disk cache, which ignores options and frozen globals.
    text = (f"# optlevel prange of {func.__module__}.{func.__qualname__}; options "
            f"{sorted(options.items())!r}; globals {_values_key(frozen)}\n"
            + ast.unparse(tree) + "\n")
    path = _source_file(Path(cache_dir) / "prange", func, text)
    namespace = dict(py_func.__globals__)
    namespace[_PRANGE] = numba.prange
    exec(compile(text, str(path), "exec"), namespace)  # noqa: S102 - our own rewrite
    rebuilt = namespace[tree.name]
    rebuilt.__defaults__ = func.__defaults__
    rebuilt.__kwdefaults__ = func.__kwdefaults__
    options.pop("nopython", None)  # njit implies it (and warns when it is given)
    options.update(parallel=True, cache=True)
    return numba.njit(**options)(rebuilt), frozen


def _values_key(frozen: dict[str, Any]) -> str:
    parts = []
    for name, value in frozen.items():
        code = getattr(getattr(value, "py_func", value), "__code__", None)
        if code is not None:
            parts.append(f"{name}:{hashlib.sha1(code.co_code).hexdigest()[:12]}")
        elif isinstance(value, (int, float, complex, bool, str, type(None))):
            parts.append(f"{name}={value!r}")
        else:
            parts.append(f"{name}:{type(value).__name__}")
    return hashlib.sha1(";".join(parts).encode()).hexdigest()[:16]


def _source_file(directory: Path, func: Callable[..., Any], text: str) -> Path:
    """Write ``text`` once (an unchanged file keeps Numba's cache valid)."""
    digest = hashlib.sha1(text.encode()).hexdigest()
    safe = re.sub(r"\W", "_", func.__qualname__)[:40]
    path = directory / f"{safe}_{digest[:12]}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def compile_checked(disp: Any, argtypes: tuple) -> None:
    """Compile for ``argtypes``; decline if Numba would run the loop serially anyway."""
    from numba.core.errors import NumbaError, NumbaPerformanceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NumbaPerformanceWarning)
        try:
            disp.compile(argtypes)
        except NumbaError as exc:
            raise Decline(f"Numba could not compile the parallel loop: "
                          f"{trim_numba_error(exc)}") from None
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, NumbaPerformanceWarning) and "parallel" in text:
            raise Decline(f"Numba would run the loop serially: {text.splitlines()[0]}")
