"""The abstract values of the row-wise proof (:mod:`.split_rows`).

Every expression of a straight-line body evaluates to one of two values:

* :class:`Row`: an array whose axis 0 is the split axis (each piece sees its own
  rows of it);
* :class:`Inv`: the same in every piece (a scalar, a whole parameter, a module
  constant).

A use that would mix rows of a candidate parameter raises :class:`Demote`: the
proof is retried with that parameter kept whole.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Row", "Inv", "SCALAR", "Value", "Demote", "arrays_of", "sources_of"]


class Demote(Exception):
    """Parameters used in a way that mixes rows: retry with them kept whole."""

    def __init__(self, params: frozenset[str], line: int, why: str):
        super().__init__(why)
        self.params, self.line, self.why = params, line, why


@dataclasses.dataclass(frozen=True)
class Row:
    """An array whose axis 0 is the split axis; ``offset`` axes were reduced away."""

    offset: int = 0
    sources: frozenset[str] = frozenset()
    ident: str | None = None  # this is the parameter itself, as passed
    views: frozenset[str] = frozenset()  # parameters whose memory it may share


@dataclasses.dataclass(frozen=True)
class Inv:
    """The same in every piece. ``arrays``: parameters whose arrays may flow into it
    unreduced (ndim checked per call); ``opaque``: may be an array of unknown shape."""

    arrays: frozenset[str] = frozenset()
    opaque: bool = False
    views: frozenset[str] = frozenset()


SCALAR = Inv()
Value = Any  # Row | Inv


def arrays_of(values: list[Value]) -> frozenset[str]:
    """The whole parameters that may flow, unreduced, into any of ``values``."""
    return frozenset().union(*(v.arrays for v in values)) if values else frozenset()


def sources_of(values: Any) -> frozenset[str]:
    """The split parameters any of ``values`` is made of (empty: none is a :class:`Row`)."""
    found: frozenset[str] = frozenset()
    for value in values:
        if isinstance(value, Row):
            found |= value.sources
    return found
