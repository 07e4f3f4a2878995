"""Print a rich table where a person reads it, and plain rows where a program or a log does.

On a terminal the table is drawn. Piped (a CI log, `| grep`, `| less`) rich would squeeze it into
80 columns and fold every cell, URLs included, one character wide: instead each row is one
tab-separated line of the cells' plain text (markup and colour dropped, a cell's line breaks and
tabs turned into spaces), after a header line of the column names. A title or caption goes first
and last as a `# ` line.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from postdeck.commands import common

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table


def print_table(table: Table) -> None:
    if common.console.is_terminal:
        common.console.print(table)
        return
    lines = []
    if table.title:
        lines.append(f"# {_plain(table.title)}")
    lines.append("\t".join(_plain(column.header) for column in table.columns))
    cells = [list(column.cells) for column in table.columns]
    lines += ["\t".join(_plain(row) for row in rows) for rows in zip(*cells, strict=True)]
    if table.caption:
        lines.append(f"# {_plain(table.caption)}")
    sys.stdout.write("\n".join(lines) + "\n")


def _plain(cell: RenderableType) -> str:
    from rich.errors import MarkupError
    from rich.text import Text

    try:
        text = cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain
    except MarkupError:  # data that looks like markup and was not escaped: shown as it is
        text = str(cell)
    return " ".join(text.replace("\t", " ").split("\n")).strip()
