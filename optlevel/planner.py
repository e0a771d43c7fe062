"""The planner: which backends to try for a call, in which order, and why.

Until the measured cost model lands (calibration and measured call times), the
rule is "never slower": a backend must both *apply* (its own verdict) and *pay*
(this module's verdict) to be tried. Level 2 pays only where the function's
time is in Python-level loops; already-vectorized NumPy stays at level 0, since
``njit`` of vectorized NumPy is often slower than NumPy itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .analysis import ArgSignature, FunctionFeatures
from .backends import BACKENDS, YES, Backend, Verdict, requirement_missing
from .levels import LEVEL_NAMES

__all__ = ["Row", "Ranking", "rank", "MODE_AUTO", "MODE_EXPLICIT", "MODE_STRICT"]

#: How the ceiling was set: by default ("auto"), by the user, or strictly.
MODE_AUTO, MODE_EXPLICIT, MODE_STRICT = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Row:
    """One level's line in a plan: the backend, whether it will be tried, and why."""

    level: int
    backend: str | None
    tried: bool
    reason: str
    #: why: "ok", "trial" (measured against level 0 on the first calls), "absent" (no
    #: backend), "ceiling", "strict", "missing" (not installed), "declined" (cannot
    #: serve the call) or "pays" (would be slower).
    kind: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Ranking:
    order: tuple[Backend, ...]  # backends to try, best first
    rows: tuple[Row, ...]  # every level 0-4, for explain

    def is_trial(self, backend: Backend) -> bool:
        """Should ``backend`` be measured against level 0 before it is kept?"""
        return any(r.backend == backend.name and r.kind == "trial" for r in self.rows)


def _pays_jit(features: FunctionFeatures, signature: ArgSignature) -> tuple[str, Verdict]:
    hot = [loop for loop in features.loops if loop.hot]
    if not hot:
        return "pays", Verdict(False, "no Python-level loops: vectorized NumPy already runs "
                                      "compiled code, and njit would not pay")
    lines = ", ".join(str(loop.line) for loop in hot[:4])
    if features.scalar_hot_loops:
        return "ok", Verdict(True, f"Python-level loops (line {lines}) compile to machine code")
    return "trial", Verdict(True, f"the loops (line {lines}) call NumPy on whole arrays, "
                                  "which compiled code may not speed up: the first calls "
                                  "measure level 2 against level 0")


def _always(features: FunctionFeatures, signature: ArgSignature) -> tuple[str, Verdict]:
    return "ok", YES


#: backend name → does it pay for these arguments: ("ok" | "trial" | "pays", verdict),
#: where "trial" means measure it against level 0 first; backends not listed always pay.
_PAYS: dict[str, Callable[[FunctionFeatures, ArgSignature], tuple[str, Verdict]]] = {
    "numba": _pays_jit,
}


def rank(features: FunctionFeatures, signature: ArgSignature, ceiling: int,
         mode: int) -> Ranking:
    """Order the backends to try for one call signature under ``ceiling``."""
    by_level = {b.level: b for b in BACKENDS.values()}
    order: list[Backend] = []
    rows: list[Row] = []
    for level in sorted(LEVEL_NAMES, reverse=True):
        backend = by_level.get(level)
        if backend is None:
            rows.append(Row(level, None, False, "not available in this version of optlevel",
                            "absent"))
            continue
        kind, verdict = _judge(backend, features, signature, ceiling, mode)
        rows.append(Row(level, backend.name, verdict.ok, verdict.reason, kind))
        if verdict.ok:
            order.append(backend)
    return Ranking(tuple(order), tuple(rows))


def _judge(backend: Backend, features: FunctionFeatures, signature: ArgSignature,
           ceiling: int, mode: int) -> tuple[str, Verdict]:
    if backend.level > ceiling:
        return "ceiling", Verdict(False, f"above the ceiling (level {ceiling})")
    if mode == MODE_STRICT and backend.level != ceiling:
        return "strict", Verdict(False, f"strict=True: only level {ceiling} may run")
    missing = requirement_missing(backend)
    if missing:
        return "missing", Verdict(False, f"{missing} is not installed: {backend.install_hint}")
    verdict = backend.applies(features, signature)
    if not verdict:
        return "declined", verdict
    if mode == MODE_STRICT:
        return "ok", verdict
    return _PAYS.get(backend.name, _always)(features, signature)
