"""Print a rich table where a person reads it, and plain rows where a program or a log does.

On a terminal the table is drawn. Piped (a CI log, `| grep`, `| less`) rich would squeeze it into
80 columns and fold every cell, URLs included, one character wide: instead each row is one
tab-separated line of the cells' plain text (markup and colour dropped, emoji codes kept as
written, a cell's line breaks and tabs turned into spaces), after a header line of the column names.
A title or caption goes first and last as a `# ` line.
"""

from __future__ import annotations

import sys
from contextlib import suppress
from typing import TYPE_CHECKING

from postdeck.commands import common

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table


def print_table(table: Table) -> None:
    if common.console.is_terminal:
        common.console.print(table)
        return
    from rich.errors import MarkupError
    from rich.text import Text

    def plain(cell: RenderableType) -> str:
        if isinstance(cell, Text):
            text = cell.plain
        else:
            text = str(cell)
            # Markup (a colour, or data escaped as `\[`) is read; without any, the text is the data. Data
            # that looks like markup and was not escaped (a MarkupError) is shown as it is.
            if "[" in text:
                with suppress(MarkupError):
                    text = Text.from_markup(text, emoji=False).plain
        return " ".join(text.replace("\t", " ").split("\n")).strip()

    lines = []
    if table.title:
        lines.append(f"# {plain(table.title)}")
    lines.append("\t".join(plain(column.header) for column in table.columns))
    cells = [list(column.cells) for column in table.columns]
    lines += ["\t".join(plain(cell) for cell in row) for row in zip(*cells, strict=True)]
    if table.caption:
        lines.append(f"# {plain(table.caption)}")
    sys.stdout.write("\n".join(lines) + "\n")
