"""Small helpers the case modules share: a family of cases from one function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .harness import Case


def family(func: Callable[..., Any], kind: str, variants: dict[str, Callable[[str], tuple]],
           **kw: Any) -> list[Case]:
    """One case per named argument variant of ``func`` (``make(size) -> args``)."""
    return [Case(f"{func.__name__}:{name}", func, make, kind, **kw)
            for name, make in variants.items()]


def fixed(*args: Any) -> Callable[[str], tuple]:
    """A variant whose arguments are the same at every size (copied fresh each call)."""
    import copy

    return lambda size: copy.deepcopy(args)


def n_of(size: str, small: int = 7, large: int = 200_000) -> int:
    return small if size == "small" else large
