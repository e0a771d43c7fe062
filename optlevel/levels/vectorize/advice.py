"""``VectorizationAdvice``: level 1's findings as warnings, once per function and
finding, pointing at the loop's own line in the user's file (not at the call)."""

from __future__ import annotations

import warnings
from typing import Any

from ... import errors
from .layout import layout_findings
from .rules import Diagnostic

__all__ = ["advise", "findings_for_call"]


def findings_for_call(features: Any, signature: Any) -> list[Diagnostic]:
    """The loop findings of ``features`` and the layout findings for this call's
    argument layouts (OL201/202 judged on the real layout, OL203)."""
    analysis = features.vectorize
    out = list(analysis.loop_diagnostics)
    loops = [loop for loop in features.loops if loop.hot]
    first = loops[0].line if loops else features.source.firstlineno
    out += layout_findings(list(analysis.walks), signature, bool(loops), first)
    return out


def advise(features: Any, signature: Any) -> list[Diagnostic]:
    """Warn (once each) about the findings for this call; returns them."""
    found = findings_for_call(features, signature)
    for diagnostic in found:
        _warn(features, diagnostic)
    return found


def _warn(features: Any, d: Diagnostic) -> None:
    filename = features.source.filename or "<unknown>"
    key = ("vectorize", filename, features.name, d.rule, d.line, d.col, d.message)
    if not errors.first_time(key):  # the same once-per-process memory as warn_once
        return
    done = " Level 1 runs this rewrite itself." if d.rewrite and d.rule < "OL2" else ""
    suggestion = "; ".join(s.strip() for s in d.suggestion.splitlines() if s.strip())
    message = (f"{features.name}: {d.rule} ({d.pattern}) {d.message}. Instead: "
               f"{suggestion}.{done} Silence with warnings.filterwarnings('ignore', "
               f"category=optlevel.VectorizationAdvice).")
    module = getattr(getattr(features, "function", None), "__module__", None)
    warnings.warn_explicit(message, errors.VectorizationAdvice, filename, d.line,
                           module=module)


def explain_lines(features: Any) -> list[str]:
    """``explain``'s lines for level 1: each finding, and the rewrite that level 1
    runs (its generated source), or why there is none."""
    from .rewrite import SUM_ORDERS, rewrite_for

    analysis = features.vectorize
    if analysis.error:
        return [f"  level 1: the analysis failed ({analysis.error})"]
    out = [f"  level 1: {d}" for d in analysis.diagnostics]
    if not features.has_source:
        return out
    order = features.options.get("sum_order", "auto")
    rewrite = rewrite_for(features, order if order in SUM_ORDERS else "auto")
    if rewrite.ok:
        out.append("  level-1 rewrite (each vectorized block runs the original loop when its "
                   "checks fail):")
        out += [f"    | {line}" for line in rewrite.source.splitlines()]
    elif analysis.diagnostics or analysis.rejected:
        why = rewrite.reason or "; ".join(f"line {ln}: {w}" for ln, w in analysis.rejected)
        out.append(f"  level-1 rewrite: none ({why})")
    return out
