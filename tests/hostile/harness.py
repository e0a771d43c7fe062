"""Run one hostile case under optlevel and under the plain function, and compare.

A :class:`Case` is a plain function, a way to make fresh arguments for it, and
optionally a script of changes made between calls (a module attribute changed in
place, say). :func:`check` runs the case's calls through the plain function and
through ``optimize(...)`` in one *mode* (a level, strict or not, or auto) and
returns the differences, each already sorted into one of the report's
categories:

WRONG        a different value, argument contents afterwards, user warnings,
             exception message, or a value where Python raises
WRONG-TYPE   the same value of another type (``float`` for ``np.float64``)
WRONG-MESSAGE  Python's exception type with another message
CRASH        an exception Python does not raise (optlevel's own, SystemError,
             a pickling error, another type)
SEGFAULT     the process died of a signal (subprocess cases only)
HANG         no answer within the time limit (subprocess cases only)
RACE         a difference that only threads calling together produce

What is accepted (from the docs, nothing more):

* NumPy's floating-point ``RuntimeWarning``s (overflow, division by zero, invalid
  value, mean of an empty slice) are not compared: compiled code does not issue
  them, as docs/levels/jit.md "Known differences" says;
* optlevel's own warnings (``OptlevelWarning`` and its subclasses: fallbacks,
  advice, result mismatches) may appear; the user's own warnings (issued from
  the case modules) must be the plain function's, in order;
* under ``strict=True`` a level that cannot serve the call raises
  ``LevelUnavailable`` (docs/quickstart.md, "strict");
* floats agree exactly, except in cases marked ``reorder=True``: a float sum
  or reduction that the docs allow to be reordered or computed on whole arrays
  (docs/levels/vectorize.md "Summation order", docs/levels/parallel.md), where
  optlevel's tolerance applies (1e-9 relative and absolute for float64, 1e-4
  for float32, as in docs/levels/jit.md "verify").
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import optlevel

#: every mode a case runs in: levels 1-4 as a ceiling, 1-4 strict, auto
MODES = ("L1", "L2", "L3", "L4", "S1", "S2", "S3", "S4", "auto")
CATEGORIES = ("WRONG", "WRONG-TYPE", "WRONG-MESSAGE", "CRASH", "SEGFAULT", "HANG", "RACE")
#: NumPy's floating-point warnings: compiled code does not issue them (docs/levels/jit.md,
#: "Known differences"; docs/levels/vectorize.md, "Integers wrap"), so they are not compared
NUMPY_WARNING = re.compile(r"encountered in|Mean of empty slice|Degrees of freedom|empty slice")
HERE = Path(__file__).resolve().parent
RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4,
        np.dtype(np.complex128): 1e-9, np.dtype(np.complex64): 1e-4}


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile call: ``func(*make(size))``, compared with the plain function.

    ``make(size)`` returns a fresh argument tuple each time (``size`` is
    ``"small"`` or ``"large"``). ``before(k)`` runs before call ``k`` on both
    sides (it may change a global, an attribute, a closure's array); ``reset()``
    puts that state back before each side starts.
    """

    name: str
    func: Callable[..., Any]
    make: Callable[[str], tuple]
    kind: str
    sizes: tuple[str, ...] = ("small",)
    reorder: bool = False
    calls: int = 2
    before: Callable[[int], None] | None = None
    reset: Callable[[], None] | None = None
    subprocess: bool = False
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Seen:
    """What one call did: its value or exception, user warnings, arguments after."""

    value: Any = None
    exc: BaseException | None = None
    warnings: list = dataclasses.field(default_factory=list)
    args: Any = None
    returned_arg: int | None = None  # the position of the argument returned, if any


@dataclasses.dataclass(frozen=True)
class Finding:
    category: str
    case: str
    mode: str
    size: str
    call: int
    detail: str

    def line(self) -> str:
        return f"{self.case} [{self.mode}, {self.size}, call {self.call + 1}]: {self.detail}"


def decorate(func: Callable[..., Any], mode: str, options: dict | None = None):
    """``optimize`` in one mode: ``L2`` is level=2, ``S2`` level=2 strict, ``auto``."""
    opts = dict(options or {})
    if mode == "auto":
        return optlevel.optimize(level="auto", **opts)(func)
    return optlevel.optimize(level=int(mode[1]), strict=mode[0] == "S", **opts)(func)


def _snapshot(obj: Any) -> Any:
    """A comparable copy of an argument after the call (iterators: what is left)."""
    if isinstance(obj, (types.GeneratorType, Iterator)):
        return ("<iterator rest>", list(obj))
    try:
        return copy.deepcopy(obj)
    except Exception:  # an object that cannot be copied is compared by identity
        return obj


def _user_warnings(records) -> list[tuple[str, str]]:
    out = []
    for w in records:
        if isinstance(w.message, optlevel.OptlevelWarning):
            continue
        if isinstance(w.message, RuntimeWarning) and NUMPY_WARNING.search(str(w.message)):
            continue
        if Path(w.filename).resolve().parent == HERE:
            out.append((type(w.message).__name__, str(w.message)))
    return out


def observe(fn: Callable[..., Any], args: tuple) -> Seen:
    """Call ``fn(*args)`` and record what it did."""
    seen = Seen()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            seen.value = fn(*args)
        except Exception as exc:  # the comparison is the point: keep any exception
            seen.exc = exc
    seen.warnings = _user_warnings(records)
    for i, a in enumerate(args):
        if seen.exc is None and seen.value is a and not isinstance(a, (int, float, str, bool)):
            seen.returned_arg = i
    seen.args = [_snapshot(a) for a in args]
    return seen


def run_calls(case: Case, fn: Callable[..., Any], size: str) -> list[Seen]:
    """The case's calls through ``fn``, with its script of changes between them."""
    if case.reset is not None:
        case.reset()
    seen = []
    for k in range(case.calls):
        if case.before is not None:
            case.before(k)
        seen.append(observe(fn, case.make(size)))
    if case.reset is not None:
        case.reset()
    return seen


def _float_close(a: float, b: float, rtol: float | None) -> bool:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    return rtol is not None and abs(a - b) <= rtol + rtol * abs(b)


def same_value(want: Any, got: Any, reorder: bool) -> str | None:
    """``None`` when ``got`` equals ``want`` (types aside), else why not."""
    if isinstance(want, np.ndarray):
        if not isinstance(got, np.ndarray):
            return f"{type(got).__name__} where an array was expected"
        if want.shape != got.shape or want.dtype != got.dtype:
            return f"{got.dtype}{got.shape} for {want.dtype}{want.shape}"
        if want.dtype.kind in "fc":
            rtol = RTOL.get(want.dtype) if reorder else 0.0
            ok = np.allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True) if rtol else \
                np.array_equal(got, want, equal_nan=True)
        else:
            ok = np.array_equal(got, want)
        return None if ok else f"array differs: {_short(got)} for {_short(want)}"
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        if len(want) != len(got):
            return f"length {len(got)} for {len(want)}"
        for i, (w, g) in enumerate(zip(want, got)):
            why = same_value(w, g, reorder)
            if why:
                return f"[{i}]: {why}"
        return None
    if isinstance(want, dict) and isinstance(got, dict):
        if want.keys() != got.keys():
            return f"keys {sorted(got)!r} for {sorted(want)!r}"
        for k in want:
            why = same_value(want[k], got[k], reorder)
            if why:
                return f"[{k!r}]: {why}"
        return None
    if isinstance(want, (float, complex, np.floating, np.complexfloating)) and \
            isinstance(got, (int, float, complex, np.number)):
        rtol = (RTOL.get(np.asarray(want).dtype, 1e-9) if reorder else None)
        w, g = complex(want), complex(got)
        if _float_close(w.real, g.real, rtol) and _float_close(w.imag, g.imag, rtol):
            return None
        return f"{got!r} for {want!r}"
    try:
        eq = want == got
        eq = bool(eq) if not isinstance(eq, np.ndarray) else bool(eq.all())
    except Exception as exc:
        return f"cannot compare {got!r} with {want!r}: {exc}"
    return None if eq else f"{got!r} for {want!r}"


def same_type(want: Any, got: Any) -> str | None:
    if type(want) is not type(got):
        return f"{type(got).__module__}.{type(got).__name__} for " \
               f"{type(want).__module__}.{type(want).__name__} ({got!r})"
    if isinstance(want, (list, tuple)):
        for w, g in zip(want, got):
            why = same_type(w, g)
            if why:
                return why
    if isinstance(want, dict):
        for k in want:
            if k in got:
                why = same_type(want[k], got[k])
                if why:
                    return why
    return None


def _short(x: Any) -> str:
    text = np.array2string(x, threshold=8, edgeitems=3) if isinstance(x, np.ndarray) else repr(x)
    text = " ".join(text.split())
    return text if len(text) < 90 else text[:87] + "..."


def _exc(e: BaseException) -> str:
    return f"{type(e).__name__}: {_short(str(e))}"


def compare(want: Seen, got: Seen, case: Case, mode: str) -> tuple[str, str] | None:
    """The category and a one-line reason when ``got`` is not ``want``."""
    if got.exc is not None and mode.startswith("S") and \
            isinstance(got.exc, optlevel.LevelUnavailable):
        return None  # strict: the level does not serve this call, as documented
    if want.exc is not None or got.exc is not None:
        if got.exc is None:
            return "WRONG", f"returned {_short(got.value)} where Python raises {_exc(want.exc)}"
        if want.exc is None:
            return "CRASH", f"raised {_exc(got.exc)} where Python returns {_short(want.value)}"
        if type(got.exc) is not type(want.exc):
            return "CRASH", f"raised {_exc(got.exc)} where Python raises {_exc(want.exc)}"
        if str(got.exc) != str(want.exc):
            return "WRONG-MESSAGE", f"{type(got.exc).__name__} {str(got.exc)!r} for {str(want.exc)!r}"
    else:
        why = same_value(want.value, got.value, case.reorder)
        if why:
            return "WRONG", f"value: {why}"
        if want.returned_arg != got.returned_arg:
            return "WRONG", f"returned argument {want.returned_arg} is not returned itself " \
                            f"(got {got.returned_arg})"
    why = same_value(want.args, got.args, case.reorder)
    if why:
        return "WRONG", f"arguments afterwards: {why}"
    if want.warnings != got.warnings:
        return "WRONG", f"user warnings {got.warnings} for {want.warnings}"
    if want.exc is None and got.exc is None:
        why = same_type(want.value, got.value)
        if why:
            return "WRONG-TYPE", why
    return None


def check(case: Case, mode: str, size: str = "small") -> list[Finding]:
    """Every difference between optlevel in ``mode`` and the plain function."""
    want = run_calls(case, case.func, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optlevel.OptlevelWarning)
        try:
            fn = decorate(case.func, mode, case.options)
        except Exception as exc:
            return [Finding("CRASH", case.name, mode, size, 0, f"decorating: {_exc(exc)}")]
        got = run_calls(case, fn, size)
    found = []
    for k, (w, g) in enumerate(zip(want, got)):
        diff = compare(w, g, case, mode)
        if diff:
            found.append(Finding(diff[0], case.name, mode, size, k, diff[1]))
    return found
