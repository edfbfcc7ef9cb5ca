"""Tables of the command line: a rich table on a terminal, plain lines elsewhere.

A table written to a pipe, a file or a CI log is never wrapped at 80 columns (a row
split over several lines cannot be read or searched): off a terminal it is printed as
aligned plain lines, one row per line, like ``docker ps`` or ``kubectl get`` do. On a
terminal it is a rich table, as before. This module imports no model (``status`` and
``sessions`` render with it and must start fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def plain_output(console: Console) -> bool:
    """True when ``console`` writes to no terminal (a pipe, a file, a CI log): tables are
    then plain lines and findings are written without styles."""
    return not console.is_terminal and not console.record


def print_table(
    console: Console,
    headers: list[str],
    rows: list[list[str]],
    *,
    title: str | None = None,
    right: set[int] | None = None,
    no_wrap: int = 1,
    styles: dict[int, dict[str, str]] | None = None,
) -> None:
    """Print a table of plain-text cells.

    On a terminal: a rich table, as wide as the terminal at most (the last column wraps);
    the first ``no_wrap`` columns never wrap, the columns in ``right`` are right-aligned
    and ``styles`` maps a column to the style of each of its values (a status to its
    colour). Off a terminal: the title on a line of its own, then one line per row
    (the header first), the columns aligned and two spaces apart, the last one not padded
    and never cut, whitespace in a cell collapsed to single spaces, like ``docker ps``,
    so that a piped or logged row is never split across lines however long it is.
    """
    right = right or set()
    if plain_output(console):
        if title:
            console.out(" ".join(title.split()), highlight=False)
        for line in plain_table_lines(headers, rows, right):
            console.out(line, highlight=False)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title) if title else None, show_lines=False)
    for i, header in enumerate(headers):
        table.add_column(
            escape(header), no_wrap=i < no_wrap, justify="right" if i in right else "left"
        )
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            style = (styles or {}).get(i, {}).get(cell, "")
            cells.append(f"[{style}]{escape(cell)}[/]" if style else escape(cell))
        table.add_row(*cells)
    console.print(table)


def plain_table_lines(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """The lines of :func:`print_table` off a terminal."""
    from rich.cells import cell_len

    cells = [[" ".join(c.split()) for c in row] for row in [headers, *rows]]
    last = len(headers) - 1
    widths = [max(cell_len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - cell_len(cell))
            if i in right:
                cell = pad + cell
            elif i < last:
                cell += pad
            parts.append(cell)
        lines.append("  ".join(parts).rstrip())
    return lines
