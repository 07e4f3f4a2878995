"""`postdeck history`: every delivery (one post on one platform), newest first (seed 002's schedules.list)."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands.common import app

COLUMNS = ["id", "status", "platform", "provider", "commit", "scheduled_for", "created_at", "url", "error"]


@app.command()
def history(
    status: Annotated[
        list[str] | None,
        typer.Option(help="posted, scheduled, failed, unknown, cancelled or claimed; repeat for several."),
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform, e.g. twitter.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign (ad-hoc posts: adhoc).")] = None,
    since: Annotated[str | None, typer.Option(help="Only since: 7d, 12h, or a date like 2030-01-31.")] = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Only this delivery; repeat for several.")
    ] = None,
    post: Annotated[
        str | None, typer.Option("--post", help="Only the deliveries of this provider post (its platforms).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", envvar="POSTDECK_USER", help="Only this user's deliveries.")
    ] = None,
    commit: Annotated[
        str | None,
        typer.Option("--commit", help="Only deliveries sent by a run of this commit (a SHA or its start)."),
    ] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number, from 1.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=1000, help="Deliveries per page.")] = 20,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """List deliveries with their status, provider and URL; the ids are what retry and cancel take.

    Example: postdeck history --status failed --platform twitter --since 7d --format csv
             postdeck history --commit 3f2c9a1b   (what runs of that commit sent)
    """
    from postdeck.commands._support import delivery_row, emit, output_format
    from postdeck.core.status import DeliveryStatus
    from postdeck.errors import PostdeckError
    from postdeck.ledger.factory import open_ledger
    from postdeck.ledger.queries import DeliveryQuery
    from postdeck.ledger.rows import commit_prefix
    from postdeck.service.schedules import list_deliveries
    from postdeck.timeparse import parse_since

    fmt = output_format(output)
    statuses = tuple(status or ()) or None
    unknown = sorted(set(statuses or ()) - {s.value for s in DeliveryStatus})
    if unknown:
        raise PostdeckError(
            f"unknown status {', '.join(unknown)}: use {', '.join(s.value for s in DeliveryStatus)}"
        )
    query = DeliveryQuery(
        keys=tuple(ids) if ids else None,
        provider_post_id=post,
        statuses=statuses,
        platform=platform.lower() if platform else None,
        campaign=campaign,
        user_id=user,
        created_since=parse_since(since) if since else None,
        commit=commit_prefix(commit) if commit is not None else None,
    )
    records = list_deliveries(open_ledger(), query, page=page, per_page=per_page)
    title = f"deliveries, page {page}" + ("" if records else " (none)")
    emit([delivery_row(r) for r in records], COLUMNS, fmt, title=title)
