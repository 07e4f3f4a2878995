"""`postdeck config`: every setting postdeck reads from the environment, as it is now (postdeck/settings.py)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from postdeck.commands.common import app
from postdeck.commands.tables import print_table


@app.command()
def config(
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print each effective setting, where it comes from (environment or default) and what it does.

    Secrets show only their first characters and length, never their value.

    Example: postdeck config --format json
    """
    from postdeck.errors import PostdeckError
    from postdeck.settings import report

    if output not in ("table", "json"):
        raise PostdeckError(f"--format {output!r}: expected table or json")
    rows = report()
    if output == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table()
    table.add_column("variable", no_wrap=True)
    for name in ("value", "source", "description"):
        table.add_column(name)
    for row in rows:
        table.add_row(*(Text(row[name]) for name in ("variable", "value", "source", "description")))
    print_table(table)
