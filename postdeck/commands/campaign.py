"""`postdeck campaign new`: a campaign file from a list of messages (seed 002's create_campaign and
create_quick_campaign), written for review rather than sent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app

campaign_app = typer.Typer(help="Write campaign files.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")


@campaign_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="The campaign's name (lowercase letters, digits, dashes).")],
    from_messages: Annotated[
        Path,
        typer.Option(
            "--from-messages",
            help="One message per line; or messages separated by lines of ---; or a YAML/JSON list.",
        ),
    ],
    every: Annotated[str, typer.Option(help="Time between posts: 1d, 12h, 90m, 1d12h.")] = "1d",
    start: Annotated[
        str, typer.Option(help="When the first post goes out: 'tomorrow 9am', 2d, 2030-06-01T09:00.")
    ] = "tomorrow at 9am",
    to: Annotated[
        str | None, typer.Option("--to", help="Platforms, comma-separated (default: the text platforms).")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The campaign's IANA time zone (default: this machine's).")
    ] = None,
    utc: Annotated[bool, typer.Option("--utc", help="Write the campaign in UTC.")] = False,
    style: Annotated[
        str | None, typer.Option(help="A style of the styles file, copied into the campaign.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="The user whose provider keys publish it.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write it (default: campaigns/NAME.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write campaigns/NAME.yaml: one batch per message, `--every` apart from `--start`; review, then publish.

    Example: postdeck campaign new spring-week --from-messages messages.txt --every 1d --start tomorrow
    """
    from postdeck.campaign_writer import (
        TEXT_PLATFORMS,
        CampaignDraft,
        campaign_yaml,
        read_messages,
        write_campaign,
    )
    from postdeck.core.platform import Platform
    from postdeck.schemas.validation import check_file
    from postdeck.service.styles import get_style
    from postdeck.timeparse import local_zone, parse_when

    zone_name = "UTC" if utc else (timezone or getattr(local_zone(), "key", None) or "UTC")
    first = parse_when(start, zone=zone_name)
    if first is None:  # "now": the first post goes out at the next publish
        from datetime import UTC, datetime

        first = datetime.now(UTC)
    platforms = (
        [Platform(p.strip().lower()) for p in to.split(",") if p.strip()] if to else list(TEXT_PLATFORMS)
    )
    draft = CampaignDraft(
        name=name,
        messages=read_messages(from_messages),
        every=every,
        start=first,
        timezone=zone_name,
        platforms=platforms,
        owner=owner,
        style=style,
        styles={style: get_style(style)} if style else {},
    )
    path = write_campaign(out or Path("campaigns") / f"{name}.yaml", campaign_yaml(draft), overwrite=force)
    report = check_file(path)
    common.console.print(
        f"wrote {path}: {len(draft.messages)} posts to {', '.join(p.value for p in platforms)}, every {every} "
        f"from {first.astimezone(draft_zone(zone_name)).isoformat(sep=' ', timespec='minutes')} ({zone_name})",
        highlight=False,
        soft_wrap=True,
    )
    for finding in report.warnings:
        common.err_console.print(f"[yellow]warning:[/yellow] {finding}", highlight=False, soft_wrap=True)
    for finding in report.errors:
        common.err_console.print(f"[red]error:[/red] {finding}", highlight=False, soft_wrap=True)
    if report.errors:
        from postdeck.commands._support import CommandFailed

        raise CommandFailed(f"{path} was written but is not valid yet: fix the errors above, then publish it")
    common.console.print(f"review it, then: postdeck plan {path} && postdeck publish {path}", highlight=False)


def draft_zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
