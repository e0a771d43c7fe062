"""The planner: which backends to try for a call, in which order, and why.

Every registered backend gets one :class:`Row`: it is tried when it is under the
ceiling, installed, available on this machine, *applies* to the call (its own
verdict) and *pays* (its :class:`~optlevel.contract.Estimate`). Candidates are
ordered by predicted cost (known costs first, cheapest first), level breaking
ties (higher first), so with no measurements the highest level that applies and
pays is tried first and the lower ones are the fallbacks.

The same rows feed ``explain``, ``stats`` and ``optlevel info`` (:func:`static_rows`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures
from .registry import BACKENDS, is_available, requirement_missing
from ..contract import Backend, Estimate, Verdict
from ..ladder import LEVEL_NAMES

__all__ = ["Row", "Ranking", "rank", "static_rows", "MODE_AUTO", "MODE_EXPLICIT",
           "MODE_STRICT", "MODE_NAMES"]

#: How the ceiling was set: by default ("auto"), by the user, or strictly.
MODE_AUTO, MODE_EXPLICIT, MODE_STRICT = 0, 1, 2
MODE_NAMES = {MODE_AUTO: "auto", MODE_EXPLICIT: "explicit", MODE_STRICT: "strict"}


@dataclasses.dataclass(frozen=True)
class Row:
    """One backend's line in a plan (or a level's, when no backend serves it)."""

    level: int
    backend: str | None
    tried: bool
    reason: str
    #: why: "ok", "trial" (measured against level 0 on the first calls), "absent" (no
    #: backend at this level), "ceiling", "strict", "missing" (not installed),
    #: "unavailable" (installed, but no device/driver/cluster), "configured" (left
    #: out by the configuration, e.g. a cluster executor not chosen), "declined"
    #: (cannot serve the call) or "pays" (would be slower).
    kind: str = "ok"
    #: predicted seconds for the call, None when unknown
    cost: float | None = None

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Ranking:
    order: tuple[Backend, ...]  # backends to try, best first
    rows: tuple[Row, ...]  # every backend (and every level without one), highest first

    def is_trial(self, backend: Backend) -> bool:
        """Should ``backend`` be measured against level 0 before it is kept?"""
        return any(r.backend == backend.name and r.kind == "trial" for r in self.rows)

    def row(self, backend: str) -> Row:
        for r in self.rows:
            if r.backend == backend:
                return r
        raise KeyError(backend)


def _backends_by_level() -> dict[int, list[Backend]]:
    out: dict[int, list[Backend]] = {level: [] for level in LEVEL_NAMES}
    for backend in BACKENDS.values():
        out[backend.level].append(backend)
    return out


def rank(features: FunctionFeatures, signature: ArgSignature, ceiling: int, mode: int,
         settings: Any, profile: Any) -> Ranking:
    """Order the backends to try for one call signature under ``ceiling``."""
    rows: list[Row] = []
    candidates: list[tuple[float, int, int, Backend]] = []
    for level, backends in sorted(_backends_by_level().items(), reverse=True):
        if not backends:
            rows.append(Row(level, None, False, "not available in this version of optlevel",
                            "absent"))
            continue
        for backend in backends:
            kind, verdict, cost = _judge(backend, features, signature, ceiling, mode,
                                         settings, profile)
            rows.append(Row(level, backend.name, verdict.ok, verdict.reason, kind, cost))
            if verdict.ok:
                known = cost if cost is not None else math.inf
                candidates.append((known, -level, len(candidates), backend))
    order = tuple(c[-1] for c in sorted(candidates, key=lambda c: c[:3]))
    return Ranking(order, tuple(rows))


def _judge(backend: Backend, features: FunctionFeatures, signature: ArgSignature,
           ceiling: int, mode: int, settings: Any,
           profile: Any) -> tuple[str, Verdict, float | None]:
    static = _static(backend, ceiling, mode, settings)
    if static is not None:
        return static[0], static[1], None
    verdict = backend.applies(features, signature, settings, profile)
    if not verdict and not (verdict.kind == "pays" and mode == MODE_STRICT):
        return verdict.kind or "declined", verdict, None
    available = is_available(backend, settings)
    if not available:
        return "unavailable", available, None
    estimate = backend.estimate(features, signature, settings, profile)
    if mode == MODE_STRICT:  # strict runs the level whether or not it pays
        return "ok", Verdict(True, estimate.reason), estimate.cost
    return _pays(estimate, mode)


def _pays(estimate: Estimate, mode: int) -> tuple[str, Verdict, float | None]:
    if estimate.pays == "no":
        return "pays", Verdict(False, estimate.reason), estimate.cost
    trial = estimate.pays == "trial" and (mode == MODE_AUTO or estimate.explicit_trial)
    kind = "trial" if trial else "ok"
    return kind, Verdict(True, estimate.reason), estimate.cost


def _static(backend: Backend, ceiling: int, mode: int,
            settings: Any) -> tuple[str, Verdict] | None:
    """The verdicts that do not depend on the call: ceiling, strictness, install."""
    if backend.level > ceiling:
        return "ceiling", Verdict(False, f"above the ceiling (level {ceiling})")
    if mode == MODE_STRICT and backend.level != ceiling:
        return "strict", Verdict(False, f"strict=True: only level {ceiling} may run")
    selected = backend.selected(settings)
    if not selected:
        return "configured", selected
    missing = requirement_missing(backend)
    if missing:
        return "missing", Verdict(False, f"{missing} is not installed: {backend.install_hint}")
    return None


def static_rows(settings: Any, *, probe: bool = True) -> tuple[Row, ...]:
    """One row per backend (and per level without one), for ``optlevel info``: is it
    installed, allowed by the cap, and (with ``probe``) available on this machine."""
    rows: list[Row] = []
    for level, backends in sorted(_backends_by_level().items()):
        if not backends:
            rows.append(Row(level, None, False, "not available in this version of optlevel",
                            "absent"))
            continue
        for backend in backends:
            found = _static(backend, settings.cap, MODE_EXPLICIT, settings)
            if found is not None:
                kind, verdict = found
                if kind == "ceiling":
                    verdict = Verdict(False, f"capped by OPTLEVEL_MAX_LEVEL / "
                                             f"OPTLEVEL_DISABLE (highest level allowed: "
                                             f"{settings.cap})")
                rows.append(Row(level, backend.name, False, verdict.reason, kind))
                continue
            available = is_available(backend, settings) if probe else Verdict(True)
            kind = "ok" if available else "unavailable"
            rows.append(Row(level, backend.name, available.ok, available.reason, kind))
    return tuple(rows)
