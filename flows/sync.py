"""The `sync-post-status` flow: follow every `scheduled` or `unknown` delivery to its outcome.

Deployed on an interval schedule (prefect.yaml). It asks the providers and records what they say
(postdeck.engine.follow_up). The only posts it sends are occurrences of repeating batches that have
come within their campaign's horizon since their rule was published (postdeck.engine.recurring),
and, where a campaign allows it, failed scheduled posts through the next provider.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from postdeck.engine.decisions import deliveries_of
from postdeck.engine.follow_up import OPEN_STATUSES, follow_up
from postdeck.engine.publisher import publish_batch
from postdeck.engine.recurring import by_occurrence, due_occurrences, require_committed
from postdeck.engine.resend import resend_failed
from postdeck.errors import CampaignError
from postdeck.flows.chains import publishing_chain
from postdeck.ledger import flush_journal, open_ledger
from postdeck.ledger.base import CancelRequests, Ledger, LedgerWriter
from postdeck.ledger.records import CancelRequest
from postdeck.schemas.loader import LoadedCampaign, load_campaign
from postdeck.schemas.validation import require_valid
from postdeck.service.cancel_requests import handle_cancel_requests
from postdeck.settings import file_limits


@flow(name="sync-post-status", log_prints=False)
def sync_post_status(sandbox: bool = False, campaigns: str = "campaigns") -> list[dict]:
    """Ask the providers about deliveries without a final outcome, and record the answers.

    `campaigns` (a folder or file) is read for `retry_failed`: a scheduled post that failed at its
    provider is sent again through the next provider when its campaign allows it.
    """
    logger = get_run_logger()
    ledger = open_ledger()
    flush_journal(ledger)  # outcomes an earlier database outage kept locally go in first
    loaded = _campaigns(Path(campaigns))
    run_owner = f"flow-run:{flow_run.id or uuid.uuid4()}"
    occurrences = _publish_occurrences(loaded, ledger, run_owner, sandbox=sandbox)
    occurrences += _cancel_requested(ledger, sandbox=sandbox)
    open_records = [r for status in OPEN_STATUSES for r in ledger.all_deliveries(status=str(status))]
    if not open_records:
        logger.info("no scheduled or unknown deliveries to follow")
        return occurrences
    by_owner: dict[str | None, list] = {}
    for record in open_records:
        by_owner.setdefault(record.user_id, []).append(record)
    reports = []
    resent = []
    for owner, records in by_owner.items():
        # One call at a time: one slot of each provider limit for the owner's whole follow-up.
        with publishing_chain(owner, ledger, sandbox=sandbox) as run, run.caps.reserve(1), run.caps.batch():
            followed = follow_up(records, ledger=ledger, chain=run.chain)
            reports.extend(followed)
            resent += resend_failed(
                followed, campaigns=loaded, ledger=ledger, chain=run.chain, owner=run_owner
            )
    for report in resent:
        logger.info(
            "%s re-sent through the next provider: %s %s",
            report.key,
            report.status,
            report.url or report.error or "",
        )
    rows = [asdict(r) for r in reports] + [
        {"key": r.key, "before": "failed", "after": r.status, "url": r.url, "error": r.error or "re-sent"}
        for r in resent
    ]
    create_table_artifact(
        key="sync-post-status",
        table=[{k: (row[k] or "") for k in ("key", "before", "after", "url", "error")} for row in rows],
        description="Scheduled and unknown deliveries, followed up",
    )
    moved = sum(r["before"] != r["after"] for r in rows)
    logger.info("followed %d deliveries, %d changed state", len(rows), moved)
    return occurrences + rows


def _publish_occurrences(
    loaded: dict[str, LoadedCampaign], ledger: Ledger, run_owner: str, *, sandbox: bool
) -> list[dict]:
    """Publish the occurrences that came within their horizon, of campaigns published before; one row
    each (key, before "planned later", after its status)."""
    logger = get_run_logger()
    rows: list[dict] = []
    now = datetime.now(UTC)
    for name, campaign in loaded.items():
        if not any(batch.repeat for batch in campaign.campaign.batches):
            continue
        try:
            report = require_valid(
                campaign.path, limits=file_limits()
            )  # what passes `validate` is what gets published
            require_committed(campaign, [p.delivery for p in report.prepared])
        except CampaignError as exc:
            logger.warning("%s: not publishing its occurrences: %s", campaign.path, exc)
            continue
        due = due_occurrences(name, deliveries_of(report), ledger, now)
        if not due:
            continue
        groups = by_occurrence(due)
        # One occurrence at a time: one slot of each provider limit covers them.
        with (
            publishing_chain(campaign.campaign.owner, ledger, sandbox=sandbox) as run,
            run.caps.reserve(1),
            run.caps.batch(),
        ):
            for group in groups:
                for r in publish_batch(group, ledger=ledger, chain=run.chain, owner=run_owner):
                    rows.append(
                        {
                            "key": r.key,
                            "before": "planned later",
                            "after": r.status,
                            "url": r.url,
                            "error": r.error,
                        }
                    )
        logger.info("%s: %d occurrences came within the horizon and were published", name, len(groups))
    return rows


def _cancel_requested(ledger: LedgerWriter, *, sandbox: bool) -> list[dict]:
    """Act on users' open cancel requests (Supabase only), each owner's through its own chain; one
    row each (key, before "cancel requested", after what came of it)."""
    if not isinstance(ledger, CancelRequests):
        return []
    by_owner: dict[str | None, list[CancelRequest]] = {}
    for request in ledger.open_cancel_requests():
        by_owner.setdefault(request.user_id, []).append(request)
    rows = []
    for owner, requests in by_owner.items():
        with publishing_chain(owner, ledger, sandbox=sandbox) as run, run.caps.reserve(1), run.caps.batch():
            for r in handle_cancel_requests(requests, ledger=ledger, chain=run.chain):
                after = "cancelled" if r.result == "cancelled" else ("closed" if r.closed else "open")
                rows.append(
                    {
                        "key": r.key,
                        "before": "cancel requested",
                        "after": after,
                        "url": None,
                        "error": r.result,
                    }
                )
    if rows:
        get_run_logger().info("%d cancel requests handled", sum(r["after"] != "open" for r in rows))
    return rows


def _campaigns(where: Path) -> dict[str, LoadedCampaign]:
    """The campaign files under `where`, by campaign name; a broken file is skipped (validate reports it)."""
    files = (
        [where] if where.is_file() else sorted(p for p in where.rglob("*.y*ml") if "templates" not in p.parts)
    )
    loaded = {}
    limits = file_limits()
    for file in files:
        try:
            campaign = load_campaign(file, limits=limits)
        except CampaignError:
            continue
        loaded[campaign.campaign.name] = campaign
    return loaded
