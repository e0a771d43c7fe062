"""Progress on stderr for long commands: a rich bar with a time estimate on a
terminal (when rich is installed), plain lines otherwise (logs, pipes, CI), nothing
with ``-q``."""

from __future__ import annotations

import importlib.util
import sys
import time
from types import TracebackType
from typing import Any, TextIO

from .._table import format_seconds

__all__ = ["Progress"]


class Progress:
    """``with Progress(total, title) as bar:`` then ``bar.start(label)`` before each
    step, ``bar.note(line)`` for a line under it, ``bar.done()`` after it."""

    def __init__(self, total: int, title: str, file: TextIO | None = None,
                 quiet: bool = False) -> None:
        self.total, self.title, self.quiet = total, title, quiet
        self.out = file or sys.stderr
        self.count = 0
        self.started = time.perf_counter()
        self._rich: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        isatty = getattr(self.out, "isatty", None)
        if not self.quiet and isatty and isatty() and importlib.util.find_spec("rich"):
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._rich = Bar(TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
                             TimeRemainingColumn(), console=Console(file=self.out),
                             transient=True)
            self._rich.__enter__()
            self._task = self._rich.add_task(self.title, total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.__exit__(kind, exc, tb)

    def eta(self) -> float | None:
        """Seconds left, from the mean time of the steps done so far."""
        if not self.count:
            return None
        return (time.perf_counter() - self.started) / self.count * (self.total - self.count)

    def start(self, label: str) -> None:
        if self.quiet:
            return
        if self._rich is not None:
            self._rich.update(self._task, description=f"{self.title}: {label}")
            return
        left = self.eta()
        eta = f" (about {format_seconds(left)} left)" if left is not None else ""
        print(f"[{self.count + 1}/{self.total}] {label}{eta}", file=self.out, flush=True)

    def note(self, line: str) -> None:
        if self.quiet:
            return
        if self._rich is not None:
            self._rich.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=self.out, flush=True)

    def done(self) -> None:
        self.count += 1
        if self._rich is not None:
            self._rich.advance(self._task)
