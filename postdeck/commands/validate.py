"""`postdeck validate`: check campaign files, fast enough for a pre-commit hook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands.common import app, console, err_console
from postdeck.errors import PostdeckError


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="Campaign files or folders.")]) -> None:
    """Check campaign files; every problem is reported with file:line:column.

    Example: postdeck validate campaigns/
    """
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    files = _campaign_files(paths)
    failed = 0
    for file in files:
        try:
            expand(load_campaign(file))
        except PostdeckError as exc:
            failed += 1
            err_console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
    console.print(f"[green]{len(files)} campaign file(s) valid[/green]")


def _campaign_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*.y*ml")
                    if p.suffix in (".yaml", ".yml") and "templates" not in p.parts
                )
            )
        else:
            files.append(path)
    return files
