"""`postdeck publish`: run the publish-campaign flow and print every delivery."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import CampaignArg, app
from postdeck.engine.verdict import verdict


@app.command()
def publish(
    campaign: CampaignArg,
    sandbox: Annotated[
        bool, typer.Option(help="Publish to the local simulators, not the real providers.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Render, plan and report; send nothing.")] = False,
    batch: Annotated[list[str] | None, typer.Option(help="Only this batch id (repeatable).")] = None,
    ref: Annotated[
        str | None, typer.Option(help="Read the campaign from this git ref, not the working tree.")
    ] = None,
    plan: Annotated[
        str | None, typer.Option(help="Apply this saved plan (postdeck plan --out); refused if stale.")
    ] = None,
    allow_dirty: Annotated[
        bool, typer.Option(help="Publish although the campaign's files differ from HEAD (marked dirty).")
    ] = False,
    allow_repost: Annotated[
        bool, typer.Option(help="Publish again deliveries whose content changed after they were posted.")
    ] = False,
) -> None:
    """Apply a campaign's plan through the publish-campaign flow (on PREFECT_API_URL if set, else locally).

    Example: postdeck publish campaigns/example.yaml --sandbox
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # Without PREFECT_API_URL, Prefect starts a temporary server that migrates a new database on its
    # first run: longer than its default 20 s wait on a slow machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    if home := os.environ.get("PREFECT_HOME"):  # Prefect creates its home, not the folders above it
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    params = PublishParams(
        campaign=str(campaign),
        sandbox=sandbox,
        dry_run=dry_run,
        batches=batch or None,
        ref=ref,
        plan=plan,
        allow_repost=allow_repost,
        allow_dirty=allow_dirty,
    )
    state = publish_campaign(params=params, return_state=True)
    reports = state.result(raise_on_failure=False)
    if isinstance(reports, BaseException):  # the flow raised (a campaign or ledger error): say it as such
        raise reports
    _print_reports(reports)
    outcome = verdict(reports, dry_run=dry_run)
    common.console.print(outcome.summary())
    if not outcome.ok:  # any delivery failed, unknown, not sent, held elsewhere or refused: not done
        raise typer.Exit(1)


def _print_reports(reports: list[dict]) -> None:
    from rich.table import Table

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
    common.console.print(table)
