"""`postdeck campaign new`: a campaign file from a list of messages (seed 002's create_campaign and
create_quick_campaign) or from a CSV of posts, written for review rather than sent."""

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
        Path | None,
        typer.Option(
            "--from-messages",
            help="One message per line; or messages separated by lines of ---; or a YAML/JSON list.",
        ),
    ] = None,
    from_csv: Annotated[
        Path | None,
        typer.Option(
            "--from-csv",
            help="A CSV of posts, one a row: columns at, caption, and optionally platforms, media, id, "
            "PLATFORM.caption, PLATFORM.OPTION (see the README).",
        ),
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="Time between posts: 1d, 12h, 90m, 1d12h (default 1d).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="When the first post goes out: 'tomorrow 9am', 2d, 2030-06-01T09:00 (default tomorrow 9am)."
        ),
    ] = None,
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
    """Write campaigns/NAME.yaml: one batch per message, `--every` apart from `--start`, or one per row of
    a CSV at its own time; review, then publish.

    Example: postdeck campaign new spring-week --from-messages messages.txt --every 1d --start tomorrow

    Example: postdeck campaign new spring-posts --from-csv posts.csv --timezone Europe/Berlin
    """
    from postdeck.commands._support import CommandFailed

    if (from_messages is None) == (from_csv is None):
        raise CommandFailed("give one of --from-messages FILE or --from-csv FILE")
    if from_csv is not None:
        if every is not None or start is not None:
            raise CommandFailed(
                "--every and --start space messages; a CSV gives each post's time (its at column)"
            )
        _from_csv(name, from_csv, to, timezone, utc, style, owner, out, force)
        return
    assert from_messages is not None
    every = every or "1d"
    start = start or "tomorrow at 9am"
    from postdeck.campaign_writer import (
        TEXT_PLATFORMS,
        CampaignDraft,
        campaign_yaml,
        read_messages,
        write_campaign,
    )
    from postdeck.schemas.validation import check_file
    from postdeck.service.styles import get_style
    from postdeck.timeparse import parse_when

    zone_name = _zone_name(timezone, utc)
    first = parse_when(start, zone=zone_name)
    if first is None:  # "now": the first post goes out at the next publish
        from datetime import UTC, datetime

        first = datetime.now(UTC)
    platforms = _platforms(to) if to else list(TEXT_PLATFORMS)
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
        raise CommandFailed(f"{path} was written but is not valid yet: fix the errors above, then publish it")
    common.console.print(f"review it, then: postdeck plan {path} && postdeck publish {path}", highlight=False)


def _from_csv(
    name: str,
    csv_path: Path,
    to: str | None,
    timezone: str | None,
    utc: bool,
    style: str | None,
    owner: str | None,
    out: Path | None,
    force: bool,
) -> None:
    """Nothing is written unless every row is good: the errors, located in the CSV, are raised."""
    from datetime import UTC, datetime

    from postdeck.campaign_writer import TEXT_PLATFORMS
    from postdeck.csv_import import import_csv
    from postdeck.service.styles import get_style

    imported = import_csv(
        name,
        csv_path,
        out or Path("campaigns") / f"{name}.yaml",
        now=datetime.now(UTC),
        timezone=_zone_name(timezone, utc),
        platforms=_platforms(to) if to else TEXT_PLATFORMS,
        owner=owner,
        style=style,
        styles={style: get_style(style)} if style else {},
        force=force,
    )
    for finding in imported.warnings:
        common.err_console.print(f"[yellow]warning:[/yellow] {finding}", highlight=False, soft_wrap=True)
    common.console.print(
        f"wrote {imported.path}: {imported.rows} posts from {csv_path}", highlight=False, soft_wrap=True
    )
    common.console.print(
        f"review it, then: postdeck plan {imported.path} && postdeck publish {imported.path}",
        highlight=False,
        soft_wrap=True,
    )


def _zone_name(timezone: str | None, utc: bool) -> str:
    from postdeck.timeparse import local_zone

    return "UTC" if utc else (timezone or getattr(local_zone(), "key", None) or "UTC")


def _platforms(to: str) -> list:
    from postdeck.commands._support import CommandFailed
    from postdeck.core.platform import Platform, platform_named

    names = [p for p in to.split(",") if p.strip()]
    unknown = [n.strip() for n in names if n.strip().lower() not in {*Platform, "x"}]
    if unknown:
        raise CommandFailed(
            f"--to: unknown platform {', '.join(unknown)} (use {', '.join(sorted(Platform))} or x)"
        )
    return [platform_named(n) for n in names]


def draft_zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
