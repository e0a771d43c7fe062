"""Predictions corrected by measurements, per backend and machine.

Every measured trial gives, for each backend it timed, a pair (predicted seconds,
measured seconds). The planner keeps, per backend, the geometric mean of
measured/predicted over those pairs, in the machine profile (so it persists with
the machine's other measurements, and a profile from another machine is not
read). A backend's estimate is multiplied by its correction before ranking; while
its latest prediction was off by more than :data:`TRUSTED_RATIO` either way, its
estimate no longer outranks a measurement: it is raced on real calls instead.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["KEY", "TRUSTED_RATIO", "Correction", "correction", "learn"]

#: the profile key that holds the corrections: {backend: {"n", "log", "last"}}
KEY = "planner.corrections"
#: a prediction within this factor of the measurement is trusted
TRUSTED_RATIO = 2.0
_MAX_PAIRS = 50  # older pairs weigh as this many: a machine's behaviour may change


class Correction:
    """A backend's learned factor (measured/predicted) and whether it is trusted."""

    __slots__ = ("factor", "pairs", "last")

    def __init__(self, factor: float = 1.0, pairs: int = 0, last: float = 1.0):
        self.factor, self.pairs, self.last = factor, pairs, last

    @property
    def trusted(self) -> bool:
        return 1 / TRUSTED_RATIO <= self.last <= TRUSTED_RATIO

    def __repr__(self) -> str:
        return f"<Correction x{self.factor:.3g} over {self.pairs} (last x{self.last:.3g})>"


_NONE = Correction()


def correction(profile: Any, backend: str) -> Correction:
    """``backend``'s correction on this machine (1.0, trusted, when none was learned)."""
    found = (profile.get(KEY) or {}).get(backend) if profile is not None else None
    if not found:
        return _NONE
    pairs = int(found.get("n", 0))
    factor = math.exp(found.get("log", 0.0) / pairs) if pairs else 1.0
    return Correction(factor, pairs, float(found.get("last", 1.0)))


def learn(profile: Any, backend: str, predicted: float | None, measured: float) -> None:
    """Record one (predicted, measured) pair for ``backend``; ``predicted`` is the raw
    prediction, before any correction."""
    if profile is None or not predicted or predicted <= 0 or measured <= 0:
        return
    ratio = measured / predicted
    table = dict(profile.get(KEY) or {})
    old = table.get(backend) or {"n": 0, "log": 0.0}
    n = min(int(old["n"]), _MAX_PAIRS - 1)
    mean = old["log"] / old["n"] if old["n"] else 0.0
    # "last" is how far the *corrected* prediction was off: once the correction has
    # learned a backend's bias, its estimates are trusted again
    table[backend] = {"n": n + 1, "log": mean * n + math.log(ratio),
                      "last": ratio / math.exp(mean)}
    profile.set(KEY, table)
