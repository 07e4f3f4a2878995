"""`postdeck publish`: run the publish-campaign flow and print every delivery."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from postdeck.commands.common import CampaignArg, app, console


@app.command()
def publish(
    campaign: CampaignArg,
    sandbox: Annotated[
        bool, typer.Option(help="Publish to the local simulators, not the real providers.")
    ] = False,
) -> None:
    """Publish a campaign through the publish-campaign flow (on PREFECT_API_URL if set, else locally).

    Example: postdeck publish campaigns/example.yaml --sandbox
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from postdeck.flows.publish import publish_campaign

    reports = publish_campaign(campaign=str(campaign), sandbox=sandbox)
    _print_reports(reports)
    if any(r["status"] in ("failed", "unknown") or r["action"] == "not-sent" for r in reports):
        raise typer.Exit(1)


def _print_reports(reports: list[dict]) -> None:
    table = Table(title="deliveries")
    for column in ("batch", "platform", "action", "status", "provider", "url / error"):
        table.add_column(column, overflow="fold")
    colours = {"posted": "green", "scheduled": "cyan", "failed": "red", "unknown": "yellow"}
    for r in reports:
        colour = colours.get(r["status"], "white")
        table.add_row(
            r["batch_id"],
            r["platform"],
            r["action"],
            f"[{colour}]{r['status']}[/{colour}]",
            r.get("provider") or "",
            r.get("url") or r.get("error") or "",
        )
    console.print(table)
