"""What every subcommand shares."""

from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(Exception):
    """A usage problem: printed as one line, exit status 2."""
