"""The arguments level 2 takes, and their Numba types.

:func:`arg_verdict` refuses, with the argument's name, what Numba would not
compile or would compile to mean something else: arrays of another library,
lists and dicts (reflection, SEM019), ndarray subclasses, structured and
unsupported dtypes (SEM016) and non-native byte orders (SEM015).
:func:`argument_types` gives the Numba types of one call, as Numba's own
dispatcher would look them up (level 3's prange backend compiles with them too).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ...arrays import ArgKind
from ...contract import YES, Code, Decline, Verdict

__all__ = ["arg_verdict", "argument_types"]

_GOOD_DTYPE_KINDS = frozenset("biufc")  # bool, int, uint, float, complex


def arg_verdict(arg: Any) -> Verdict:
    """Can level 2 take ``arg`` (an :class:`~optlevel.analysis.ArgInfo`) as it is?"""
    if arg.kind == ArgKind.NUMPY:
        verdict = _dtype_verdict(arg)
        if not verdict:
            return verdict
        if arg.type_name != "ndarray":
            return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}, an ndarray "
                                  "subclass whose behaviour Numba would drop",
                           code=Code.KEPT_IN_PYTHON)
        return YES
    if arg.kind in (ArgKind.SCALAR, ArgKind.TUPLE):
        return YES
    if arg.kind in (ArgKind.CUPY, ArgKind.TORCH):
        return Verdict(False, f"argument {arg.name!r} is a {arg.kind} array on "
                              f"{arg.device}; Numba's CPU JIT takes NumPy arrays",
                       code=Code.DECLINED)
    if arg.kind in (ArgKind.LIST, ArgKind.DICT):
        return Verdict(False, f"argument {arg.name!r} is a {arg.kind}: Numba would copy it "
                              "in and out (reflection) instead of sharing it, so it runs "
                              "in Python [SEM019]", code="SEM019")
    return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}; Numba compiles "
                          "NumPy arrays and scalars", code=Code.DECLINED)


def _dtype_verdict(arg: Any) -> Verdict:
    """Dtypes Numba does not take (SEM016) and non-native byte orders (SEM015)."""
    try:
        dtype = np.dtype(arg.dtype)
    except TypeError:  # a structured dtype's str() does not parse back
        dtype = None
    if dtype is None or dtype.names is not None:
        return Verdict(False, f"argument {arg.name!r} has the structured dtype {arg.dtype}; "
                              "optlevel runs structured arrays in Python [SEM016]",
                       code="SEM016")
    if not dtype.isnative:
        return Verdict(False, f"argument {arg.name!r} has the non-native byte order "
                              f"{arg.dtype}; Numba compiles native-order arrays only "
                              "(x.astype(x.dtype.newbyteorder('=')) converts it) [SEM015]",
                       code="SEM015")
    if dtype.kind not in _GOOD_DTYPE_KINDS or dtype == np.float16 or \
            (dtype.kind == "f" and dtype.itemsize > 8) or \
            (dtype.kind == "c" and dtype.itemsize > 16):  # longdouble, clongdouble
        return Verdict(False, f"argument {arg.name!r} has dtype {arg.dtype}; Numba "
                              "compiles bool, integer, float (32 and 64 bits) and complex "
                              "arrays [SEM016]", code="SEM016")
    return YES


def argument_types(py_func: Callable[..., Any], args: tuple, kwargs: dict) -> tuple:
    """Numba types of a call, in parameter order, defaults as ``Omitted`` like Numba's own
    dispatcher folds them, so the explicit compile matches what the call will look up.
    Raises :class:`~optlevel.contract.Decline` for arguments that do not bind or have
    no Numba type."""
    from numba import typeof, types

    try:
        bound = inspect.signature(py_func).bind(*args, **kwargs)
    except TypeError as exc:
        raise Decline(f"the arguments do not fit the signature: {exc}", warn=False,
                      code=Code.DECLINED) from None
    out: list[Any] = []
    for name, param in inspect.signature(py_func).parameters.items():
        if name not in bound.arguments:
            out.append(types.Omitted(param.default))
            continue
        value = bound.arguments[name]
        if type(value) is int:
            # As Numba's own dispatcher types a Python int at call time: int64. A
            # value beyond it then fails to unbox (OverflowError, a per-call
            # fallback) instead of compiling a uint64 version that wraps (SEM017).
            out.append(types.int64)
            continue
        try:
            out.append(typeof(value))
        except (ValueError, NotImplementedError):  # NumbaValueError, NumbaNotImplementedError
            raise Decline(f"argument {name!r} has no Numba type", code=Code.DECLINED) \
                from None
    return tuple(out)
