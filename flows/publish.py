"""The `publish-campaign` Prefect flow: validate, render, plan, then one task per batch.

This module orchestrates only; every decision lives in plain functions (postdeck.plan,
postdeck.publisher, providers.chain) that the CLI and the tests call too.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from postdeck.flows.chains import publishing_chain
from postdeck.ledger import flush_journal, open_ledger
from postdeck.ledger.base import LedgerWriter
from postdeck.plan import Action, make_plan
from postdeck.providers.chain import Chain
from postdeck.publisher import DeliveryReport, publish_batch
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.timing import check_not_in_past


@task(name="publish-batch", cache_policy=NO_CACHE, retries=0)
def publish_batch_task(
    deliveries: list[Delivery], ledger: LedgerWriter, chain: Chain, owner: str
) -> list[dict]:
    """Publish one batch. No Prefect retries: the exactly-once protocol decides what may be resent."""
    reports = publish_batch(deliveries, ledger=ledger, chain=chain, owner=owner)
    logger = get_run_logger()
    for report in reports:
        logger.info(
            "%s → %s %s %s", report.key, report.action, report.status, report.url or report.error or ""
        )
    return [asdict(r) for r in reports]


@flow(name="publish-campaign", flow_run_name="publish-{campaign}", log_prints=False)
def publish_campaign(
    campaign: str = "campaigns/example.yaml",
    sandbox: bool = False,
    batches: list[str] | None = None,
) -> list[dict]:
    """Publish a campaign file: every batch × platform exactly once, through the provider chain."""
    logger = get_run_logger()
    loaded = load_campaign(campaign)
    deliveries = expand(loaded, only_batches=batches)
    ledger = open_ledger()
    flush_journal(ledger)  # outcomes an earlier database outage kept locally go in first
    now = datetime.now(UTC)
    plan = make_plan(loaded.campaign.name, deliveries, ledger, now, include_cancels=batches is None)
    creates = [c.delivery for c in plan.of(Action.CREATE) if c.delivery is not None]
    check_not_in_past(loaded, creates, now)
    owner = f"flow-run:{flow_run.id or uuid.uuid4()}"

    reports: list[dict] = [_report_unapplied(c) for c in plan.changes if c.action != Action.CREATE]
    if creates:
        with publishing_chain(loaded.campaign.owner, ledger, sandbox=sandbox) as chain:
            futures = [
                publish_batch_task.with_options(task_run_name=f"batch-{batch_id}").submit(
                    group, ledger, chain, owner
                )
                for batch_id, group in _by_batch(creates).items()
            ]
            for future in futures:
                reports.extend(future.result())
    order = {d.key: i for i, d in enumerate(deliveries)}
    reports.sort(key=lambda r: order.get(r["key"], len(order)))
    _publish_artifacts(loaded.campaign.name, reports)
    logger.info(
        "%s: %d deliveries, %d sent this run",
        loaded.campaign.name,
        len(reports),
        sum(r["action"] == "sent" for r in reports),
    )
    return reports


def _by_batch(deliveries: list[Delivery]) -> dict[str, list[Delivery]]:
    groups: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.batch_id, []).append(delivery)
    return groups


def _report_unapplied(change) -> dict:
    record = change.record
    delivery = change.delivery
    return asdict(
        DeliveryReport(
            key=change.key,
            batch_id=delivery.batch_id if delivery else (record.batch_id if record else ""),
            platform=(delivery.platform.value if delivery else (record.platform if record else "")),
            action=str(change.action),
            status=str(record.status) if record else "",
            provider=record.provider if record else None,
            url=record.url if record else None,
            error=change.reason
            if change.action not in (Action.UNCHANGED,)
            else (record.error if record else None),
        )
    )


def _publish_artifacts(campaign: str, reports: list[dict]) -> None:
    create_table_artifact(
        key=f"publish-{campaign}",
        table=[
            {
                k: (r.get(k) or "")
                for k in ("batch_id", "platform", "action", "status", "provider", "url", "error")
            }
            for r in reports
        ],
        description=f"Deliveries of campaign {campaign}",
    )
    counts: dict[str, int] = {}
    for r in reports:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    create_markdown_artifact(key=f"publish-{campaign}-summary", markdown=f"**{campaign}**: {summary}")
