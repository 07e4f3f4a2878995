"""What the everyday commands (post, accounts, connect, history, retry, cancel) share: their common
options, the service they call, a progress bar, and output as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from postdeck.commands.common import err_console
from postdeck.commands.tables import print_table
from postdeck.errors import PostdeckError
from postdeck.ledger.records import DeliveryRecord
from postdeck.service.schedules import ScheduleReport
from postdeck.service.service import SocialPostingService
from postdeck.settings import settings

UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        envvar="POSTDECK_USER",
        help="Whose provider keys to use (default: POSTDECK_USER, else the global keys).",
    ),
]
SandboxOpt = Annotated[
    bool, typer.Option("--sandbox", help="Use the local provider simulators, not the real providers.")
]


class CommandFailed(PostdeckError):
    """What a command did not do, after it printed what it did: the closing red line, exit 1.

    (A PostdeckError rather than typer.Exit: `postdeck.cli.main` runs typer in non-standalone mode,
    where an Exit's code is returned, not used.)"""


COLOURS = {
    "posted": "green",
    "scheduled": "cyan",
    "failed": "red",
    "unknown": "yellow",
    "cancelled": "magenta",
    "not-sent": "yellow",
}


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def output_format(value: str) -> Format:
    try:
        return Format(value)
    except ValueError:
        raise PostdeckError(f"--format {value}: use table, json or csv") from None


def open_service(*, sandbox: bool) -> SocialPostingService:
    service = SocialPostingService(sandbox=sandbox)
    service.init(None)
    return service


def coloured(status: str) -> str:
    colour = COLOURS.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: Format, *, title: str) -> None:
    """Rows as a rich table (statuses coloured), a JSON list, or CSV with a header, on stdout."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(list(rows), indent=2, default=_jsonable) + "\n")
        return
    if fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _text(row.get(k)) for k in columns})
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(
            *(
                coloured(_text(row.get(c))) if c in ("status", "after") else Text(_text(row.get(c)))
                for c in columns
            )
        )
    print_table(table)


def delivery_row(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": record.key,
        "status": str(record.status),
        "platform": record.platform,
        "campaign": record.campaign,
        "batch": record.batch_id,
        "user": record.user_id,
        "provider": record.provider,
        "provider_post_id": record.provider_post_id,
        "commit": record.commit_sha[:8] if record.commit_sha else None,  # of the run that sent it
        "commit_sha": record.commit_sha,
        "run_id": record.run_id,
        "scheduled_for": record.scheduled_for,
        "created_at": record.created_at,
        "url": record.url,
        "error": record.error,
        "caption": record.caption,
    }


def print_schedule_reports(reports: Sequence[ScheduleReport], *, title: str) -> None:
    rows = [
        {
            "id": r.key,
            "action": r.action,
            "before": r.before,
            "after": r.after,
            "provider": r.provider,
            "url / error": r.url or r.error,
        }
        for r in reports
    ]
    emit(rows, ["id", "action", "before", "after", "provider", "url / error"], Format.table, title=title)


class ProgressBar:
    """A rich progress bar for retry and cancel (service.selection.Tracker) and publish's batches."""

    def __init__(self, progress: Progress, description: str) -> None:
        self.progress = progress
        self.task = progress.add_task(description, total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def advance(self, record: DeliveryRecord) -> None:
        self.progress.update(self.task, advance=1, description=record.key)

    def batch_done(self, done: int, total: int, batch: str) -> None:
        """postdeck.engine.progress's watcher: a publish run's batches as they finish."""
        self.progress.update(self.task, total=total, completed=done, description=batch)


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressBar]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # On stderr, so JSON or CSV on stdout stays clean; hidden when stderr is not a terminal.
    with Progress(*columns, console=err_console, transient=True, disable=not _interactive()) as progress:
        yield ProgressBar(progress, description)


@contextmanager
def spinner(message: str) -> Iterator[None]:
    if not _interactive():
        yield
        return
    with err_console.status(message):
        yield


def _interactive() -> bool:
    return err_console.is_terminal and not settings().no_progress


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)
