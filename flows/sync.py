"""The `sync-post-status` flow: follow every `scheduled` or `unknown` delivery to its outcome.

Deployed on an interval schedule (prefect.yaml). It asks the providers, records what they say
(postdeck.follow_up) and sends nothing.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from postdeck.flows.chains import publishing_chain
from postdeck.follow_up import OPEN_STATUSES, follow_up
from postdeck.ledger import flush_journal, open_ledger


@flow(name="sync-post-status", log_prints=False)
def sync_post_status(sandbox: bool = False) -> list[dict]:
    """Ask the providers about deliveries without a final outcome, and record the answers."""
    logger = get_run_logger()
    ledger = open_ledger()
    flush_journal(ledger)  # outcomes an earlier database outage kept locally go in first
    open_records = [r for status in OPEN_STATUSES for r in ledger.all_deliveries(status=str(status))]
    if not open_records:
        logger.info("no scheduled or unknown deliveries to follow")
        return []
    by_owner: dict[str | None, list] = {}
    for record in open_records:
        by_owner.setdefault(record.user_id, []).append(record)
    reports = []
    for owner, records in by_owner.items():
        with publishing_chain(owner, ledger, sandbox=sandbox) as chain:
            reports.extend(follow_up(records, ledger=ledger, chain=chain))
    rows = [asdict(r) for r in reports]
    create_table_artifact(
        key="sync-post-status",
        table=[{k: (row[k] or "") for k in ("key", "before", "after", "url", "error")} for row in rows],
        description="Scheduled and unknown deliveries, followed up",
    )
    moved = sum(r.before != r.after for r in reports)
    logger.info("followed %d deliveries, %d changed state", len(reports), moved)
    return rows
