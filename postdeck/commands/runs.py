"""`postdeck runs`: the runs the ledger recorded, newest first (publishes, and the posts, retries and
cancels of the CLI and the API): which commit each published, how it ended, what its deliveries came
to. A run the ledger still has `running` whose heartbeat stopped is shown `crashed`, with when it was
last alive (the next run of its campaign records it so)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from postdeck.commands.common import app

if TYPE_CHECKING:
    from postdeck.ledger.records import CampaignRun

COLUMNS = [
    "started_at",
    "campaign",
    "kind",
    "commit",
    "status",
    "last_alive",
    "deliveries",
    "outcomes",
    "flow_run_id",
    "id",
]


@app.command()
def runs(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs (its name).")] = None,
    commit: Annotated[
        str | None,
        typer.Option("--commit", help="Only runs that published this commit (a SHA or its start)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs, newest first.")] = 20,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """List runs (publish, post, retry, cancel): commit (+dirty), status, counts, Prefect flow run.

    Example: postdeck runs --campaign launch-week   |   postdeck runs --commit 3f2c9a1b --format json
    """
    from postdeck.commands._support import emit, output_format
    from postdeck.ledger.factory import open_ledger
    from postdeck.settings import settings

    fmt = output_format(output)
    found = open_ledger().campaign_runs(campaign, commit=commit, limit=limit)
    title = "runs, newest first" + ("" if found else " (none)")
    now, timeout = datetime.now(UTC), settings().claim_heartbeat_timeout
    emit([run_row(r, now=now, timeout=timeout) for r in found], COLUMNS, fmt, title=title)


def run_row(run: CampaignRun, *, now: datetime, timeout: float) -> dict[str, Any]:
    from postdeck.engine.runs import is_silent, last_alive, silence_note

    source, summary = run.source, run.summary or {}
    outcomes = summary.get("outcomes") or {}
    short = source.commit_sha[:8] + ("+dirty" if source.dirty else "") if source.commit_sha else "no-commit"
    silent = is_silent(run, now=now, timeout=timeout)
    status = "crashed" if silent else run.status
    return {
        "id": run.id,
        "campaign": run.campaign,
        "kind": run.kind,
        "status": status,
        "recorded_status": run.status,  # what the ledger says (`running` for a silent run not yet recorded)
        # When it was last known alive: its last beat while the ledger has it running, the end recorded
        # for a crash (its last beat too); nothing for a run that ended by itself.
        "last_alive": last_alive(run)
        if run.status == "running"
        else run.finished_at
        if run.status == "crashed"
        else None,
        "heartbeat_at": run.heartbeat_at,
        "commit": short,
        "commit_sha": source.commit_sha,
        "dirty": source.dirty,
        "campaign_path": source.campaign_path,
        "content_hash": source.content_hash,
        "plan_hash": source.plan_hash,
        "flow_run_id": run.flow_run_id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "deliveries": summary.get("deliveries"),
        "unresolved": summary.get("unresolved"),
        "outcomes": ", ".join(f"{n} {word}" for word, n in sorted(outcomes.items())),
        "summary": summary,
        "error": silence_note(run, timeout=timeout) if silent else run.error,
    }
