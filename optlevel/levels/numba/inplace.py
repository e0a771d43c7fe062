"""In-place arithmetic on arrays for the checked ops (:mod:`.intops`): ``a op= b``
on an array writes into it in Python, and so here."""

from __future__ import annotations

from typing import Any

__all__ = ["INPLACE", "ipow"]


def iadd(a: Any, b: Any) -> Any:
    a += b
    return a


def isub(a: Any, b: Any) -> Any:
    a -= b
    return a


def imul(a: Any, b: Any) -> Any:
    a *= b
    return a


def itruediv(a: Any, b: Any) -> Any:
    a /= b
    return a


def ifloordiv(a: Any, b: Any) -> Any:
    a //= b
    return a


def imod(a: Any, b: Any) -> Any:
    a %= b
    return a


def ipow(a: Any, b: Any) -> Any:
    a **= b
    return a


def ilshift(a: Any, b: Any) -> Any:
    a <<= b
    return a


def irshift(a: Any, b: Any) -> Any:
    a >>= b
    return a


INPLACE = {"iadd": iadd, "isub": isub, "imul": imul, "itruediv": itruediv,
            "ifloordiv": ifloordiv, "imod": imod, "ipow": ipow, "ilshift": ilshift,
            "irshift": irshift}
