"""`postdeck connect`: the OAuth link that connects a social account (seed 000's get_oauth_url)."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app


@app.command()
def connect(
    platform: Annotated[
        str, typer.Argument(help="twitter, linkedin, instagram, facebook, tiktok, threads, ...")
    ],
    redirect_url: Annotated[
        str, typer.Option("--redirect-url", help="Where the provider sends the browser back afterwards.")
    ],
    user: Annotated[
        str | None,
        typer.Option(
            "--user", envvar="POSTDECK_USER", help="Whose provider keys to use (and tag the account with)."
        ),
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="postforme or late (default: the first that can give a link).")
    ] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Ask the local simulators.")] = False,
) -> None:
    """Print the URL to open in a browser to connect a social account of PLATFORM.

    Example: postdeck connect linkedin --redirect-url https://app.example.com/oauth/callback --user 6f1c…
    """
    from postdeck.commands._support import open_service

    url = open_service(sandbox=sandbox).connect_url(user, platform, redirect_url, provider)
    common.console.print(url, highlight=False, soft_wrap=True)
