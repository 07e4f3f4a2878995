"""What a publish run shows: one row per delivery, as a Prefect table artifact and a markdown summary."""

from __future__ import annotations

from dataclasses import asdict

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from postdeck.plan import Action, Change
from postdeck.publisher import DeliveryReport

COLUMNS = ("batch_id", "platform", "action", "status", "provider", "url", "error")


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


def publish_artifacts(campaign: str, reports: list[dict]) -> None:
    rows = [{k: (r.get(k) or "") for k in COLUMNS} for r in reports]
    create_table_artifact(
        key=f"publish-{campaign}", table=rows, description=f"Deliveries of campaign {campaign}"
    )
    create_markdown_artifact(key=f"publish-{campaign}-summary", markdown=summary_markdown(campaign, reports))


def summary_markdown(campaign: str, reports: list[dict]) -> str:
    by_action: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for r in reports:
        by_action[r["action"]] = by_action.get(r["action"], 0) + 1
        if r["status"]:
            by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    lines = [f"## {campaign}", "", f"{len(reports)} deliveries.", "", "| action | count |", "|---|---|"]
    lines += [f"| {a} | {n} |" for a, n in sorted(by_action.items())]
    lines += ["", "| status | count |", "|---|---|"] + [
        f"| {s} | {n} |" for s, n in sorted(by_status.items())
    ]
    linked = [r for r in reports if r.get("url")]
    if linked:
        lines += ["", "### Posts", ""]
        lines += [f"- {r['batch_id']} / {r['platform']}: [{r['url']}]({r['url']})" for r in linked]
    problems = [
        r for r in reports if r["status"] in ("failed", "unknown") or r["action"] in ("conflict", "not-sent")
    ]
    if problems:
        lines += ["", "### Needs attention", ""]
        lines += [f"- `{r['key']}`: {r['action']} {r['status']}: {r.get('error') or ''}" for r in problems]
    return "\n".join(lines)
