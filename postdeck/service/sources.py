"""Rebuild a delivery from where it was written, for a retry that must create the post anew.

An ad-hoc post's record is its file under the posts folder (service.adhoc); a campaign's delivery
comes from its campaign file. Both are rendered again by the campaign code, and the result must be
the content the ledger recorded: a retry never posts something the ledger has not seen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from postdeck.errors import PostdeckError
from postdeck.ledger.records import DeliveryRecord
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.validation import require_valid
from postdeck.service.adhoc import spec_path
from postdeck.service.campaign_batches import CampaignNotFound, find_campaign
from postdeck.settings import file_limits


class SourceError(PostdeckError):
    """The post cannot be rebuilt as it was recorded."""


def rebuild(
    record: DeliveryRecord, *, posts: Path, campaigns: Iterable[Path], now: datetime | None = None
) -> Delivery:
    return rebuilt_from(record, source_file(record, posts=posts, campaigns=campaigns), now=now)


def source_file(record: DeliveryRecord, *, posts: Path, campaigns: Iterable[Path]) -> Path:
    """Where the delivery was written: its ad-hoc post's file, or its campaign's."""
    spec = spec_path(posts, record.campaign, record.batch_id)
    if spec.is_file():
        return spec
    try:
        return find_campaign(record.campaign, campaigns)
    except CampaignNotFound as exc:
        raise SourceError(f"cannot rebuild {record.key}: {exc}") from None


def rebuilt_from(record: DeliveryRecord, path: Path, *, now: datetime | None = None) -> Delivery:
    """The delivery rendered again from `path`, refused unless it is the content the ledger recorded."""
    report = require_valid(path, limits=file_limits())
    delivery = next((p.delivery for p in report.prepared if p.delivery.key == record.key), None)
    if delivery is None:
        raise SourceError(f"cannot rebuild {record.key}: {path} no longer has it")
    if record.content_hash and delivery.content_hash != record.content_hash:
        raise SourceError(
            f"{record.key} changed in {path} since it was sent: a retry would post content the ledger "
            "has not recorded (undo the change, or give the batch a new id to post the new version)"
        )
    now = now or datetime.now(UTC)
    if delivery.at is not None and delivery.at <= now:
        delivery = dataclasses.replace(delivery, at=None)  # its time has passed: the retry posts now
    return delivery
