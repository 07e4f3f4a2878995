"""`postdeck retry`: send failed deliveries again, exactly once (seed 002's schedules.retry)."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands.common import app


@app.command()
def retry(
    ids: Annotated[list[str] | None, typer.Argument(help="Delivery ids (from `postdeck history`).")] = None,
    status: Annotated[
        str | None, typer.Option(help="Retry every delivery in this status (only `failed` ones are retried).")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    since: Annotated[str | None, typer.Option(help="Only deliveries created since, e.g. 7d.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", envvar="POSTDECK_USER", help="Only this user's deliveries.")
    ] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Retry through the local simulators.")] = False,
) -> None:
    """Retry failed deliveries: LATE re-runs its own post; others are rebuilt from their file and sent.

    Example: postdeck retry --status failed --platform twitter   (or: postdeck retry adhoc/p-1a2b…/twitter)
    """
    from postdeck.commands._support import CommandFailed, open_service, print_schedule_reports, progress_bar
    from postdeck.service.selection import Selection
    from postdeck.timeparse import parse_since

    selection = Selection(
        ids=tuple(ids or ()),
        statuses=(status,) if status else None,
        platform=platform,
        campaign=campaign,
        user_id=user,
        since=parse_since(since) if since else None,
    )
    with progress_bar("retrying") as bar:
        reports = open_service(sandbox=sandbox).retry(selection, progress=bar)
    print_schedule_reports(reports, title="retry")
    left = [r.key for r in reports if r.after not in ("posted", "scheduled")]
    if not reports:
        raise CommandFailed("nothing matched: no delivery was retried")
    if left:
        raise CommandFailed(f"{len(left)} of {len(reports)} deliveries are not posted (see above)")
