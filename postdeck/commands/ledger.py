"""`postdeck ledger flush|status|history`: the record of every delivery and post."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app
from postdeck.commands.tables import print_table

if TYPE_CHECKING:
    from postdeck.engine.provider_census import ProviderRebuild
    from postdeck.ledger.base import Ledger

ledger_app = typer.Typer(
    help="The ledger: deliveries, outcomes and post history (Supabase or the local SQLite file).",
    no_args_is_help=True,
)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command()
def flush() -> None:
    """Write the outcomes kept in the local journal (while the database was unreachable) into the ledger.

    Runs by itself at the start of every publish; run it by hand after an outage.
    Example: postdeck ledger flush
    """
    from postdeck.ledger.base import LedgerUnavailable
    from postdeck.ledger.factory import open_ledger
    from postdeck.ledger.journal import replay

    ledger = open_ledger()
    report = replay(ledger)
    common.console.print(
        f"{report.applied} outcomes written, {report.already} already recorded, "
        f"{len(report.refused)} refused, {report.pending} still waiting"
        + (f", {report.other_ledgers} for another ledger" if report.other_ledgers else "")
        + (f", {report.missing} for deliveries this ledger does not have (kept)" if report.missing else "")
    )
    for reason in report.refused:
        common.console.print(f"  refused (kept as the ledger has it): {reason}", highlight=False)
    if report.error:
        raise LedgerUnavailable(
            f"{report.pending} outcomes still wait in {ledger.journal.path}: {report.error}; "
            "run `postdeck ledger flush` again when the database is back"
        )


@ledger_app.command()
def rebuild(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's deliveries.")] = None,
    from_providers: Annotated[
        Path | None,
        typer.Option(
            "--from-providers",
            help="Also ask the providers for this campaign file's posts (when the journal is gone too).",
        ),
    ] = None,
    sandbox: Annotated[bool, typer.Option(help="With --from-providers: ask the local simulators.")] = False,
) -> None:
    """Put back the deliveries a new or replaced ledger lost, from what the journal saw recorded (and,
    with --from-providers FILE, from the posts the providers have of that campaign, by post key).

    A publish refuses while the ledger lacks deliveries the journal remembers, or, on a campaign's
    first publish into a ledger, while the providers already have its posts (they would be sent
    again); this restores them (outcome, post key, where each create went). Nothing is sent.
    Example: postdeck ledger rebuild --campaign spring-launch
    Example: postdeck ledger rebuild --from-providers campaigns/spring-launch.yaml
    """
    from postdeck.ledger.factory import open_ledger
    from postdeck.ledger.journal import replay
    from postdeck.ledger.rebuild import rebuild_from_journal

    ledger = open_ledger()
    report = rebuild_from_journal(ledger, ledger.journal, campaign=campaign)
    flushed = replay(ledger)  # outcomes kept for deliveries the ledger lacked go in now
    common.console.print(
        f"{len(report.restored)} deliveries restored from {ledger.journal.path} into {ledger.ident}"
        + (f", {flushed.applied} waiting outcomes written" if flushed.applied else ""),
        highlight=False,
    )
    unsearched: tuple[str, ...] = ()
    if from_providers is not None:
        rebuilt = _rebuild_from_providers(ledger, from_providers, sandbox=sandbox)
        common.console.print(
            f"{len(rebuilt.restored)} deliveries restored from the providers' posts of {from_providers}",
            highlight=False,
        )
        if rebuilt.census.bound_note():
            common.console.print(f"  note: {rebuilt.census.bound_note()}", highlight=False)
        unsearched = rebuilt.census.unreadable
        for why in unsearched:
            common.console.print(f"  not searched: {why}; run it again when it is reachable", highlight=False)
    for key, why in report.skipped:
        common.console.print(f"  not restored: {key}: {why}", highlight=False)
    if report.skipped or unsearched:
        raise typer.Exit(1)


def _rebuild_from_providers(ledger: Ledger, path: Path, *, sandbox: bool) -> ProviderRebuild:
    from postdeck.engine.provider_census import rebuild_from_providers
    from postdeck.errors import CampaignErrors
    from postdeck.schemas.validation import check_file
    from postdeck.service.chains import service_chain
    from postdeck.settings import file_limits

    report = check_file(path, limits=file_limits())
    if not report.ok or report.loaded is None:
        raise CampaignErrors(report.errors)
    deliveries = [item.delivery for item in report.prepared]
    with service_chain(report.loaded.campaign.owner, ledger, sandbox=sandbox) as chain:
        return rebuild_from_providers(ledger, chain, deliveries, now=datetime.now(UTC))


@ledger_app.command()
def status() -> None:
    """Which ledger is in use, its deliveries by status, and outcomes waiting in the journal.

    Example: postdeck ledger status
    """
    from postdeck.ledger.factory import open_ledger
    from postdeck.ledger.journal_guard import missing_from_ledger

    ledger = open_ledger()
    counts: dict[str, int] = {}
    for record in ledger.all_deliveries():
        counts[record.status] = counts.get(record.status, 0) + 1
    waiting = [e for e in ledger.journal.pending() if e.get("ledger") == ledger.ident]
    lost = missing_from_ledger(ledger, ledger.journal)
    common.console.print(f"ledger: {ledger.ident}", highlight=False)
    common.console.print(
        "deliveries: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"), highlight=False
    )
    common.console.print(
        f"journal: {len(waiting)} outcomes waiting in {ledger.journal.path}", highlight=False
    )
    if lost:
        common.console.print(
            f"lost: {len(lost)} deliveries the journal saw recorded are not in this ledger; "
            "publishing refuses until `postdeck ledger rebuild` puts them back",
            highlight=False,
        )


@ledger_app.command()
def history(
    user: Annotated[str | None, typer.Option(help="Only this user's posts.")] = None,
    status: Annotated[
        str | None, typer.Option(help="posted, scheduled, failed, unknown or cancelled.")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Only posts to this platform, e.g. twitter.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's posts.")] = None,
    since: Annotated[str | None, typer.Option(help="Only posts created since, e.g. 2030-01-31.")] = None,
    limit: Annotated[int, typer.Option(help="How many posts (1-1000).")] = 50,
    offset: Annotated[int, typer.Option(help="How many to skip (paging).")] = 0,
) -> None:
    """Post history, newest first.

    Example: postdeck ledger history --platform twitter --since 2030-01-01 --limit 20
    """
    from postdeck.ledger.factory import open_ledger

    posts = open_ledger().get_post_history(
        user,
        status=status,
        platform=platform,
        campaign=campaign,
        since=_since(since),
        limit=limit,
        offset=offset,
    )
    from rich.table import Table
    from rich.text import Text

    table = Table(title="post history")
    for column in ("created", "status", "provider", "platforms", "campaign", "batch", "url / error"):
        table.add_column(column, overflow="fold")
    for post in posts:
        cells = (
            post.created_at.isoformat(timespec="seconds") if post.created_at else "",
            post.status or "",
            post.provider or "",
            ", ".join(post.platforms),
            post.campaign or "",
            post.batch_id or "",
            ", ".join(post.platform_post_urls.values()) or post.error_message or "",
        )
        table.add_row(*(Text(cell) for cell in cells))  # data, never markup (an error may hold `[...]`)
    print_table(table)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a date or time, e.g. 2030-01-31 or 2030-01-31T09:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
