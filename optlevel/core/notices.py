"""The fallback warnings: one per level above the one that ran, naming each of its
backends and reasons, with what was asked, what ran, and how to fix or silence it."""

from __future__ import annotations

from ..contract import Backend
from ..errors import FallbackWarning, warn_once
from ..ladder import LEVEL_NAMES

__all__ = ["warn_fallbacks", "warn_fallback"]


def warn_fallbacks(qualname: str, declined: list[tuple[Backend, str]], ceiling: int,
                   realized: int) -> None:
    """One warning per level above ``realized``, naming each of its backends."""
    by_level: dict[int, list[tuple[Backend, str]]] = {}
    for backend, reason in declined:
        if backend.level > realized:
            by_level.setdefault(backend.level, []).append((backend, reason))
    for level in sorted(by_level, reverse=True):
        _warn(qualname, by_level[level], ceiling, realized)


def warn_fallback(qualname: str, backend: Backend, ceiling: int, realized: int,
                  reason: str) -> None:
    """Warn (once) that an explicitly requested ``backend`` could not run the call."""
    _warn(qualname, [(backend, reason)], ceiling, realized)


def _warn(qualname: str, why: list[tuple[Backend, str]], ceiling: int, realized: int) -> None:
    because = "; ".join(f"{b.name} (level {b.level}) cannot run it: {reason}"
                        for b, reason in why)
    warn_once(
        (qualname, tuple((b.name, reason) for b, reason in why)),
        f"{qualname}: level {ceiling} ({LEVEL_NAMES[ceiling]}) was requested; it ran "
        f"at level {realized} ({LEVEL_NAMES[realized]}) because {because}. Fix that, or "
        f"decorate with level={realized} to silence this; warnings.filterwarnings("
        f"'ignore', category=optlevel.FallbackWarning) silences every fallback warning.",
        FallbackWarning)
