"""`postdeck runs`: the publish runs the ledger recorded, newest first: which commit each published,
how it ended, what its deliveries came to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from postdeck.commands.common import app

if TYPE_CHECKING:
    from postdeck.ledger.base import CampaignRun

COLUMNS = ["started_at", "campaign", "commit", "status", "deliveries", "outcomes", "flow_run_id", "id"]


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
    """List publish runs: commit (+dirty), status, counts, Prefect flow run.

    Example: postdeck runs --campaign launch-week   |   postdeck runs --commit 3f2c9a1b --format json
    """
    from postdeck.commands._support import emit, output_format
    from postdeck.ledger.factory import open_ledger

    fmt = output_format(output)
    found = open_ledger().campaign_runs(campaign, commit=commit, limit=limit)
    title = "publish runs, newest first" + ("" if found else " (none)")
    emit([run_row(r) for r in found], COLUMNS, fmt, title=title)


def run_row(run: CampaignRun) -> dict[str, Any]:
    source, summary = run.source, run.summary or {}
    outcomes = summary.get("outcomes") or {}
    short = source.commit_sha[:8] + ("+dirty" if source.dirty else "") if source.commit_sha else "no-commit"
    return {
        "id": run.id,
        "campaign": run.campaign,
        "status": run.status,
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
        "error": run.error,
    }
