"""Numba's error messages, cut to what a user needs in a reason."""

from __future__ import annotations

import re

__all__ = ["trim_numba_error", "first_line"]

_LINE_RE = re.compile(r'File "([^"]+)", line (\d+)')
_COLOUR_RE = re.compile(r"\x1b\[[0-9;]*m")
_NOISE = ("Failed in ", "During:", "File ", "Enable logging")


def trim_numba_error(exc: BaseException) -> str:
    """Numba's message cut to what a user needs: the line and the first complaint."""
    text = str(exc)
    where = ""
    matches = _LINE_RE.findall(text)
    if matches:
        filename, line = matches[-1]
        where = f"line {line}: "
        source_line = _source_line_after(text, f'line {line}:')
        if source_line:
            where += f"`{source_line}`: "
    return where + first_line(text)


def _source_line_after(text: str, marker: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().endswith(marker) and i + 1 < len(lines):
            return lines[i + 1].strip().lstrip(">").strip()
    return ""


def first_line(text: str) -> str:
    """The first line that says something, skipping Numba's pipeline banners."""
    for line in text.splitlines():
        clean = _COLOUR_RE.sub("", line).strip()
        if clean and not clean.startswith(_NOISE) and not clean.startswith("^"):
            return clean[:300]
    return text.strip().splitlines()[0][:300] if text.strip() else type(text).__name__
