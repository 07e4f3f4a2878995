"""`postdeck schema`: regenerate the campaign JSON Schema from the models (a `validate` helper)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write it (default: the committed schemas/ file).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if the file is out of date; write nothing.")
    ] = False,
) -> None:
    """Write the JSON Schema of campaign files, for editors (yaml-language-server) and CI.

    Example: postdeck schema --check
    """
    from postdeck.schemas.json_schema import SCHEMA_FILE, campaign_json_schema, write_schema

    path = out or SCHEMA_FILE
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != campaign_json_schema():
            common.console.print(f"[red]{path} is out of date: run `postdeck schema`[/red]")
            raise typer.Exit(1)
        common.console.print(f"{path} is up to date")
        return
    changed = write_schema(path)
    common.console.print(f"{'wrote' if changed else 'unchanged:'} {path}")
