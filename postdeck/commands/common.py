"""What every command module shares: the typer app, the consoles, common argument types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="postdeck",
    help="Social-media campaigns as code: validate, plan and publish campaign YAML files.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

CampaignArg = Annotated[Path, typer.Argument(help="A campaign YAML file, e.g. campaigns/example.yaml.")]
