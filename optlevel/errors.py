"""Warnings and errors raised by optlevel.

Every warning derives from :class:`OptlevelWarning` and every error from
:class:`OptlevelError`, so a user can silence or catch all of optlevel with one
class. Warnings are issued once per function and reason (see :func:`warn_once`)
with a ``stacklevel`` that points at the user's call, and always say what was
asked, what ran, and how to fix or silence it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import types
import warnings
from collections.abc import Iterator

from .core.runtime import RUNTIME

__all__ = [
    "OptlevelWarning",
    "FallbackWarning",
    "PerformanceWarning",
    "VectorizationAdvice",
    "ResultMismatchWarning",
    "OptlevelError",
    "LevelUnavailable",
    "ConfigError",
    "warn_once",
    "first_time",
    "first_line",
    "muted",
    "user_stacklevel",
]


class OptlevelWarning(UserWarning):
    """Base class of every warning optlevel issues."""


class FallbackWarning(OptlevelWarning):
    """A requested level could not serve a call; a lower level ran instead."""


class PerformanceWarning(OptlevelWarning):
    """The call ran correctly, but slower than it could (or than asked for)."""


class VectorizationAdvice(OptlevelWarning):
    """Level 1 found a loop or layout that plain NumPy would run much faster."""


class ResultMismatchWarning(OptlevelWarning):
    """``verify`` found a level whose result differs from the plain function."""


class OptlevelError(Exception):
    """Base class of every error optlevel raises."""


class LevelUnavailable(OptlevelError):
    """``strict=True`` asked for a level that cannot run this call."""


class ConfigError(OptlevelError, ValueError):
    """A bad ``level``, option or ``OPTLEVEL_*`` value."""


#: the warnings issued so far (bounded: a long-running process with ever new
#: functions forgets its oldest keys and may warn again, never grows without end)
_SEEN = RUNTIME.cache("errors.warned", maxsize=10_000)


_MUTED: contextvars.ContextVar[bool] = contextvars.ContextVar("optlevel_muted", default=False)


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """No optlevel warning inside the block, and none marked as issued: what only
    looks at a call (``optlevel.explain``) must not use up the warning its real call
    gives."""
    token = _MUTED.set(True)
    try:
        yield
    finally:
        _MUTED.reset(token)


def first_time(key: tuple[object, ...]) -> bool:
    """True the first time ``key`` is asked about in this process (or since
    :func:`optlevel.reset`), False after, and always False inside :func:`muted`:
    the memory behind :func:`warn_once`, for warnings issued another way
    (``warnings.warn_explicit``)."""
    if _MUTED.get():
        return False
    with _SEEN.lock:
        if key in _SEEN:
            return False
        _SEEN[key] = True
        return True


def warn_once(key: tuple[object, ...], message: str,
              category: type[Warning] = FallbackWarning, stacklevel: int | None = None) -> bool:
    """Issue ``message`` once per ``key`` for the life of the process.

    Parameters
    ----------
    key : tuple
        Identifies the function and the reason, e.g. ``(qualname, "numba", reason)``.
    message, category
        As for :func:`warnings.warn`.
    stacklevel
        As for :func:`warnings.warn`, counted from the caller; by default the first
        frame outside optlevel, i.e. the user's line that made the call.

    Returns
    -------
    bool
        True when the warning was issued now, False when it had been issued before.
    """
    if not first_time(key):
        return False
    if stacklevel is None:
        stacklevel = user_stacklevel()
    warnings.warn(message, category, stacklevel=stacklevel + 1)
    return True


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """How many frames up from warn_once's caller the first non-optlevel frame is."""
    frame: types.FrameType | None = sys._getframe(2)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR + os.sep):
        frame = frame.f_back
        level += 1
    return level


def first_line(exc: BaseException, limit: int = 240) -> str:
    """The first line of an exception's message for a reason (its type's name when the
    message is empty), at most ``limit`` characters."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
