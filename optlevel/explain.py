"""``optlevel.explain``: why a call runs the way it does, without running it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ._table import Block, Rendered, Table, format_seconds
from .analysis import ArgSignature, FunctionFeatures
from .core.estimates import plain_seconds
from .core.plan import State
from .core.planner import MODE_AUTO, MODE_STRICT, Row
from .errors import muted
from .ladder import LEVEL_NAMES

__all__ = ["Report", "explain"]


@dataclasses.dataclass(frozen=True)
class Report(Rendered):
    """What :func:`explain` found. ``str()`` is a readable report; ``to_dict()`` is JSON;
    Jupyter shows it as HTML and ``.print()`` draws rich tables on a terminal."""

    function: str
    features: FunctionFeatures
    signature: ArgSignature | None
    ceiling: int
    mode: str
    rows: tuple[Row, ...]
    chosen: int | None
    chosen_reason: str
    #: the realized plan's predicted and measured seconds per call (None: unknown),
    #: and how it was chosen ("planned", "trial", "decided", "store")
    predicted: float | None = None
    measured: float | None = None
    origin: str | None = None
    #: measured seconds per call by backend, for this key (every plan that ran it)
    measured_by_backend: dict[str, float] = dataclasses.field(default_factory=dict)
    #: the estimate of a plain call (the level-0 row's prediction), None without
    #: arguments
    plain_estimate: float | None = None

    def row(self, which: str | int) -> Row:
        """The row of backend ``which`` (a name), or the first row of level ``which``."""
        for r in self.rows:
            if r.backend == which or (isinstance(which, int) and r.level == which):
                return r
        raise KeyError(which)

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "features": self.features.to_dict(),
            "signature": self.signature.to_dict() if self.signature else None,
            "ceiling": self.ceiling,
            "mode": self.mode,
            "levels": [r.to_dict() for r in self.rows],
            "chosen": self.chosen,
            "chosen_reason": self.chosen_reason,
            "predicted": self.predicted,
            "measured": self.measured,
            "origin": self.origin,
            "measured_by_backend": dict(self.measured_by_backend),
            "plain_estimate": self.plain_estimate,
        }

    def __str__(self) -> str:  # dataclass would not take the mixin's
        return Rendered.__str__(self)

    def _blocks(self) -> list[Block]:
        f = self.features
        lines = [f"optlevel.explain: {self.function}"]
        if not f.has_source:
            lines.append(f"  source: none — {f.source.reason}")
        else:
            lines.append(f"  source: {f.source.filename}:{f.source.firstlineno}")
        lines += _feature_lines(f)
        if self.signature is not None:
            lines.append(f"  arguments: {self.signature}")
        lines.append(f"  ceiling: level {self.ceiling} ({LEVEL_NAMES[self.ceiling]}), "
                     f"{self.mode}")
        measured = self.measured_by_backend
        rows = [(r.level, LEVEL_NAMES[r.level], r.backend or "-",
                 "yes" if r.tried else "no",
                 _cost(self._predicted(r)) if r.tried or r.cost is not None else "-",
                 _cost(measured[r.backend]) if r.backend in measured else "-",
                 r.reason or "-")
                for r in self.rows]
        blocks: list[Block] = ["\n".join(lines), Table(
            ("level", "name", "backend", "try", "cost (predicted)", "measured", "why"),
            tuple(rows))]
        if self.chosen is not None:
            blocks.append(f"→ level {self.chosen} ({LEVEL_NAMES[self.chosen]}): "
                          f"{self.chosen_reason}")
        if self.origin is not None:
            blocks.append(f"  per call: predicted {_cost(self.predicted)}, measured "
                          f"{_cost(self.measured)} (chosen by: {self.origin})")
        return blocks


    def _predicted(self, row: Row) -> float | None:
        """The row's predicted cost; plain Python's is the estimate of a plain call
        (the planner ranks level 0 without a cost: it is every candidate's fallback)."""
        if row.cost is None and row.level == 0 and row.tried:
            return self.plain_estimate
        return row.cost


def _plain_estimate(features: FunctionFeatures, args: tuple, kwargs: dict) -> float | None:
    if not (args or kwargs):
        return None
    return plain_seconds(features, args, {k: v for k, v in kwargs.items() if k != "optlevel"})


def _cost(cost: float | None) -> str:
    return "unknown" if cost is None else format_seconds(cost)


def _feature_lines(f: FunctionFeatures) -> list[str]:
    out = []
    if f.loops:
        loops = ", ".join(f"line {lp.line} {lp.kind}{' (hot)' if lp.hot else ''}"
                          for lp in f.loops)
        out.append(f"  loops: {loops}; max depth {f.max_loop_depth}")
    else:
        out.append("  loops: none")
    if f.numpy_calls:
        calls = "; ".join(f"{cls}: {', '.join(x.detail or x.what for x in found[:4])}"
                          for cls, found in f.numpy_calls.items())
        out.append(f"  numpy calls: {calls}")
    if f.mutated_params:
        out.append(f"  writes in place: {', '.join(sorted(f.mutated_params))}")
    out += [f"  split: {'; '.join(map(str, f.split.params.values())) or f.split.reason}"] + \
        [f"  independent loop {loop}" for loop in f.split.loops] + \
        [f"  iteration split: {f.split.iteration_reason}"
         if f.split.iterations is not None else
         f"  iteration split: none ({f.split.iteration_reason})"]
    for what, found in (("numba cannot compile", f.numba_blockers),
                        ("kept in Python", f.semantic_blockers),
                        ("compiled code would differ (catalogue)", f.semantic_findings),
                        ("to verify on the first compiled call", f.verify_reasons)):
        if found:
            out.append(f"  {what}: {'; '.join(str(x) for x in found)}")
    for lb in f.findings.get("bounds", ()):  # level 2's bounds proofs, per loop
        out.append(f"  bounds, loop line {lb.line}: proven {', '.join(lb.proven) or '-'}; "
                   f"checked {', '.join(lb.checked) or '-'}")
    from .levels.vectorize.advice import explain_lines  # level 1's own lines, on demand

    return out + explain_lines(f)


def explain(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
    """Explain how ``func(*args, **kwargs)`` would run, without running it.

    ``func`` is usually an :func:`~optlevel.optimize`-decorated function; a plain
    function is analysed as if decorated with the defaults. With no arguments,
    only the AST findings and the levels' static verdicts are reported.
    """
    from .api import Optimized, optimize

    opt = func if isinstance(func, Optimized) else optimize(func)
    with muted():  # looking is not calling: the call's own warnings stay for the call
        call = opt.plan_call(*args, **kwargs)
    mode_name = {MODE_AUTO: "auto (planner picks)", MODE_STRICT: "strict"}.get(
        call.mode, "requested (a ceiling)")
    plan, rows = call.plan, call.rows
    chosen: int | None
    if plan is not None:
        chosen, why = plan.level, f"realized on earlier calls ({plan.calls} so far)"
        if plan.state is not State.READY:
            why += f"; {plan.state.value}" + (f": {plan.note}" if plan.note else "")
    else:
        tried = [r for r in rows if r.tried]
        chosen = tried[0].level if tried else None
        why = (tried[0].reason or "the highest level that applies and pays") if tried \
            else "nothing can run it at this ceiling"
        if len(tried) > 1:
            why += f"; if it fails to build, level {tried[1].level} runs instead"
    if plan is not None and plan.origin == "store" and "plan store" not in why:
        why += "; from the plan store (measured by an earlier process)"
    return Report(call.function, call.features, call.signature if (args or kwargs) else None,
                  call.ceiling, mode_name, rows, chosen, why,
                  plan.predicted if plan else None, plan.measured if plan else None,
                  plan.origin if plan else None, dict(call.measured),
                  _plain_estimate(call.features, args, kwargs))
