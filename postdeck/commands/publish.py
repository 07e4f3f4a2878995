"""`postdeck publish`: run the publish-campaign flow and print every delivery."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Annotated, cast

import typer

from postdeck.commands import common
from postdeck.commands.common import CampaignArg, app
from postdeck.commands.tables import print_table
from postdeck.engine.verdict import is_unresolved, verdict
from postdeck.errors import MissingExtra


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
    expect_plan: Annotated[
        str | None,
        typer.Option(
            help="The reviewed plan's hash (postdeck plan shows it): refused unless it is this plan."
        ),
    ] = None,
    allow_dirty: Annotated[
        bool, typer.Option(help="Publish although the campaign's files differ from HEAD (marked dirty).")
    ] = False,
    allow_repost: Annotated[
        bool, typer.Option(help="Publish again deliveries whose content changed after they were posted.")
    ] = False,
    output: Annotated[
        str, typer.Option("--format", "-f", help="table (tab-separated when piped), or json.")
    ] = "table",
) -> None:
    """Apply a campaign's plan through the publish-campaign flow (on PREFECT_API_URL if set, else locally).

    Example: postdeck publish campaigns/example.yaml --sandbox
    """
    if output not in ("table", "json"):
        raise typer.BadParameter(f"unknown format {output!r}: table or json", param_hint="--format")
    _check_before_prefect(campaign, ref=ref, sandbox=sandbox, dry_run=dry_run)
    MissingExtra.require("prefect", extra="prefect", needed_for="postdeck publish")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Prefect's telemetry off, whoever runs the CLI
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if home := os.environ.get("PREFECT_HOME"):  # Prefect creates its home, not the folders above it
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    _use_local_server_unless_configured()
    from postdeck.commands._support import progress_bar
    from postdeck.engine.progress import watching
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    params = PublishParams(
        campaign=str(campaign),
        sandbox=sandbox,
        dry_run=dry_run,
        batches=batch or None,
        ref=ref,
        plan=plan,
        expect_plan=expect_plan,
        allow_repost=allow_repost,
        allow_dirty=allow_dirty,
    )
    # Live, per batch, on stderr and only on a terminal (progress_bar hides itself otherwise).
    with progress_bar("publishing") as bar, watching(bar.batch_done):
        state = publish_campaign(params=params, return_state=True)
    reports = state.result(raise_on_failure=False)
    if isinstance(reports, BaseException):  # the flow raised (a campaign or ledger error): say it as such
        raise reports
    # A flow that returns a State ends in it, and its result is that state's data: the rows.
    reports = cast("list[dict]", reports)
    outcome = verdict(reports, dry_run=dry_run)
    if output == "json":
        document = {"ok": outcome.ok, "summary": outcome.summary(), "deliveries": reports}
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        _print_reports(reports, dry_run=dry_run)
        common.console.print(outcome.summary())
    if not outcome.ok:  # any delivery failed, unknown, not sent, held elsewhere or refused: not done
        raise typer.Exit(1)


TERMINAL_ROWS = 50  # past this many, a terminal shows the deliveries needing a look; pipes get all


def _print_reports(reports: list[dict], *, dry_run: bool) -> None:
    """On a terminal: a table, cut to the deliveries needing a look when long (all of them are in
    --format json and in the run's table artifact). Piped: every delivery, one tab-separated line
    each (commands/tables.py)."""
    from rich.markup import escape
    from rich.table import Table

    shown = reports
    if common.console.is_terminal and len(reports) > TERMINAL_ROWS:
        shown = [r for r in reports if is_unresolved(r, dry_run=dry_run)][:TERMINAL_ROWS]
    table = Table(
        title="deliveries"
        if shown is reports
        else f"{len(shown)} of {len(reports)} deliveries: those needing a look"
    )
    for column in ("batch", "platform", "action", "status", "provider", "url / error"):
        table.add_column(column, overflow="fold")
    colours = {
        "posted": "green",
        "scheduled": "cyan",
        "failed": "red",
        "unknown": "yellow",
        "not-sent": "yellow",
    }
    for r in shown:
        colour = colours.get(r["status"], "white")
        table.add_row(
            escape(r["batch_id"]),
            r["platform"],
            r["action"],
            f"[{colour}]{r['status']}[/{colour}]",
            r.get("provider") or "",
            escape(r.get("url") or r.get("error") or ""),
        )
    if shown:
        print_table(table)


def _check_before_prefect(campaign: Path, *, ref: str | None, sandbox: bool, dry_run: bool) -> None:
    """What fails without the flow fails before any server start or Prefect import: a missing or
    structurally invalid file, a file beside it of the same name, and no credentials at all (nothing
    to publish with)."""
    if ref is None:
        from postdeck.errors import CampaignErrors
        from postdeck.schemas.campaign_names import name_clashes
        from postdeck.schemas.loader import load_campaign
        from postdeck.settings import file_limits

        # A located CampaignError (the flow renders and checks the rest).
        loaded = load_campaign(campaign, limits=file_limits())
        if clashes := name_clashes([campaign], limits=file_limits()):  # they would share ledger keys
            raise CampaignErrors(clashes)
        owner = loaded.campaign.owner
    else:
        owner = "unknown until the ref is read"
    if not (sandbox or dry_run or owner or _provider_keys_set()):
        from postdeck.errors import CredentialsError
        from postdeck.providers.chain import NO_CREDENTIALS

        raise CredentialsError(NO_CREDENTIALS)


def _provider_keys_set() -> bool:
    from postdeck.settings import settings

    config = settings()
    return any(config.get(name) for name in ("POSTFORME_API_KEY", "LATE_API_KEY"))


def _use_local_server_unless_configured() -> None:
    """Without an API URL (environment, Prefect profile or context), runs go to one local Prefect
    server, started on first use and reused, so its UI keeps their history."""
    from postdeck import localserver

    if _configured_api_url():
        return
    info, started = localserver.ensure_running()
    os.environ["PREFECT_API_URL"] = info.api_url
    common.err_console.print(
        f"{'started' if started else 'using'} the local Prefect server: UI at {info.ui_url}"
    )


def _configured_api_url() -> str | None:
    """Prefect's API URL as Prefect would find it, read before Prefect is imported: it fixes its
    settings at import, so the local server's address must be in the environment before then.
    (Prefect's own variables, read here as Prefect reads them: not postdeck settings.)"""
    if "prefect.settings" in sys.modules:  # already imported (a test harness, an embedding program)
        from prefect.settings import get_current_settings

        return get_current_settings().api.url
    if url := os.environ.get("PREFECT_API_URL"):
        return url
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    try:
        data = tomllib.loads(profiles.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    return (data.get("profiles", {}).get(active) or {}).get("PREFECT_API_URL")
