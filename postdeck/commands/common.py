"""What every command module shares: the typer app, the consoles, common argument types.

The consoles (`common.console`, `common.err_console`) are made on first use: importing rich costs
tens of milliseconds that `postdeck validate` in a pre-commit hook does not need.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console

app = typer.Typer(
    name="postdeck",
    help="Social-media campaigns as code: validate, plan and publish campaign YAML files.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"postdeck {version('postdeck')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """Social-media campaigns as code: validate, plan and publish campaign YAML files."""


CampaignArg = Annotated[Path, typer.Argument(help="A campaign YAML file, e.g. campaigns/example.yaml.")]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Validation builds hundreds of thousands of small long-lived objects and no garbage cycles
    worth collecting: the cyclic collector re-scanning them took a quarter of the run.

    On the way out they are frozen (moved out of the collector's sight): re-enabled as they were,
    its first collection scanned all of them at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


_CONSOLES: dict[str, dict[str, Any]] = {"console": {}, "err_console": {"stderr": True}}


def __getattr__(name: str) -> Any:
    """`console` and `err_console`, made (and kept as module attributes) when first asked for."""
    if name not in _CONSOLES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    made = Console(**_CONSOLES[name])
    globals()[name] = made
    return made
