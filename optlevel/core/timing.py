"""The one timer: the median of repeated runs, for calibration and the cost models."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["median_seconds"]


def median_seconds(fn: Callable[[], Any], repeat: int = 5, *, warm: bool = True,
                   sync: Callable[[], Any] | None = None) -> float:
    """Median seconds of ``fn()`` over ``repeat`` runs, after one untimed run when
    ``warm``. ``sync`` (a device synchronize) runs after each call, inside the time."""
    if warm:
        fn()
        if sync is not None:
            sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
