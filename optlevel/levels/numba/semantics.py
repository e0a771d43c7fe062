"""The catalogue's findings for a function: once at decoration, and per call.

:func:`function_findings` is level 2's part of
:func:`optlevel.analysis.analyze`: what holds for every call (parameters
unknown), or, without source, what the bytecode shows; and, per loop, which
subscripts :mod:`.proofs` proves in range (``bounds``, shown by ``explain``). :func:`call_findings`
runs the detectors again with the parameters' kinds taken from one call's
arguments, once per argument types. The table itself is :mod:`.catalogue`; the
detectors are :mod:`.detect_arith` and :mod:`.detect_calls` over a
:class:`~.context.Context`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

from ...analysis.scope import Finding
from ...core.runtime import RUNTIME
from . import detect_arith as arith
from . import detect_calls as calls
from .bytecode import bytecode_findings
from .catalogue import SemanticFinding, kept_in_python, sourceless_reasons, to_verify
from .context import Context
from .memo import per_call
from .proofs import Proofs

__all__ = ["function_findings", "static_findings", "call_findings", "check", "DETECTORS"]

#: Every AST detector, each ``(ctx) -> findings``.
DETECTORS: tuple[Callable[[Context], Iterator[SemanticFinding]], ...] = (
    calls.text, arith.big_ints, arith.neg_powers, arith.division, calls.round_ndigits,
    calls.to_int, calls.math_errors, calls.own_algorithms, calls.numpy_math, arith.narrow,
    arith.stores, arith.np_bool, arith.invert_bool,
    calls.globals_read, arith.float_pow, arith.shifts, calls.reductions)

# Per-call findings, by function and argument types (the slow path only).
_by_call = RUNTIME.cache("numba.call_findings", maxsize=4096)


def check(func: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef, params: tuple[str, ...],
          signature: Any = None) -> list[SemanticFinding]:
    """Every catalogue finding in ``tree``; ``signature`` None means "for every call"."""
    ctx = Context(func, tree, params, signature)
    found: list[SemanticFinding] = []
    for detector in DETECTORS:
        found.extend(detector(ctx))
    unique = {(f.line, f.detail, f.what): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.detail))


def function_findings(ctx: Any) -> dict[str, Any]:
    """Level 2's part of :func:`optlevel.analysis.analyze`: the catalogue's findings
    that hold for every call, and those of them to verify on a first call."""
    if ctx.tree is None:
        return {"semantic_findings": tuple(bytecode_findings(ctx.function)),
                "verify_reasons": sourceless_reasons(ctx.source.reason), "bounds": ()}
    found = static_findings(ctx.function, ctx.tree, ctx.params, ctx.kept_in_python)
    bounds = tuple(Proofs(ctx.tree).loops()) if isinstance(ctx.tree, ast.FunctionDef) else ()
    return {"semantic_findings": found, "verify_reasons": to_verify(found),
            "bounds": bounds}


def static_findings(func: Any, tree: Any, params: tuple[str, ...],
                    kept: tuple[Finding, ...] | list[Finding] = ()
                    ) -> tuple[SemanticFinding, ...]:
    """The findings that hold for every call (run once, at decoration); ``kept``: the
    random numbers and I/O the feature analysis found."""
    found = kept_in_python(kept) + check(func, tree, params)
    return tuple(sorted(found, key=lambda f: (f.line, f.detail)))


def call_findings(func: Any, features: Any, signature: Any) -> tuple[SemanticFinding, ...]:
    """The catalogue's findings for one call of ``func`` (decorated with ``features``),
    with the parameters' kinds taken from ``signature``. Cached per argument types."""
    tree = features.source.tree
    if tree is None:
        return features.semantic_findings

    def make() -> tuple[SemanticFinding, ...]:
        kept = [f for f in features.semantic_findings if f.detail in ("SEM024", "SEM025")]
        return tuple(sorted(kept + check(func, tree, features.params, signature),
                            key=lambda f: (f.line, f.detail)))

    return per_call(_by_call, features, signature, make)
