"""Running a function with its NumPy namespace resolved to a GPU library.

The function is not rewritten: a copy of it is made whose globals (and closure
cells) that refer to NumPy — the module, its submodules, or functions imported
from it (``from numpy import sin``) — name the GPU library's equivalents instead,
in the way :func:`optlevel.analysis.scope.with_names` gives Numba compiled
helpers. Plain Python helpers the function calls are copied the same way, so the
arrays they make land on the device too. Names that have no GPU version are found
before anything runs (:func:`missing_ops`), so level 4 declines with the operation's
name; a NumPy attribute reached only at run time raises :class:`MissingOnDevice`.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ...analysis import FunctionFeatures, analyze
from ...analysis.scope import lookup_name, with_names
from ...analysis.source import unwrap_callable
from ...arrays import ArgKind, array_kind
from ...contract import Code, Decline
from .checks import gpu_findings

__all__ = ["DeviceNamespace", "MissingOnDevice", "missing_ops", "rebind", "lookup_dotted"]


class MissingOnDevice(AttributeError):
    """A NumPy name with no version in the GPU library (found while running)."""


class DeviceNamespace:
    """A module-like view of a GPU library under NumPy's names.

    Parameters
    ----------
    label : str
        ``"cupy"`` or ``"torch"``, for messages.
    base : module
        The library (``cupy``, ``array_api_compat.torch``) or its submodule.
    overrides : dict
        The thin table: NumPy names whose library version differs (a different name,
        a different default dtype, a Python scalar where NumPy returns one).
    submodules : dict
        ``"fft"``, ``"linalg"``, ``"random"`` → their own :class:`DeviceNamespace`.
    path : str
        The NumPy name of this namespace (``"numpy"``, ``"numpy.fft"``).
    differs : dict
        NumPy names the library has under the same name with another meaning
        (``torch.median`` takes the lower of the two middle values) → why; they count
        as missing, so level 4 declines them by name.
    """

    def __init__(self, label: str, base: Any, overrides: dict[str, Any] | None = None,
                 submodules: dict[str, Any] | None = None, path: str = "numpy",
                 differs: dict[str, str] | None = None):
        self._label = label
        self._base = base
        self._overrides = dict(overrides or {})
        self._submodules = dict(submodules or {})
        self._path = path
        self._differs = dict(differs or {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        found = self.find(name)
        if found is _MISSING:
            raise MissingOnDevice(self.why_missing(name))
        return found

    def find(self, name: str) -> Any:
        """The device version of ``name``, or ``_MISSING``."""
        if name in self._submodules:
            return self._submodules[name]
        if name in self._overrides:
            return self._overrides[name]
        if name in self._differs:
            return _MISSING
        return getattr(self._base, name, _MISSING)

    def why_missing(self, name: str) -> str:
        """Why ``name`` has no device version here (for messages)."""
        shown = "np" + self._path[len("numpy"):]
        if name in self._differs:
            return (f"{shown}.{name} means something else on {self._label}: "
                    f"{self._differs[name]}")
        return f"{shown}.{name} has no {self._label} version"

    def __repr__(self) -> str:
        return f"<{self._path} on {self._label}>"


_MISSING = object()


def lookup_dotted(xp: DeviceNamespace, dotted: str) -> Any:
    """``"numpy.fft.fft"`` → the device version in ``xp``, or ``_MISSING``."""
    parts = dotted.split(".")[1:]
    value: Any = xp
    for part in parts:
        if isinstance(value, DeviceNamespace):
            value = value.find(part)
        else:
            value = getattr(value, part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def missing_ops(features: FunctionFeatures, xp: DeviceNamespace) -> list[str]:
    """The NumPy calls of ``features`` with no version in ``xp`` (``"line 3: np.foo"``)."""
    out = []
    for findings in features.numpy_calls.values():
        for finding in findings:
            dotted = finding.detail or finding.what
            if not dotted.startswith("numpy."):
                continue  # a method call: checked when it runs
            if lookup_dotted(xp, dotted) is _MISSING:
                out.append(f"line {finding.line}: {_why_missing(xp, dotted)}")
    return out


def _why_missing(xp: DeviceNamespace, dotted: str) -> str:
    parent, _, name = dotted.rpartition(".")
    owner = lookup_dotted(xp, parent)  # "numpy" → xp itself
    if isinstance(owner, DeviceNamespace):
        return owner.why_missing(name)
    return f"np.{dotted[6:]} has no {xp._label} version"


def _numpy_value_on_device(value: Any, xp: DeviceNamespace) -> Any:
    """The device version of a NumPy module or function, ``value`` itself when it is not
    NumPy's, or ``_MISSING``."""
    if isinstance(value, types.ModuleType):
        name = value.__name__
        if name == "numpy" or name.startswith("numpy."):
            return lookup_dotted(xp, name)
        return value
    owner = getattr(value, "__self__", None)
    if isinstance(owner, np.random.RandomState):  # from numpy.random import random
        return lookup_dotted(xp, f"numpy.random.{value.__name__}")
    if isinstance(value, (np.ufunc, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(value, "__module__", None) or ""
        if isinstance(value, np.ufunc) or module == "numpy" or module.startswith("numpy."):
            if module.startswith("numpy.random") or module.startswith("numpy.fft") or \
                    module.startswith("numpy.linalg"):
                return lookup_dotted(xp, f"{module.replace('._pocketfft', '')}.{value.__name__}")
            return lookup_dotted(xp, f"numpy.{value.__name__}")
    return value


def rebind(func: Callable[..., Any], features: FunctionFeatures, xp: DeviceNamespace,
           visiting: tuple = ()) -> tuple[Callable[..., Any], frozenset]:
    """A copy of ``func`` whose NumPy names (and helpers) resolve to ``xp``.

    Returns the copy and the code objects of it and its helpers (to tell the user's
    own exceptions from the library's). Raises :class:`Decline` naming the first
    name with no device version, or a helper that cannot run on the device.
    """
    raw = unwrap_callable(func)
    if not isinstance(raw, types.FunctionType):
        raise Decline(f"{type(raw).__name__} is not a Python function", warn=False,
                      code=Code.UNSUPPORTED)
    codes = {raw.__code__}
    replacements: dict[str, Any] = {}
    names = set(features.loaded_globals) | set(features.called_globals)
    for name in sorted(names):
        found, value = lookup_name(raw, name, builtins_too=False)
        if not found:
            continue  # a NameError at run time, as in plain Python
        new, helper_codes = _device_value(name, value, xp, visiting + (raw,))
        codes |= helper_codes
        if new is not value:
            replacements[name] = new
    clone = with_names(raw, replacements) if replacements else raw
    return clone, frozenset(codes)


def _device_value(name: str, value: Any, xp: DeviceNamespace,
                  visiting: tuple) -> tuple[Any, frozenset]:
    py_func = getattr(value, "__optlevel_py_func__", None)
    if py_func is not None:  # an optlevel-decorated helper runs as plain code here
        value = py_func
    if array_kind(value) is ArgKind.NUMPY:
        raise Decline(f"reads the global NumPy array {name!r}, which would stay on the host",
                      code=Code.DECLINED)
    if isinstance(value, types.FunctionType) and not _is_numpy(value):
        if value in visiting:
            raise Decline(f"{name!r} is called recursively; level 4 does not follow "
                          "recursive helpers", code=Code.DECLINED)
        helper = analyze(value)
        findings = gpu_findings(helper, value)
        blockers = [str(f) for f in helper.semantic_blockers] + \
            [str(f) for f in findings.element_loops]
        if not helper.has_source or blockers:
            why = blockers[0] if blockers else helper.source.reason
            raise Decline(f"calls helper {name!r}, which cannot run on the GPU ({why})",
                          code=Code.DECLINED)
        missing = missing_ops(helper, xp)
        if missing:
            raise Decline(f"helper {name!r}: {missing[0]}",
                          code=Code.DECLINED)
        return rebind(value, helper, xp, visiting)
    new = _numpy_value_on_device(value, xp)
    if new is _MISSING:
        what = getattr(value, "__name__", name)
        raise Decline(f"uses np.{what} (as {name!r}), which has no GPU version",
                      code=Code.DECLINED)
    return new, frozenset()


def _is_numpy(func: types.FunctionType) -> bool:
    module = func.__module__ or ""
    return module == "numpy" or module.startswith("numpy.")


