"""Send again, through the next provider in the chain, a scheduled post that failed at its provider.

Only for campaigns that allow it (`retry_failed: true`) and only while the post's time is less than
`retry_window_hours` ago. The failed delivery is reopened in the ledger (one reopener wins), then goes
through the same exactly-once protocol as any delivery, now, to the providers after the one that failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from postdeck.core.status import DeliveryStatus
from postdeck.engine.follow_up import FollowUpReport
from postdeck.engine.holder import holding_label
from postdeck.engine.publisher import DEFAULT_LEASE_SECONDS, DeliveryReport, publish_batch
from postdeck.ledger.base import DeliverySearch, LedgerWriter
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.chain import Chain
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import LoadedCampaign


class ResendLedger(LedgerWriter, DeliverySearch, Protocol):
    """What re-sending needs: publishing's writes, and the one reopening of a failed delivery."""


def resend_failed(
    followed: Sequence[FollowUpReport],
    *,
    campaigns: dict[str, LoadedCampaign],
    ledger: ResendLedger,
    chain: Chain,
    owner: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[DeliveryReport]:
    """Re-send the deliveries this follow-up found failed (scheduled → failed) where their campaign allows."""
    reports = []
    desired = _desired(campaigns)
    for report in followed:
        if (report.before, report.after) != (DeliveryStatus.SCHEDULED, DeliveryStatus.FAILED):
            continue
        record = ledger.get(report.key)
        delivery = desired.get(report.key)
        if record is None or delivery is None or not _allowed(record, delivery, campaigns, now()):
            continue
        rest = chain.after(holding_label(record))
        if (
            not rest.links
            or ledger.reopen_failed(report.key, owner=owner, lease_seconds=DEFAULT_LEASE_SECONDS, now=now())
            is None
        ):
            continue
        # Its time has passed: publish now, through the providers after the one that failed.
        reports += publish_batch(
            [dataclasses.replace(delivery, at=None)], ledger=ledger, chain=rest, owner=owner, now=now
        )
    return reports


def _desired(campaigns: dict[str, LoadedCampaign]) -> dict[str, Delivery]:
    return {d.key: d for loaded in campaigns.values() for d in expand(loaded)}


def _allowed(
    record: DeliveryRecord, delivery: Delivery, campaigns: dict[str, LoadedCampaign], now: datetime
) -> bool:
    campaign = campaigns[delivery.campaign].campaign
    if not campaign.retry_failed:
        return False
    when = delivery.at or record.scheduled_for
    return when is None or now - when <= timedelta(hours=campaign.retry_window_hours)
