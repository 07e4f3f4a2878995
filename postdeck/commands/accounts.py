"""`postdeck accounts`: the social accounts connected at each provider (seed 002's channels)."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app
from postdeck.errors import PostdeckError


@app.command()
def accounts(
    platform: Annotated[str | None, typer.Option(help="Only this platform, e.g. twitter.")] = None,
    name: Annotated[str | None, typer.Option(help="Only usernames containing this (any case).")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only connected (active) accounts.")] = False,
    account_id: Annotated[str | None, typer.Option("--id", help="Only the account with this id.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", envvar="POSTDECK_USER", help="Whose provider keys to use.")
    ] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Ask the local simulators.")] = False,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """List the accounts connected at every provider you have keys for, with their ids.

    Example: postdeck accounts --platform twitter --name news --active
    """
    from postdeck.commands._support import emit, open_service, output_format, spinner
    from postdeck.core.platform import platform_named
    from postdeck.service.accounts import list_accounts

    fmt = output_format(output)
    wanted = None
    if platform:
        try:
            wanted = platform_named(platform)
        except ValueError as exc:
            raise PostdeckError(str(exc)) from None
    service = open_service(sandbox=sandbox)
    with spinner("asking the providers"), service.chain(user) as chain:
        listing = list_accounts(
            chain, platform=wanted, name=name, active=True if active else None, account_id=account_id
        )
        nobody = len(listing.problems) == len(chain.links)
    if listing.problems and nobody:
        raise PostdeckError(
            "no provider answered: " + "; ".join(f"{k}: {v}" for k, v in listing.problems.items())
        )
    for label, problem in listing.problems.items():
        common.err_console.print(
            f"[yellow]warning:[/yellow] {label}: {problem}", highlight=False, soft_wrap=True
        )
    rows = [
        {
            "provider": a.provider,
            "platform": a.platform,
            "username": a.username,
            "id": a.id,
            "status": "connected" if a.connected else "disconnected",
            "credentials": a.link,
        }
        for a in listing.accounts
    ]
    emit(rows, ["provider", "platform", "username", "id", "status", "credentials"], fmt, title="accounts")
