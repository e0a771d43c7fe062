"""How sure a timing is: distribution-free intervals for medians and ratios.

A median of timings on a shared machine is only as good as its spread. The
interval here is the classic one for a median from order statistics: sorted
samples ``x[k] <= median <= x[n-1-k]`` with ``k`` from the binomial
distribution, so it assumes nothing about the shape of the timings (which are
skewed: a slow spell only ever adds time). With five samples or fewer it is
the whole range ``[min, max]`` (94 % for five).

Two variants timed in the same interleaved rounds are compared round by round:
the ratio of their samples in each round, then the interval of the median of
those ratios. A slow spell of the machine hits both samples of a round, so it
cancels in the ratio. A difference whose interval holds 1.0, or that is below
2 %, is *inside the noise*.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["median_interval", "ratio", "Ratio", "relative_width", "inside_noise",
           "CONFIDENCE", "NEGLIGIBLE"]

#: The confidence of every interval bench prints.
CONFIDENCE = 0.95

#: A ratio within this fraction of 1.0 claims nothing either: a 1 % gap between two
#: variants is an accident of code alignment or of the allocator as often as it is real.
NEGLIGIBLE = 0.02


def inside_noise(value: float, low: float, high: float) -> bool:
    """No difference worth claiming: the interval holds 1.0, or the ratio is within
    :data:`NEGLIGIBLE` of it."""
    return low <= 1.0 <= high or abs(value - 1.0) <= NEGLIGIBLE


def _binomial_cdf(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n


def median_interval(values: Sequence[float],
                    confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval that holds the true median with at least ``confidence``.

    Falls back to ``[min, max]`` when there are too few samples for that
    confidence; a single sample gives ``(x, x)``.
    """
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no samples")
    k = 0  # the largest k with P(median outside [x_k, x_{n-1-k}]) <= 1 - confidence
    while k + 1 < n - 1 - k and 2 * _binomial_cdf(k, n) <= 1 - confidence:
        k += 1
    if k and 2 * _binomial_cdf(k, n) > 1 - confidence:
        k -= 1
    return xs[k], xs[n - 1 - k]


def relative_width(values: Sequence[float], confidence: float = CONFIDENCE) -> float:
    """Half the interval's width over the median: 0.03 reads "median ± 3 %"."""
    lo, hi = median_interval(values, confidence)
    mid = statistics.median(values)
    return (hi - lo) / 2.0 / mid if mid > 0 else math.inf


class Ratio(NamedTuple):
    """A speed ratio (``reference / other`` seconds) and its interval."""

    value: float
    low: float
    high: float

    @property
    def noise(self) -> bool:
        """No difference worth claiming (:func:`inside_noise`)."""
        return inside_noise(self.value, self.low, self.high)


def ratio(reference: Sequence[float], other: Sequence[float],
          confidence: float = CONFIDENCE) -> Ratio:
    """How many times faster ``other`` is than ``reference`` (their seconds per call).

    Paired round by round when both have the same number (three or more) of
    samples, from the same interleaved rounds; otherwise the interval spans
    each side's own interval of the median.
    """
    if len(reference) == len(other) >= 3:
        per_round = [r / o for r, o in zip(reference, other)]
        lo, hi = median_interval(per_round, confidence)
        return Ratio(statistics.median(per_round), lo, hi)
    ref_lo, ref_hi = median_interval(reference, confidence)
    oth_lo, oth_hi = median_interval(other, confidence)
    return Ratio(statistics.median(reference) / statistics.median(other),
                 ref_lo / oth_hi, ref_hi / oth_lo)
