"""Building the Numba dispatcher for a function: helpers, globals, checks, disk cache.

Numba resolves the globals a function reads at compile time and freezes them.
So the compiled function is built from a copy whose globals (and closure cells)
name:

- compiled helpers: a plain Python helper is not callable from nopython code, so
  each helper the function calls is compiled too (it must pass the same checks);
- checked replacements for ``int``, ``round`` and ``math`` (catalogue SEM007,
  SEM008; :mod:`.checked`).

Everything else the build froze is recorded as :class:`Guard` s: the global
scalars it read, the helpers' bindings, the closure cells (catalogue SEM012,
SEM013). The Numba backend checks them before each call and rebuilds when one
changed; the build's key (in memory, and the disk cache's) includes the frozen
values and the helpers' bytecode, and the same of each helper's helpers in turn:
a helper's ``K`` is compiled into its caller, so a new ``K`` is a new caller.
Global arrays, uncompilable helpers and callables of unknown kinds
decline level 2 with the line that caused it.

Functions without source are built from their bytecode: the names they load
(``LOAD_GLOBAL``) stand in for the AST's, and every plain Python function among
them is compiled as a helper.

Imported by the Numba backend when it builds code (it imports Numba), never by
``import optlevel``.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import dis
import hashlib
import types
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from ...analysis import FunctionFeatures, analyze
from ...analysis.scope import lookup_name, with_names
from ...analysis.source import unwrap_callable
from ...config import usable_cache_dir
from ...contract import Code, Decline
from ...core.runtime import RUNTIME
from .cache import attach_cache
from .catalogue import declines
from .checked import replacement
from .kinds import UNKNOWN, value_kind
from .proofs import Proofs
from .rewrite import checked_function
from .shims import shim_names

__all__ = ["Built", "Guard", "jit_dispatcher", "CHECKED_VERSION"]

#: What compiled code means, for the disk caches' keys (level 2's directory, prange's
#: source header): bumped with each change of the rewrite or of the replacements
#: compiled code calls (3: NumPy's own sums, SEM031; 2: NumPy's own math, SEM030), so
#: code built by an older optlevel is never loaded where it would mean something else.
CHECKED_VERSION = "checked-5"

# (function, boundscheck, error model, frozen values) → Built, or the Decline raised.
# Built once under the cache's lock (helpers are built inside their caller's build).
_built = RUNTIME.cache("numba.built", maxsize=1024)
_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Guard:
    """A value the compiled code froze: ``owner[name]`` (a globals dict) or ``cell``."""

    owner: Any  # the function's globals dict, or a closure cell
    name: str
    value: Any

    def holds(self) -> bool:
        if isinstance(self.owner, dict):
            return self.owner.get(self.name, _MISSING) is self.value
        try:
            return self.owner.cell_contents is self.value
        except ValueError:  # the cell was emptied
            return False


@dataclasses.dataclass(frozen=True)
class Built:
    """A Numba dispatcher and what it froze (its helpers' guards included)."""

    disp: Any
    guards: tuple[Guard, ...]
    #: True when compiled code can raise OverflowError (an explicit raise), so it
    #: cannot mean "an argument did not fit"
    raises_overflow: bool
    #: True when compiled code can ask for a replay whatever the argument types: a
    #: checked replacement (int(), math), a helper that can, an index checked at run
    #: time (``boundscheck``)
    replays: bool = False
    #: True when it compiled without bounds checks, every subscript proven in range
    proven_bounds: bool = False
    #: the shape conditions the proof needs (``proofs.Proofs.proven_if``), checked
    #: before each call
    shape_checks: tuple[tuple[str, int, str, int], ...] = ()
    #: True when its arithmetic was rewritten into checked ops (whether one of them
    #: checks anything depends on the types: see ``jit.may_replay``)
    checked: bool = False


def jit_dispatcher(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
                   error_model: str = "numpy") -> Built:
    """The (cached) dispatcher for ``func`` as its globals are now; raises Decline."""
    return _build(func, features, settings, error_model, visiting=())


def _build(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
           error_model: str, visiting: tuple) -> Built:
    names = _frozen_names(func, features)
    attrs = module_attributes(func, features.source.tree)
    values_key = _values_key(func, names, attrs)
    key = (func, bool(settings.boundscheck), error_model, values_key)

    def make() -> Built | Decline:
        try:
            return _make(func, features, settings, error_model, names, values_key,
                         visiting + (func,))
        except Decline as exc:
            return exc

    found = _built.get_or_make(key, make)
    if isinstance(found, Decline):
        raise found
    return found


def _make(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
          error_model: str, names: dict[str, str], values_key: str, visiting: tuple) -> Built:
    from .npreduce import CACHE_TAG as SUMS_TAG  # registers NumPy's loops
    from .npreduce import OPS as SUMS

    target, guards, overflow, replays = _rebind(func, features, settings, names, visiting)
    tree = features.source.tree
    conditions: tuple | None = None
    rewritten = False
    if isinstance(tree, ast.FunctionDef):
        from .intops import OPS

        checked = checked_function(target, tree, collections.ChainMap(SUMS, OPS), {})
        if checked is not None:
            target, rewritten = checked, True
        conditions = Proofs(tree).proven_if()
        if conditions and len(visiting) > 1:
            conditions = None  # a helper: its arguments' shapes are not checked per call
    options: dict[str, Any] = {}
    if tree is None:  # no source: the same checks, put in by a pass over Numba's IR
        from .irpass import CheckedPipeline

        options["pipeline_class"] = CheckedPipeline
        rewritten = True
    proven = conditions is not None
    boundscheck = bool(settings.boundscheck) and not proven
    disp = numba.njit(boundscheck=boundscheck,  # type: ignore[call-overload]
                      error_model=error_model, nogil=True, **options)(target)
    # Numba's cache index ignores compile options, so each boundscheck setting and error
    # model gets its own directory; otherwise code built without bounds checks (or
    # without ZeroDivisionError checks) would load where they are asked for. The
    # checked rewrite keeps the file and line, so it has its own directory too.
    checks = "boundscheck" if boundscheck else "no-boundscheck"
    if error_model == "python":
        checks += "-python-errors"
    checks += f"-{CHECKED_VERSION}-{SUMS_TAG}"
    attach_cache(disp, usable_cache_dir(settings.cache_dir) / "numba" / checks, values_key)
    return Built(disp, guards, overflow or _may_raise_overflow(func),
                 replays or boundscheck or (rewritten and len(visiting) > 1), proven,
                 conditions or (), rewritten)


def _frozen_names(func: Callable[..., Any], features: FunctionFeatures) -> dict[str, str]:
    """The global names the compiled code reads: name → "call" or "load"."""
    if features.has_source:
        out = {name: "load" for name in features.loaded_globals}
        out.update({name: "call" for name in features.called_globals})
        return out
    code = func.__code__
    return {ins.argval: "load" for ins in dis.get_instructions(code)
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str)}


def module_attributes(func: Callable[..., Any], tree: Any) -> list[tuple[str, Any, str, Any]]:
    """``(text, module, attribute, value)`` of each ``mod.attr`` the function reads from a
    module of the user's (not NumPy, math, Numba…): Numba freezes those values too."""
    found: dict[str, tuple[str, Any, str, Any]] = {}
    for owner, attr in _attribute_loads(func, tree):
        ok, module = lookup_name(func, owner)
        if not ok or not isinstance(module, types.ModuleType) or \
                (module.__name__ or "").split(".")[0] in _LIBRARIES:
            continue
        value = getattr(module, attr, _MISSING)
        if value is not _MISSING and (_is_data(value) or isinstance(value, np.ndarray)):
            text = f"{owner}.{attr}"
            found[text] = (text, module, attr, value)
    return [found[k] for k in sorted(found)]


def _attribute_loads(func: Callable[..., Any], tree: Any) -> list[tuple[str, str]]:
    """``(name, attribute)`` of each ``name.attribute`` read: from the AST, or without
    source from the bytecode (a global load followed by an attribute load)."""
    if isinstance(tree, ast.FunctionDef):
        return [(n.value.id, n.attr) for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                and isinstance(n.ctx, ast.Load)]
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    ins = list(dis.get_instructions(code))
    return [(a.argval, b.argval) for a, b in zip(ins, ins[1:])
            if a.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF")
            and b.opname in ("LOAD_ATTR", "LOAD_METHOD")
            and isinstance(a.argval, str) and isinstance(b.argval, str)]


_LIBRARIES = frozenset({"numpy", "math", "cmath", "numba", "builtins", "operator"})


def _values_key(func: Callable[..., Any], names: dict[str, str],
                attrs: list[tuple[str, Any, str, Any]] = ()) -> str:  # type: ignore[assignment]
    """What the disk cache (and the in-memory one, :data:`_built`) must also match: the
    frozen data values and the bytecode of the plain Python functions the code calls
    (Numba's own key covers neither), and the same of each of those helpers in turn.
    A helper's frozen globals are compiled into its caller's code, so a helper's
    ``K = 3.0`` must give its caller a new key, or the rebuild its guard asks for would
    hand back the code built for the old value (in memory, or from disk)."""
    parts = _value_parts(func, names, attrs, {func})
    if not parts:
        return ""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _value_parts(func: Callable[..., Any], names: Any,
                 attrs: list[tuple[str, Any, str, Any]], seen: set) -> list[str]:
    parts = [f"{text}={type(value).__qualname__}:{value!r}" for text, _, _, value in attrs
             if not isinstance(value, np.ndarray)]
    for name in sorted(names):
        found, value = lookup_name(func, name)
        if not found or isinstance(value, np.ndarray):  # a global array declines (SEM014)
            continue
        if _is_data(value):
            parts.append(f"{name}={type(value).__qualname__}:{value!r}")
        elif isinstance(value, types.FunctionType) or hasattr(value, "__optlevel_py_func__"):
            helper = unwrap_callable(getattr(value, "__optlevel_py_func__", value))
            code = getattr(helper, "__code__", None)
            if code is not None:
                parts.append(f"{name}@{code.co_code.hex()}{code.co_consts!r}")
                if helper not in seen and isinstance(helper, types.FunctionType) and \
                        (helper.__module__ or "").split(".")[0] not in _LIBRARIES:
                    seen.add(helper)  # a recursive helper declines; its key still ends
                    inner = _value_parts(helper, _read_names(helper),
                                         module_attributes(helper, None), seen)
                    parts.extend(f"{name}.{part}" for part in inner)
    return parts


def _read_names(func: types.FunctionType) -> set[str]:
    """Every global and closure name ``func``'s bytecode reads (a superset of what its
    compiled code freezes; read from the bytecode, so no source is parsed per key)."""
    code = func.__code__
    return {ins.argval for ins in dis.get_instructions(code)
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str)
            } | set(code.co_freevars)


def _is_data(value: Any) -> bool:
    """A value Numba freezes as a constant (checked before each call)."""
    if isinstance(value, tuple):
        return all(_is_data(v) for v in value)
    return value_kind(value) != UNKNOWN or isinstance(value, np.dtype)


def _rebind(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
            names: dict[str, str], visiting: tuple
            ) -> tuple[Any, tuple[Guard, ...], bool, bool]:
    """``func``, or a copy naming compiled helpers and checked replacements; the
    guards of what it froze; whether its compiled code may raise OverflowError, and
    whether it may ask for a replay."""
    replacements: dict[str, Any] = {}
    guards: list[Guard] = []
    overflow = False
    replays = False
    for name, how in sorted(names.items()):
        found, value = lookup_name(func, name)
        if name in func.__code__.co_freevars:
            continue  # cells are guarded below
        if isinstance(value, np.ndarray):
            raise Decline(f"reads the global array {name!r}: Numba would freeze its values "
                          "at compile time, so later changes to it would be ignored "
                          "[SEM014]", code="SEM014")
        if not found:
            if how == "call":
                line = features.called_globals.get(name, 0)
                raise Decline(f"line {line}: calls {name!r}, which is not defined",
                              warn=False)
            continue
        if _is_data(value):
            guards.append(Guard(func.__globals__, name, value))
            continue
        callee = _callee(name, how, value, features, settings, visiting)
        if callee is not None:
            compiled, helper_guards, helper_overflow, helper_replays = callee
            guards.append(Guard(func.__globals__, name, value))
            guards.extend(helper_guards)
            overflow |= helper_overflow
            replays |= helper_replays
            replacements[name] = compiled
    shims = _shims(func, features)
    if shims:
        replays = True  # the checked replacements replay where Python raises
        replacements.update(shims)
    for text, module, attr, value in module_attributes(func, features.source.tree):
        if isinstance(value, np.ndarray):
            raise Decline(f"reads the array {text} from a module: Numba would freeze its "
                          "values at compile time, so later changes to it would be ignored; "
                          "pass it as an argument [SEM014]", code="SEM014")
        guards.append(Guard(vars(module), attr, value))  # rebinding cfg.SCALE rebuilds
    for var, cell in zip(func.__code__.co_freevars, func.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, np.ndarray):
            raise Decline(f"reads the array {var!r} from its closure: Numba would freeze "
                          "its values at compile time, so changes made to it in place "
                          "would be ignored; pass it as an argument [SEM014]", code="SEM014")
        guards.append(Guard(cell, var, value))
        callee = _callee(var, "call", value, features, settings, visiting) \
            if isinstance(value, types.FunctionType) else None
        if callee is not None:
            replacements[var], helper_guards, helper_overflow, helper_replays = callee
            guards.extend(helper_guards)
            overflow |= helper_overflow
            replays |= helper_replays
    target = with_names(func, replacements) if replacements else func
    return target, tuple(guards), overflow, replays


def _callee(name: str, how: str, value: Any, features: FunctionFeatures, settings: Any,
            visiting: tuple) -> tuple[Any, tuple[Guard, ...], bool, bool] | None:
    """A compiled helper for a called plain function, or None when Numba takes
    ``value`` as it is (NumPy, math, builtins, ufuncs, Numba functions)."""
    line = features.called_globals.get(name, 0)
    py_func = getattr(value, "__optlevel_py_func__", None)
    if py_func is not None:  # an optlevel-decorated helper
        value = py_func
    module = getattr(type(value), "__module__", "") or ""
    if module.startswith("numba"):
        return None
    if isinstance(value, types.FunctionType):
        if (value.__module__ or "").split(".")[0] in ("numpy", "math", "cmath", "numba"):
            return None
        helper = unwrap_callable(value)
        if helper in visiting:
            raise Decline(f"line {line}: {name!r} is called recursively; "
                          "optlevel does not compile recursive helpers")
        helper_features = analyze(helper)
        declined = declines(helper_features.semantic_findings)
        blockers = list(helper_features.numba_blockers) + list(declined)
        if blockers:
            # the catalogue's entry where it is one (I/O, random numbers in the helper)
            code = declined[0].detail if declined and blockers[0] is declined[0] \
                else Code.UNSUPPORTED
            raise Decline(f"line {line}: calls helper {name!r}, which Numba cannot "
                          f"compile as Python means it ({blockers[0]})", code=code)
        built = _build(helper, helper_features, settings, "numpy", visiting)
        return built.disp, built.guards, built.raises_overflow, built.replays
    if how == "load" or isinstance(value, (types.BuiltinFunctionType, np.ufunc, type,
                                           types.ModuleType)):
        return None
    raise Decline(f"line {line}: calls {name!r}, a {type(value).__name__} that Numba "
                  "cannot compile")


def _shims(func: Callable[..., Any], features: FunctionFeatures) -> dict[str, Any]:
    """Checked replacements for ``int``, ``round``, ``math``… (SEM007, SEM008)."""
    tree = features.source.tree
    if tree is None:
        return {}
    names = shim_names(func, tree, features.params)
    if not names:
        return {}
    return {name: replacement(what) for name, what in names.items()}


def _may_raise_overflow(func: Callable[..., Any]) -> bool:
    """Can the function's own code raise OverflowError (``raise OverflowError``, or a
    class it cannot tell apart)? Read from the bytecode, so it works without source."""
    instructions = list(dis.get_instructions(func.__code__))
    if not any(ins.opname == "RAISE_VARARGS" and ins.arg for ins in instructions):
        return False
    safe = {"ValueError", "IndexError", "KeyError", "TypeError", "ZeroDivisionError",
            "AssertionError", "RuntimeError", "NotImplementedError", "StopIteration"}
    for ins in instructions:
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
            found, value = lookup_name(func, ins.argval)
            if isinstance(value, type) and issubclass(value, BaseException) and \
                    ins.argval not in safe:
                return True
    return False


