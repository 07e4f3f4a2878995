"""`postdeck cancel`: cancel scheduled posts at their provider (seed 002's schedules.delete)."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands.common import app


@app.command()
def cancel(
    ids: Annotated[list[str] | None, typer.Argument(help="Delivery ids (from `postdeck history`).")] = None,
    status: Annotated[
        str,
        typer.Option(help="Which deliveries the filters select (only `scheduled` ones can be cancelled)."),
    ] = "scheduled",
    older_than: Annotated[
        str | None, typer.Option(help="Only deliveries created before this long ago, e.g. 7d.")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Every scheduled delivery the other filters allow.")
    ] = False,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Keep this delivery id; repeat for several.")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    with_siblings: Annotated[
        bool,
        typer.Option(help="Also cancel the other platforms of the same provider post (it carries them all)."),
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", envvar="POSTDECK_USER", help="Only this user's deliveries.")
    ] = None,
    keep_cancelled: Annotated[
        bool,
        typer.Option(
            help="Pin the cancel (also of deliveries cancelled before): publishing the campaign leaves "
            "them cancelled instead of creating them again from the file."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before cancelling with --all.")] = False,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Cancel at the local simulators.")] = False,
) -> None:
    """Cancel scheduled deliveries: deleted at their provider, recorded `cancelled` in the ledger.

    A cancelled delivery the campaign file still has is created again by the next publish (the file
    wins), unless the cancel is pinned with --keep-cancelled.

    Example: postdeck cancel --older-than 7d   |   postdeck cancel --all --exclude example/announce/twitter
    """
    from postdeck.commands._support import CommandFailed, open_service, print_schedule_reports, progress_bar
    from postdeck.errors import PostdeckError
    from postdeck.service.selection import Selection
    from postdeck.timeparse import parse_since

    if not ids and not everything and not older_than and not platform and not campaign:
        raise PostdeckError("say what to cancel: ids, --older-than, --platform, --campaign or --all")
    if everything and not ids and not yes:
        typer.confirm("Cancel every scheduled post these filters select?", abort=True)
    selection = Selection(
        ids=tuple(ids or ()),
        statuses=(status,),
        platform=platform,
        campaign=campaign,
        user_id=user,
        older_than=parse_since(older_than) if older_than else None,
        everything=everything,
        exclude=tuple(exclude or ()),
    )
    with progress_bar("cancelling") as bar:
        reports = open_service(sandbox=sandbox).cancel(
            selection, with_siblings=with_siblings, progress=bar, keep_cancelled=keep_cancelled
        )
    print_schedule_reports(reports, title="cancel")
    left = [r.key for r in reports if r.after != "cancelled"]
    if not reports:
        raise CommandFailed("nothing matched: no post was cancelled")
    if left:
        raise CommandFailed(f"{len(left)} of {len(reports)} deliveries were not cancelled (see above)")
