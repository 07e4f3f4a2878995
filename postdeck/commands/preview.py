"""`postdeck preview`: the plan as a calendar, written as a static site (and served with --serve).

Imports no Prefect and no provider client; the site itself is built by postdeck/preview/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postdeck.commands.common import app, collector_paused

if TYPE_CHECKING:
    from postdeck.ledger.base import Ledger
    from postdeck.preview.model import Refine


@app.command()
def preview(
    paths: Annotated[list[Path], typer.Argument(help="Campaign files or folders (searched for *.yaml).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The folder to write the site into.")] = Path(
        ".postdeck/preview"
    ),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Serve it on 127.0.0.1 and rebuild when a campaign file or the ledger changes."
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="The port for --serve (0: any free one).")] = 8765,
    refresh: Annotated[
        bool,
        typer.Option(
            help="First ask the providers for every scheduled post (as `plan --refresh` does): one "
            "deleted, moved or edited there is shown as drift."
        ),
    ] = False,
    sandbox: Annotated[bool, typer.Option(help="With --refresh: ask the local simulators.")] = False,
) -> None:
    """Write a calendar of what publishing would do: one card per delivery, with its plan action,
    ledger status, rendered caption and media. Opens from file://, needs no network.

    Example: postdeck preview campaigns/example.yaml --out .postdeck/preview
    """
    from postdeck.commands.output import Printer
    from postdeck.commands.validate import campaign_files
    from postdeck.ledger.factory import open_backend
    from postdeck.preview.generate import generate

    printer = Printer()
    files, missing = campaign_files(paths)
    for path in missing:
        printer.error(f"{path}: no such file or folder")
    if missing or not files:
        printer.error("no campaign files to preview" if not missing else "nothing written")
        printer.flush()
        raise typer.Exit(1)
    ledger = open_backend()
    refine = _refresher(ledger, sandbox) if refresh else None
    with collector_paused():
        built = generate(files, out, ledger, refine=refine)
    for error in built.errors:
        printer.warning(f"{error} (shown in the preview)")
    printer.ok(f"preview of {built.deliveries} deliveries: {built.index.resolve().as_uri()}")
    printer.flush()
    if serve:
        from postdeck.preview.serve import serve_forever

        serve_forever(
            lambda: campaign_files(paths)[0],
            out,
            ledger,
            campaigns=built.campaigns,
            port=port,
            say=typer.echo,
            refine=refine,
        )
    elif built.errors:
        raise typer.Exit(1)


def _refresher(ledger: Ledger, sandbox: bool) -> Refine:
    """Each campaign's plan after asking its owner's providers: the plan command's --refresh."""
    from postdeck.commands.plan import Refresh

    asking = Refresh(sandbox)
    return lambda plan, owner: asking(plan, owner, ledger)
