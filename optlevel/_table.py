"""Tables for people: plain text (logs, pipes, ``str()``), HTML (Jupyter) and, when
rich is installed, rich tables on a terminal that wrap long reasons to its width.

The plain text stays hand-padded on purpose: it is what logs, pipes and tests read,
one row per line whatever the width; rich draws the same rows on a terminal.
"""

from __future__ import annotations

import dataclasses
import html
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any, TextIO, Union


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                 title: str = "") -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows)
               for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(row, widths, numeric)).rstrip()

    out = [title] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_seconds(seconds: float) -> str:
    """1.23 s, 4.56 ms, 7.89 µs: three significant digits in a readable unit."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


@dataclasses.dataclass(frozen=True)
class Table:
    """A table that renders as plain text (logs, pipes), HTML (Jupyter) or a rich
    table (a terminal, when rich is installed: long cells wrap to its width)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""

    def text(self) -> str:
        return format_table(self.headers, self.rows, self.title)

    def html(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(
            f"<td style='text-align:{'right' if _is_number(c) else 'left'}'>"
            f"{esc(_cell(c))}</td>" for c in row) + "</tr>" for row in self.rows)
        caption = f"<caption>{esc(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def rich(self) -> Any:
        from rich.table import Table as RichTable

        table = RichTable(title=self.title or None, title_justify="left")
        for i, header in enumerate(self.headers):
            numeric = bool(self.rows) and all(_is_number(r[i]) for r in self.rows)
            table.add_column(header, justify="right" if numeric else "left",
                             overflow="fold")
        for row in self.rows:
            table.add_row(*(_cell(c) for c in row))
        return table


Block = Union[str, Table]


class Rendered:
    """Mixin for results shown to people: ``_blocks()`` gives lines and tables;
    ``str()`` is plain text, Jupyter gets HTML, IPython's pretty printer the text,
    and :meth:`print` draws rich tables in a terminal."""

    def _blocks(self) -> list[Block]:
        raise NotImplementedError

    def __str__(self) -> str:
        return "\n".join(b.text() if isinstance(b, Table) else b for b in self._blocks())

    def _repr_html_(self) -> str:
        parts = [b.html() if isinstance(b, Table) else
                 f"<pre style='margin:0'>{html.escape(b)}</pre>" for b in self._blocks()]
        return "<div class='optlevel'>" + "".join(parts) + "</div>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self) if not cycle else f"<{type(self).__name__}>")

    def print(self, file: TextIO | None = None) -> None:
        """Print: rich tables on a terminal when rich is installed, else plain text."""
        show(self._blocks(), file)


def _use_rich(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and importlib.util.find_spec("rich") is not None


def show(blocks: Sequence[Block], file: TextIO | None = None) -> None:
    """Print ``blocks``: rich on a terminal (when installed), plain text when piped."""
    out = file or sys.stdout
    if not _use_rich(out):
        print("\n".join(b.text() if isinstance(b, Table) else b for b in blocks), file=out)
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False)
    for b in blocks:
        console.print(b.rich() if isinstance(b, Table) else Text(b))
