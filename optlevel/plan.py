"""``Plan``: what runs for one plan-cache key, and what it has cost so far."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .analysis import ArgSignature
from .backends import Backend, Prepared

__all__ = ["Plan"]


class Plan:
    """What runs for one key: the callable, its level, and its counters."""

    __slots__ = ("fn", "level", "backend", "internal_errors", "calls", "time",
                 "compile_time", "fallbacks", "signature", "ceiling", "mode", "note")

    def __init__(self, fn: Callable[..., Any], backend: Backend, prepared: Prepared,
                 signature: ArgSignature, ceiling: int, mode: int,
                 fallbacks: list[tuple[int, str, str]]):
        self.fn = fn
        self.level = backend.level
        self.backend = backend.name
        self.internal_errors = prepared.internal_errors
        self.compile_time = prepared.compile_time
        self.calls = 0
        self.time = 0.0
        self.signature = signature
        self.ceiling = ceiling
        self.mode = mode
        self.fallbacks = fallbacks  # (level, backend, reason) for each level skipped
        self.note = prepared.note
