"""Level 2: Numba ``njit`` in nopython mode, cached on disk.

The AST pre-check (:class:`~optlevel.analysis.FunctionFeatures`) declines what
Numba cannot compile before a compile is paid for; plain Python helpers the
function calls are compiled too (:mod:`.numba_helpers`); compiled code goes to
``OPTLEVEL_CACHE_DIR/numba`` so a second process loads instead of compiling.
"""

from __future__ import annotations

import inspect
import re
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis import ArgSignature, FunctionFeatures
from . import YES, BackendBase, Decline, Estimate, Prepared, Verdict

_GOOD_DTYPE_KINDS = frozenset("biufc")  # bool, int, uint, float, complex


class NumbaBackend(BackendBase):
    name = "numba"
    level = 2
    requires: tuple[str, ...] = ("numba",)
    compiles = True
    install_hint = "pip install numba  (or: pip install optlevel, which depends on it)"

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        if not features.has_source:
            return Verdict(False, features.source.reason)
        if features.numba_blockers:
            first = features.numba_blockers[0]
            return Verdict(False, f"Numba cannot compile {first}")
        if features.semantic_blockers:
            first = features.semantic_blockers[0]
            return Verdict(False, f"{first}: runs in Python to keep its meaning")
        for arg in signature.args:
            verdict = _arg_verdict(arg)
            if not verdict:
                return verdict
        return YES

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        """Level 2 pays where the time is in Python-level loops; already-vectorized
        NumPy stays lower, since ``njit`` of vectorized NumPy is often slower."""
        hot = [loop for loop in features.loops if loop.hot]
        if not hot:
            return Estimate("no", "no Python-level loops: vectorized NumPy already runs "
                                  "compiled code, and njit would not pay")
        lines = ", ".join(str(loop.line) for loop in hot[:4])
        if features.scalar_hot_loops:
            return Estimate("yes", f"Python-level loops (line {lines}) compile to machine "
                                   "code")
        return Estimate("trial", f"the loops (line {lines}) call NumPy on whole arrays, "
                                 "which compiled code may not speed up: the first calls "
                                 "measure level 2 against level 0")

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        from numba.core.errors import NumbaError

        from .numba_helpers import jit_dispatcher

        start = time.perf_counter()
        disp = jit_dispatcher(func, features, settings)
        argtypes = _argument_types(disp.py_func, args, kwargs or {})
        failed = _failed.setdefault(disp, {})
        if argtypes in failed:  # e.g. the same dtypes in another size class
            raise Decline(failed[argtypes])
        try:
            disp.compile(argtypes)
        except NumbaError as exc:
            reason = failed[argtypes] = f"Numba could not compile it: {trim_numba_error(exc)}"
            raise Decline(reason) from None
        except Exception as exc:  # a compiler bug must not break the user's call
            reason = failed[argtypes] = (f"Numba failed while compiling: "
                                         f"{type(exc).__name__}: {_first_line(str(exc))}")
            raise Decline(reason) from None
        changed = _changed_container(disp.overloads[argtypes].signature.return_type)
        if changed:
            failed[argtypes] = reason = (f"it returns {changed}, which Numba would hand back "
                                         "as a numba.typed container instead")
            raise Decline(reason)
        return Prepared(disp, time.perf_counter() - start, (NumbaError,))


#: Numba dispatcher → {argument types: why they failed to compile}; never retried.
_failed: weakref.WeakKeyDictionary[Any, dict[tuple, str]] = weakref.WeakKeyDictionary()


def _changed_container(rtype: Any) -> str | None:
    """The part of a return type that would not come back as the plain function's
    container (typed dicts and typed lists), or None when the result is faithful."""
    from numba.core import types

    if isinstance(rtype, types.DictType):
        return "a dict"
    if isinstance(rtype, types.ListType):
        return "a typed list"
    if isinstance(rtype, types.BaseTuple):
        for item in getattr(rtype, "types", ()):
            found = _changed_container(item)
            if found:
                return found
    return None


def _arg_verdict(arg: Any) -> Verdict:
    if arg.kind == "numpy":
        if np.dtype(arg.dtype).kind not in _GOOD_DTYPE_KINDS:
            return Verdict(False, f"argument {arg.name!r} has dtype {arg.dtype}; Numba "
                                  "compiles bool, integer, float and complex arrays")
        if arg.type_name != "ndarray":
            return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}, an ndarray "
                                  "subclass whose behaviour Numba would drop")
        return YES
    if arg.kind in ("scalar", "tuple"):
        return YES
    if arg.kind in ("cupy", "torch"):
        return Verdict(False, f"argument {arg.name!r} is a {arg.kind} array on "
                              f"{arg.device}; Numba's CPU JIT takes NumPy arrays")
    return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}; Numba compiles "
                          "NumPy arrays and scalars")


def _argument_types(py_func: Callable[..., Any], args: tuple, kwargs: dict) -> tuple:
    """Numba types of a call, in parameter order, defaults as ``Omitted`` like Numba's own
    dispatcher folds them, so the explicit compile matches what the call will look up."""
    from numba import typeof, types

    try:
        bound = inspect.signature(py_func).bind(*args, **kwargs)
    except TypeError as exc:
        raise Decline(f"the arguments do not fit the signature: {exc}", warn=False) from None
    out = []
    for name, param in inspect.signature(py_func).parameters.items():
        if name in bound.arguments:
            try:
                out.append(typeof(bound.arguments[name]))
            except ValueError:
                raise Decline(f"argument {name!r} has no Numba type") from None
        else:
            out.append(types.Omitted(param.default))
    return tuple(out)


_LINE_RE = re.compile(r'File "([^"]+)", line (\d+)')


def trim_numba_error(exc: BaseException) -> str:
    """Numba's message cut to what a user needs: the line and the first complaint."""
    text = str(exc)
    where = ""
    matches = _LINE_RE.findall(text)
    if matches:
        filename, line = matches[-1]
        where = f"line {line}: "
        source_line = _source_line_after(text, f'line {line}:')
        if source_line:
            where += f"`{source_line}`: "
    return where + _first_line(text)


def _source_line_after(text: str, marker: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().endswith(marker) and i + 1 < len(lines):
            return lines[i + 1].strip().lstrip(">").strip()
    return ""


def _first_line(text: str) -> str:
    """The first line that says something, skipping Numba's pipeline banners."""
    noise = ("Failed in ", "During:", "File ", "Enable logging")
    for line in text.splitlines():
        clean = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if clean and not clean.startswith(noise) and not clean.startswith("^"):
            return clean[:300]
    return text.strip().splitlines()[0][:300] if text.strip() else type(text).__name__
