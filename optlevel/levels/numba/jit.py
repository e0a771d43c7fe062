"""Level 2: Numba ``njit`` in nopython mode, cached on disk.

The AST pre-check (:class:`~optlevel.analysis.FunctionFeatures`) declines what
Numba cannot compile before a compile is paid for, and the catalogue
(:mod:`optlevel.levels.numba.semantics`) declines what it would compile to mean
something else, per call signature; plain Python helpers the function calls are
compiled too, with checked ``int``/``math`` and guarded globals
(:mod:`.numba_helpers`, :mod:`.numba_guard`); compiled code goes to
``OPTLEVEL_CACHE_DIR/numba`` so a second process loads instead of compiling
(:mod:`.numba_cache`). Functions without source are compiled from their
bytecode; auto decides by a measured trial and verifies their first call.
"""

from __future__ import annotations

import inspect
import re
import time
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from . import semantics
from ...contract import YES, BackendBase, Decline, Estimate, Prepared, Verdict
from .guard import ArgumentBeyondInt64, RebuildDeclined, guarded

_GOOD_DTYPE_KINDS = frozenset("biufc")  # bool, int, uint, float, complex


class NumbaBackend(BackendBase):
    name = "numba"
    level = 2
    requires: tuple[str, ...] = ("numba",)
    compiles = True
    install_hint = "pip install numba  (or: pip install optlevel, which depends on it)"

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        if not isinstance(features.function, types.FunctionType):
            return Verdict(False, features.source.reason)  # builtins, ufuncs, C functions
        # What compiled code would mean differently first: its reason names the entry.
        declined = semantics.declines(_call_findings(features, signature))
        if declined:
            return Verdict(False, str(declined[0]))
        if features.numba_blockers:
            first = features.numba_blockers[0]
            return Verdict(False, f"Numba cannot compile {first}")
        if features.is_generator or features.is_async:
            kind = "generator" if features.is_generator else "async"
            return Verdict(False, f"Numba cannot compile a {kind} function")
        for arg in signature.args:
            verdict = _arg_verdict(arg)
            if not verdict:
                return verdict
        return YES

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        """Level 2 pays where the time is in Python-level loops; already-vectorized
        NumPy stays lower, since ``njit`` of vectorized NumPy is often slower. Without
        source the loops cannot be seen: the first calls measure it."""
        if not features.has_source:
            return Estimate("trial", f"no source ({features.source.reason}): the AST "
                                     "findings (loops, the catalogue's checks) are missing, "
                                     "so under auto the first calls measure level 2 against "
                                     "level 0 (an explicit level compiles at once), and the "
                                     "first compiled call is verified",
                            explicit_trial=False)
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

        from .helpers import jit_dispatcher

        start = time.perf_counter()
        found = _call_findings(features, signature)
        # Python's ZeroDivisionError where every division that may meet zero divides
        # Python numbers (SEM004); NumPy's inf/nan rules otherwise.
        error_model = "python" if semantics.guards(found, "SEM004") else "numpy"
        built = jit_dispatcher(func, features, settings, error_model)
        disp = built.disp
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
                                         "as a numba.typed container instead [SEM020]")
            raise Decline(reason)
        fn, unfit = _callable(built, signature, features,
                              lambda: _rebuild(func, features, settings, error_model))
        return Prepared(fn, time.perf_counter() - start, (NumbaError, RebuildDeclined),
                        unfit_errors=unfit)


def _call_findings(features: FunctionFeatures, signature: ArgSignature) -> tuple:
    """The catalogue's findings for this call (at decoration's, without source)."""
    if not features.has_source or features.function is None:
        return tuple(features.semantic_findings)
    return semantics.call_findings(features.function, features, signature)


def _rebuild(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
             error_model: str) -> Any:
    """A global or cell the compiled code froze changed: build for its new value."""
    from .helpers import jit_dispatcher

    try:
        return jit_dispatcher(func, features, settings, error_model)
    except Decline as exc:
        raise RebuildDeclined(f"a global it reads changed, and then: {exc.reason}") from None


def _callable(built: Any, signature: ArgSignature, features: FunctionFeatures,
              rebuild: Callable[[], Any]) -> tuple[Callable[..., Any], tuple]:
    """The callable to run, and the errors that mean "this call's arguments do not fit"
    (that call runs at level 0; SEM017). Numba raises OverflowError when a Python int
    argument does not fit int64; where compiled code can raise OverflowError itself,
    the callable checks int arguments first and raises its own error instead."""
    from .checked import BeyondInt64

    int_args = any(a.kind in ("scalar", "tuple") and a.type_name in ("int", "tuple")
                   for a in signature.args)
    overflow_is_ours = not built.raises_overflow and features.has_source
    check_ints = int_args and not overflow_is_ours
    unfit: tuple[type[BaseException], ...] = (BeyondInt64,) if not features.mutated_params \
        else ()
    if int_args:
        unfit += (ArgumentBeyondInt64,) if check_ints else (OverflowError,)
    return guarded(built.disp, built.guards, rebuild, check_ints), unfit


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
        verdict = _dtype_verdict(arg)
        if not verdict:
            return verdict
        if arg.type_name != "ndarray":
            return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}, an ndarray "
                                  "subclass whose behaviour Numba would drop")
        return YES
    if arg.kind in ("scalar", "tuple"):
        return YES
    if arg.kind in ("cupy", "torch"):
        return Verdict(False, f"argument {arg.name!r} is a {arg.kind} array on "
                              f"{arg.device}; Numba's CPU JIT takes NumPy arrays")
    if arg.kind in ("list", "dict"):
        return Verdict(False, f"argument {arg.name!r} is a {arg.kind}: Numba would copy it "
                              "in and out (reflection) instead of sharing it, so it runs "
                              "in Python [SEM019]")
    return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}; Numba compiles "
                          "NumPy arrays and scalars")


def _dtype_verdict(arg: Any) -> Verdict:
    """Dtypes Numba does not take (SEM016) and non-native byte orders (SEM015)."""
    try:
        dtype = np.dtype(arg.dtype)
    except TypeError:  # a structured dtype's str() does not parse back
        dtype = None
    if dtype is None or dtype.names is not None:
        return Verdict(False, f"argument {arg.name!r} has the structured dtype {arg.dtype}; "
                              "optlevel runs structured arrays in Python [SEM016]")
    if not dtype.isnative:
        return Verdict(False, f"argument {arg.name!r} has the non-native byte order "
                              f"{arg.dtype}; Numba compiles native-order arrays only "
                              "(x.astype(x.dtype.newbyteorder('=')) converts it) [SEM015]")
    if dtype.kind not in _GOOD_DTYPE_KINDS or dtype == np.float16:
        return Verdict(False, f"argument {arg.name!r} has dtype {arg.dtype}; Numba "
                              "compiles bool, integer, float (32 and 64 bits) and complex "
                              "arrays [SEM016]")
    return YES


def _argument_types(py_func: Callable[..., Any], args: tuple, kwargs: dict) -> tuple:
    """Numba types of a call, in parameter order, defaults as ``Omitted`` like Numba's own
    dispatcher folds them, so the explicit compile matches what the call will look up."""
    from numba import typeof, types

    try:
        bound = inspect.signature(py_func).bind(*args, **kwargs)
    except TypeError as exc:
        raise Decline(f"the arguments do not fit the signature: {exc}", warn=False) from None
    out: list[Any] = []
    for name, param in inspect.signature(py_func).parameters.items():
        if name in bound.arguments:
            value = bound.arguments[name]
            if type(value) is int:
                # As Numba's own dispatcher types a Python int at call time: int64. A
                # value beyond it then fails to unbox (OverflowError, a per-call
                # fallback) instead of compiling a uint64 version that wraps (SEM017).
                out.append(types.int64)
                continue
            try:
                out.append(typeof(value))
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
