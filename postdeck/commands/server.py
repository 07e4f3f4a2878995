"""`postdeck server start|stop|status`: the local Prefect server that local runs share."""

from __future__ import annotations

import typer

from postdeck.commands import common
from postdeck.commands.common import app

server_app = typer.Typer(
    help="The local Prefect server (UI and run history) that `publish` starts on first use.",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


@server_app.command()
def start() -> None:
    """Start the local Prefect server (or find the one running) and print its UI address.

    Example: postdeck server start
    """
    from postdeck import localserver

    info, started = localserver.ensure_running()
    common.console.print(f"{'started' if started else 'running'}: Prefect UI {info.ui_url} (pid {info.pid})")


@server_app.command()
def stop() -> None:
    """Stop the local Prefect server.

    Example: postdeck server stop
    """
    from postdeck import localserver

    info = localserver.stop()
    common.console.print(f"stopped the server on port {info.port}" if info else "no local server was running")


@server_app.command()
def status() -> None:
    """Whether the local Prefect server runs, and where; exit 1 when it does not.

    Example: postdeck server status
    """
    from postdeck import localserver

    info = localserver.current()
    if info is None:
        common.console.print("not running (postdeck publish starts it; or postdeck server start)")
        raise typer.Exit(1)
    common.console.print(f"running: Prefect UI {info.ui_url} (pid {info.pid}, home {info.home})")
