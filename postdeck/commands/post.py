"""`postdeck post`: one post, now or later, to some platforms or all (seed 002's post() and post_to())."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app
from postdeck.errors import PostdeckError


@app.command()
def post(
    text: Annotated[str, typer.Argument(help="What to post; `-` reads it from standard input.")],
    to: Annotated[
        str,
        typer.Option("--to", help="Platforms, comma-separated (twitter,linkedin,...), or `all` connected."),
    ],
    when: Annotated[
        str | None,
        typer.Option(help="now (default), 30m, 2h, 2d, 'tomorrow at 3pm', 'next Monday 10am', or ISO 8601."),
    ] = None,
    media: Annotated[
        list[str] | None,
        typer.Option("--media", help="A file or an https URL (downloaded safely); repeat for several."),
    ] = None,
    style: Annotated[
        str | None, typer.Option(help="A style of the styles file (templates, options).")
    ] = None,
    styles: Annotated[
        Path | None, typer.Option(help="The styles file (default: styles.yaml, or POSTDECK_STYLES).")
    ] = None,
    utc: Annotated[bool, typer.Option("--utc", help="Read --when in UTC, not the local time zone.")] = False,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="Names this post: the same key never posts twice (default: made from the post)."),
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", envvar="POSTDECK_USER", help="Whose provider keys to use.")
    ] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Post to the local simulators.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Post TEXT to platforms now or at a time, exactly once (a repeated command does not post again).

    Example: postdeck post "Spring roast is here ☕" --to twitter,linkedin --when "tomorrow at 9am" --media roast.jpg
    """
    from postdeck.commands._support import coloured, open_service, spinner
    from postdeck.timeparse import parse_when, require_future

    content = sys.stdin.read().strip() if text == "-" else text
    moment = parse_when(when, utc=utc)
    if moment is not None and moment.microsecond:
        # Up to the whole second, never cut to the minute: "1m" at hh:mm:48 must not go out 12 s
        # later. No provider rounds to minutes, but Post for Me keeps milliseconds only (toISOString),
        # and the ledger must hold the time the provider answers with.
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    require_future(moment)
    service = open_service(sandbox=sandbox)
    if styles is not None:
        service.styles_file = styles
    with tempfile.TemporaryDirectory(prefix="postdeck-media-") as folder:
        with spinner("fetching media"):
            files = [_local(entry, Path(folder)) for entry in media or []]
        with spinner("posting"):
            result = service.post(
                user, content, to, files, moment, idempotency_key=idempotency_key, style=style
            )
    if as_json:
        sys.stdout.write(json.dumps(asdict(result), indent=2, default=str) + "\n")
    else:
        for platform, status in result.statuses.items():
            action = result.actions.get(platform, "")
            detail = result.platform_post_urls.get(platform) if result.platform_post_urls else None
            if status not in ("posted", "scheduled"):
                detail = next((e for e in (result.error or "").split("; ") if e.startswith(platform)), "")
            when_text = (
                f" for {result.scheduled_for.isoformat(timespec='seconds')}"
                if status == "scheduled" and result.scheduled_for is not None
                else ""
            )
            note = " (already, nothing sent)" if action == "unchanged" else ""
            common.console.print(
                f"{platform}: {coloured(status)}{when_text}{note} {detail or ''}".rstrip(),
                highlight=False,
                soft_wrap=True,
            )
    if not result.success:
        from postdeck.commands._support import CommandFailed

        failed = [p for p, status in result.statuses.items() if status not in ("posted", "scheduled")]
        raise CommandFailed(
            f"not posted to {', '.join(failed)}" if failed else (result.error or "not posted")
        )


def _local(entry: str, folder: Path) -> str:
    """URLs are downloaded here (https only, public hosts only, size cap); paths must exist."""
    if "://" in entry:
        from postdeck.media_download import download_media

        return str(download_media(entry, folder).path)
    if not Path(entry).expanduser().is_file():
        raise PostdeckError(f"media file not found: {entry}")
    return entry
