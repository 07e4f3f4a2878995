"""What a publish run shows: one row per delivery, as a Prefect table artifact and a markdown summary.

Prefect carries an artifact whole in an event, and refuses events over 1.5 MB (`Refusing to publish
event of size 1658177` for a 10,000-row table): the table keeps MAX_TABLE_ROWS rows, those needing
attention first, plus a row counting the rest, and the summary's lists are cut likewise. The
summary's counts always cover every delivery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from postdeck.engine.plan import Action, Change
from postdeck.engine.progress import batch_done
from postdeck.engine.publisher import DeliveryReport
from postdeck.engine.verdict import outcome_word, verdict
from postdeck.flows.dispatch import synchronous

COLUMNS = ("batch_id", "platform", "action", "status", "provider", "url", "error")
MAX_TABLE_ROWS = 1_000  # ~170 kB of event: far under Prefect's 1.5 MB, enough for a campaign's problems
MAX_LISTED = 200  # links, and deliveries needing attention, listed in the markdown summary
MAX_LINK_ARTIFACTS = 100  # one API request each: the summary lists the rest


def change_report(change: Change, *, note: str | None = None) -> dict:
    """A report row for a change this run did not send (unchanged, conflict, in flight, dry run)."""
    record = change.record
    reason = record.error if change.action == Action.UNCHANGED and record else change.reason
    return asdict(
        DeliveryReport(
            key=change.key,
            batch_id=change.batch_id,
            platform=change.platform,
            action=str(change.action),
            status=str(record.status) if record else "",
            provider=record.provider if record else None,
            url=record.url if record else None,
            error=note or reason or None,
        )
    )


def needs_attention(status: str, action: str) -> bool:
    """Failed, unknown, refused as a conflict, or not sent: someone should look."""
    return status in ("failed", "unknown") or action in ("conflict", "not-sent")


def publish_artifacts(campaign: str, reports: list[dict], *, source: str | None = None) -> None:
    """`source` says what was published (the commit, `dirty`), in the description and the summary."""
    where = f" from {source}" if source else ""
    create_table_artifact(
        key=f"publish-{campaign}",
        table=table_rows(reports),
        description=f"Deliveries of campaign {campaign}{where}",
    )
    create_markdown_artifact(
        key=f"publish-{campaign}-summary", markdown=summary_markdown(campaign, reports, source=source)
    )
    for r in posted_links(reports):
        create_link_artifact(link=r["url"], link_text=f"{r['batch_id']} / {r['platform']}")


def posted_links(reports: list[dict], limit: int = MAX_LINK_ARTIFACTS) -> list[dict]:
    """The deliveries sent this run that have a link, at most `limit` (one link artifact each)."""
    return [r for r in reports if r.get("url") and r["action"] in ("sent", "recovered")][:limit]


class Progress:
    """A progress artifact of a run's batches, for long runs (a percentage in the run's page), and the
    same count for a watcher in this process (postdeck.engine.progress)."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.id = (
            synchronous(create_progress_artifact(0.0, description=f"batches published of {total}"))
            if total
            else None
        )

    def advance(self, batch: str) -> None:
        self.done += 1
        if self.id is not None:
            update_progress_artifact(self.id, 100.0 * self.done / self.total)
        batch_done(self.done, self.total, batch)  # the CLI's live display, when it watches


def table_rows(reports: list[dict], limit: int = MAX_TABLE_ROWS) -> list[dict]:
    """One row per delivery, in order; past `limit`, the ones needing attention first and a last row
    counting the deliveries left out."""
    if len(reports) <= limit:
        return [_row(r) for r in reports]
    # A stable sort: the deliveries needing attention first, each group in campaign order.
    first = sorted(
        range(len(reports)), key=lambda i: not needs_attention(reports[i]["status"], reports[i]["action"])
    )
    kept = sorted(first[: limit - 1])
    left_out = [reports[i] for i in first[limit - 1 :]]
    return [_row(reports[i]) for i in kept] + [_left_out_row(left_out)]


def _row(report: dict) -> dict:
    return {k: (report.get(k) or "") for k in COLUMNS}


def _left_out_row(left_out: list[dict]) -> dict:
    def counts(field: str) -> str:
        return ", ".join(f"{v or '-'} {n}" for v, n in sorted(Counter(r[field] for r in left_out).items()))

    return {
        **dict.fromkeys(COLUMNS, ""),
        "batch_id": f"… {len(left_out)} more",
        "action": counts("action"),
        "status": counts("status"),
        "error": "not listed here: the summary artifact counts every delivery",
    }


def summary_markdown(campaign: str, reports: list[dict], *, source: str | None = None) -> str:
    # Outcomes in the verdict's words (a create that failed is `failed`, not `sent`), then statuses.
    outcome = verdict(reports)
    by_status = Counter(r["status"] for r in reports if r["status"])
    lines = [f"## {campaign}", ""] + ([f"Published from {source}.", ""] if source else [])
    lines += [
        f"{len(reports)} deliveries.",
        "",
        outcome.summary() + ".",
        "",
        "| outcome | count |",
        "|---|---|",
    ]
    lines += [f"| {a} | {n} |" for a, n in sorted(outcome.counts.items())]
    lines += ["", "| status | count |", "|---|---|"] + [
        f"| {s} | {n} |" for s, n in sorted(by_status.items())
    ]
    if len(reports) > MAX_TABLE_ROWS:
        lines += ["", f"The table lists {MAX_TABLE_ROWS - 1} of them, those needing attention first."]
    linked = [r for r in reports if r.get("url")]
    if linked:
        lines += ["", "### Posts", ""]
        lines += _capped([f"- {r['batch_id']} / {r['platform']}: [{r['url']}]({r['url']})" for r in linked])
    problems = [r for r in reports if needs_attention(r["status"], r["action"])]
    if problems:
        lines += ["", "### Needs attention", ""]
        lines += _capped([f"- `{r['key']}`: {outcome_word(r)}: {r.get('error') or ''}" for r in problems])
    return "\n".join(lines)


def _capped(items: list[str], limit: int = MAX_LISTED) -> list[str]:
    return items if len(items) <= limit else [*items[:limit], f"- … and {len(items) - limit} more"]
