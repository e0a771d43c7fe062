"""One memo per call signature for level 2's AST inferences (the catalogue's
per-call findings, the proven result type), held by the runtime owner.

Both are worked out once per function and argument types, on the slow path
only; the key is the function's :class:`~optlevel.analysis.FunctionFeatures`
(by identity, so a function decorated again is worked out again) and each
argument's name, kind, dtype and type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ...core.runtime import Cache

__all__ = ["per_call"]

T = TypeVar("T")


def per_call(cache: Cache, features: Any, signature: Any, make: Callable[[], T]) -> T:
    """``make()``'s value for this function and these argument types, made once."""
    types = tuple((a.name, a.kind, a.dtype, a.type_name) for a in signature.args)
    key = (id(features), types)
    hit = cache.get(key)
    if hit is not None and hit[0] is features:
        return hit[1]
    value = make()
    cache[key] = (features, value)  # the features kept alive, so their id stays theirs
    return value
