"""`postdeck limits`: create the Prefect global concurrency limits that cap provider calls."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app


@app.command()
def limits(
    postforme: Annotated[
        int, typer.Option(help="Calls to PostForMe in flight at once, all runs together.")
    ] = 4,
    late: Annotated[int, typer.Option(help="Calls to LATE in flight at once, all runs together.")] = 8,
) -> None:
    """Create or update the `provider:postforme` and `provider:late` limits on the Prefect server.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api postdeck limits --postforme 4 --late 8
    """
    from postdeck.flows.limits import ensure_limits

    for name, what in ensure_limits({"provider:postforme": postforme, "provider:late": late}).items():
        common.console.print(f"{name}: {what}")
