"""What the seed's service returns: PostResult and AccountInfo, with seed 000's fields and meaning.

postdeck adds a few fields after the seed's (each platform's delivery status and ledger key), so a
caller can tell "posted now" from "already posted by an earlier call" and find the delivery again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import DeliveryReport
from postdeck.ledger.records import DeliveryRecord
from postdeck.schemas.deliveries import Delivery

# The seed names providers this way in PostResult.provider.
PROVIDER_NAMES = {"postforme": "PostForMe", "late": "LATE"}
SUCCESS_STATUSES = frozenset({DeliveryStatus.POSTED, DeliveryStatus.SCHEDULED})


@dataclass
class PostResult:
    success: bool
    post_id: str | None = None  # the provider's post id (the first, if the post went to two providers)
    platform_post_ids: dict[str, str] | None = None
    platform_post_urls: dict[str, str] | None = None
    error: str | None = None
    provider: str | None = None  # "PostForMe" or "LATE"
    scheduled_for: datetime | None = None
    # postdeck's additions
    statuses: dict[str, str] = field(default_factory=dict)  # platform → posted|scheduled|failed|unknown|...
    delivery_keys: dict[str, str] = field(default_factory=dict)  # platform → ledger delivery key
    actions: dict[str, str] = field(default_factory=dict)  # platform → sent|unchanged|held|recovered|not-sent

    @classmethod
    def failure(cls, error: str) -> PostResult:
        return cls(success=False, error=error)


@dataclass
class AccountInfo:
    id: str
    platform: str
    username: str
    profile_id: str | None = None
    # postdeck's additions
    provider: str | None = None  # postforme | late
    connected: bool = True
    link: str | None = None  # the credentials it was seen with, e.g. "postforme:owner"


def post_result(
    deliveries: Sequence[Delivery],
    reports: Sequence[DeliveryReport],
    records: dict[str, DeliveryRecord | None],
) -> PostResult:
    """One PostResult for the deliveries of one post (one per platform), from the publisher's reports
    and the ledger rows written for them (which carry the provider's and the platform's ids)."""
    by_key = {r.key: r for r in reports}
    post_ids: dict[str, str] = {}
    post_urls: dict[str, str] = {}
    result = PostResult(success=bool(deliveries), platform_post_ids=post_ids, platform_post_urls=post_urls)
    errors = []
    for delivery in deliveries:
        report = by_key[delivery.key]
        record = records.get(delivery.key)
        platform = delivery.platform.value
        result.statuses[platform] = report.status
        result.delivery_keys[platform] = delivery.key
        result.actions[platform] = report.action
        result.scheduled_for = result.scheduled_for or delivery.at
        if report.status not in SUCCESS_STATUSES:
            result.success = False
            errors.append(f"{platform}: {report.error or report.status}")
        provider = report.provider or (record.provider if record else None)
        if provider and result.provider is None:
            result.provider = PROVIDER_NAMES.get(provider, provider)
        if record is not None and record.provider_post_id and result.post_id is None:
            result.post_id = record.provider_post_id
        if record is not None and record.platform_post_id:
            post_ids[platform] = record.platform_post_id
        url = report.url or (record.url if record else None)
        if url:
            post_urls[platform] = url
    result.error = "; ".join(errors) or None
    return result
