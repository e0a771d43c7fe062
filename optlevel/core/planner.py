"""The planner: which backends to try for a call, in which order, and why.

Every registered backend gets one :class:`Row`: it is tried when it is under the
ceiling, installed, available on this machine, *applies* to the call (its own
verdict) and *pays* (its :class:`~optlevel.contract.Estimate`). Candidates are
ordered by predicted cost (known costs first, cheapest first), level breaking
ties (higher first), so with no measurements the highest level that applies and
pays is tried first and the lower ones are the fallbacks.

A prediction is a prior, a measurement the truth: each estimate is multiplied by
its backend's learned correction (:mod:`.corrections`), and where the order of
the first candidate over the runner-up is not known from measurement — the
first asked to be measured (``Pays.TRIAL``), its estimates were off by more than
2x, or a known estimate would otherwise win over an unknown one merely by being
known — :meth:`Ranking.entrants` races them on real calls (:mod:`.trials`).

The same rows feed ``explain``, ``stats`` and ``optlevel info`` (:func:`static_rows`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..analysis import ArgSignature, FunctionFeatures
from ..contract import Backend, Estimate, Pays, RowKind, Verdict, VerdictKind
from ..ladder import LEVEL_NAMES
from .corrections import correction
from .registry import BACKENDS, is_available, requirement_missing

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
    #: why: OK, TRIAL (measured against level 0 on the first calls), ABSENT (no
    #: backend at this level), CEILING, STRICT, MISSING (not installed),
    #: UNAVAILABLE (installed, but no device/driver/cluster), CONFIGURED (left out by
    #: the configuration, e.g. a cluster executor not chosen), DECLINED (cannot serve
    #: the call) or PAYS (would be slower)
    kind: RowKind = RowKind.OK
    #: predicted seconds for the call, None when unknown
    cost: float | None = None
    #: the stable code of ``reason``: the backend's own where it gave one (``SEM…``,
    #: ``PL014`` no source …), else the code of ``kind``
    code: str = ""
    #: the factor ``cost`` was corrected by (measured/predicted on this machine)
    correction: float = 1.0

    @property
    def raw_cost(self) -> float | None:
        """The backend's own prediction, before the learned correction."""
        return None if self.cost is None else self.cost / self.correction

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", self.kind.code.value)

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "kind": self.kind.value}


@dataclasses.dataclass(frozen=True)
class Ranking:
    order: tuple[Backend, ...]  # backends to try, best first
    rows: tuple[Row, ...]  # every backend (and every level without one), highest first
    mode: int = MODE_AUTO

    def is_trial(self, backend: Backend) -> bool:
        """Should ``backend`` be measured before it is kept?"""
        return any(r.backend == backend.name and r.kind is RowKind.TRIAL for r in self.rows)

    def runner_up(self, backend: Backend, skip: Any = ()) -> Backend | None:
        """The next candidate above level 0 after ``backend`` (not one in ``skip``)."""
        after = self.order[self.order.index(backend) + 1:] if backend in self.order else ()
        return next((b for b in after if b.level > 0 and b.name not in skip), None)

    def entrants(self, backend: Backend, skip: Any = ()) -> list[Backend]:
        """The backends a trial of ``backend`` races (plain Python times the first
        call in every trial): ``backend``, the runner-up above level 0, and the best
        candidate whose cost is unknown (an estimate outranks it only by being
        known); ``[backend]`` alone where plain Python is the runner-up; ``[]`` when
        ``backend``'s place is not in doubt (or ``strict=True``)."""
        if self.mode == MODE_STRICT or backend.level == 0 or backend not in self.order:
            return []
        rest = [b for b in self.order[self.order.index(backend) + 1:]
                if b.level > 0 and b.name not in skip]
        unknown = next((b for b in rest if self.row(b.name).cost is None), None)
        # (a cost of 0 is a backend's word that it adds nothing, as a wrapper's)
        doubt = self.is_trial(backend) or (bool(self.row(backend.name).cost)
                                           and unknown is not None)
        if not doubt:
            return []
        racers = [b for b in (rest[0] if rest else None, unknown) if b is not None]
        # a runner-up that is itself in doubt brings its own runner-up: the trial
        # measures down the chain (prange and level 2 both asked to be measured, and
        # level 1 under them)
        chain = [b for b in racers if self.is_trial(b)]
        while chain:
            lowest = max(chain, key=rest.index)
            below = next((b for b in rest[rest.index(lowest) + 1:] if b not in racers), None)
            if below is None:
                break
            racers.insert(0, below)
            chain = [below] if self.is_trial(below) else []
        return list(dict.fromkeys(racers[::-1])) + [backend]

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
                            RowKind.ABSENT))
            continue
        for backend in backends:
            kind, verdict, cost = _judge(backend, features, signature, ceiling, mode,
                                         settings, profile)
            factor = 1.0
            if verdict.ok and mode != MODE_STRICT:
                kind, verdict, cost, factor = _corrected(backend, kind, verdict, cost,
                                                         profile)
            rows.append(Row(level, backend.name, verdict.ok, verdict.reason, kind, cost,
                            str(verdict.code), factor))
            if verdict.ok:
                known = cost if cost is not None else math.inf
                candidates.append((known, -level, len(candidates), backend))
    order = tuple(c[-1] for c in sorted(candidates, key=lambda c: c[:3]))
    return Ranking(order, tuple(rows), mode)


def _corrected(backend: Backend, kind: RowKind, verdict: Verdict, cost: float | None,
               profile: Any) -> tuple[RowKind, Verdict, float | None, float]:
    """The estimate with ``backend``'s learned correction applied; a backend whose
    last corrected prediction was off by more than 2x is measured, not trusted."""
    found = correction(profile, backend.name)
    if not found.pairs or backend.level == 0:
        return kind, verdict, cost, 1.0
    if cost is not None:
        cost *= found.factor
    if not found.trusted and kind is RowKind.OK:
        verdict = Verdict(True, f"{verdict.reason}; its estimates on this machine were off "
                                f"by {max(found.last, 1 / found.last):.1f}x, so the first "
                                "calls measure it", code=verdict.code)
        kind = RowKind.TRIAL
    return kind, verdict, cost, found.factor


def _judge(backend: Backend, features: FunctionFeatures, signature: ArgSignature,
           ceiling: int, mode: int, settings: Any,
           profile: Any) -> tuple[RowKind, Verdict, float | None]:
    static = _static(backend, ceiling, mode, settings)
    if static is not None:
        return static[0], static[1], None
    verdict = backend.applies(features, signature, settings, profile)
    pays = verdict.kind == VerdictKind.PAYS  # a plain "pays" from a backend counts too
    if not verdict and not (pays and mode == MODE_STRICT):
        return (RowKind.PAYS if pays else RowKind.DECLINED), verdict, None
    available = is_available(backend, settings)
    if not available:
        return RowKind.UNAVAILABLE, available, None
    estimate = backend.estimate(features, signature, settings, profile)
    if mode == MODE_STRICT:  # strict runs the level whether or not it pays
        return RowKind.OK, Verdict(True, estimate.reason), estimate.cost
    return _pays(estimate, mode)


def _pays(estimate: Estimate, mode: int) -> tuple[RowKind, Verdict, float | None]:
    if estimate.pays == Pays.NO:
        return RowKind.PAYS, Verdict(False, estimate.reason), estimate.cost
    trial = estimate.pays == Pays.TRIAL and (mode == MODE_AUTO or estimate.explicit_trial)
    kind = RowKind.TRIAL if trial else RowKind.OK
    return kind, Verdict(True, estimate.reason), estimate.cost


def _static(backend: Backend, ceiling: int, mode: int,
            settings: Any) -> tuple[RowKind, Verdict] | None:
    """The verdicts that do not depend on the call: ceiling, strictness, install."""
    if backend.level > ceiling:
        return RowKind.CEILING, Verdict(False, f"above the ceiling (level {ceiling})")
    if mode == MODE_STRICT and backend.level != ceiling:
        return RowKind.STRICT, Verdict(False, f"strict=True: only level {ceiling} may run")
    selected = backend.selected(settings)
    if not selected:
        return RowKind.CONFIGURED, selected
    missing = requirement_missing(backend)
    if missing:
        return RowKind.MISSING, Verdict(False, f"{missing} is not installed: "
                                               f"{backend.install_hint}")
    return None


def static_rows(settings: Any, *, probe: bool = True) -> tuple[Row, ...]:
    """One row per backend (and per level without one), for ``optlevel info``: is it
    installed, allowed by the cap, and (with ``probe``) available on this machine."""
    rows: list[Row] = []
    for level, backends in sorted(_backends_by_level().items()):
        if not backends:
            rows.append(Row(level, None, False, "not available in this version of optlevel",
                            RowKind.ABSENT))
            continue
        for backend in backends:
            found = _static(backend, settings.cap, MODE_EXPLICIT, settings)
            if found is not None:
                kind, verdict = found
                if kind is RowKind.CEILING:
                    verdict = Verdict(False, f"capped by OPTLEVEL_MAX_LEVEL / "
                                             f"OPTLEVEL_DISABLE (highest level allowed: "
                                             f"{settings.cap})")
                rows.append(Row(level, backend.name, False, verdict.reason, kind))
                continue
            available = is_available(backend, settings) if probe else Verdict(True)
            kind = RowKind.OK if available else RowKind.UNAVAILABLE
            rows.append(Row(level, backend.name, available.ok, available.reason, kind))
    return tuple(rows)
