"""The exactly-once protocol, shared by every path that posts (flows, API, CLI).

1. Claim each delivery in the ledger (insert-if-absent) with an owner and a lease. Held by a live
   owner → leave it. Claim not recordable → never call a provider for it. A dead owner's claim →
   look its post key up at every provider it may have reached before sending anything.
2. Send through the failover chain (providers.chain), which records where a create may go first.
3. Record every outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from postdeck.errors import LedgerError
from postdeck.ledger.base import ClaimRequest, ClaimState, DeliveryStatus, LedgerWriter, Outcome
from postdeck.providers.chain import Chain, SendItem
from postdeck.schemas.deliveries import Delivery, post_key

log = logging.getLogger("postdeck.publisher")

DEFAULT_LEASE_SECONDS = 15 * 60  # longer than any create can take (LATE publishNow: up to 300 s)


@dataclass(frozen=True)
class DeliveryReport:
    """What happened to one delivery in this run (shown in tables and artifacts)."""

    key: str
    batch_id: str
    platform: str
    action: str  # sent | recovered | unchanged | held | not-sent
    status: str
    provider: str | None = None
    url: str | None = None
    error: str | None = None


def publish_batch(
    deliveries: Sequence[Delivery],
    *,
    ledger: LedgerWriter,
    chain: Chain,
    owner: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> list[DeliveryReport]:
    """Publish one batch's deliveries exactly once. Never raises for a provider failure: it reports."""
    if not deliveries:
        return []
    reports: dict[str, DeliveryReport] = {}
    to_send: list[Delivery] = []
    for delivery in deliveries:
        try:
            claim = ledger.claim(
                _claim_request(delivery), owner=owner, lease_seconds=lease_seconds, now=now()
            )
        except LedgerError as exc:
            reports[delivery.key] = _report(
                delivery, "not-sent", DeliveryStatus.CLAIMED, error=f"not sent: {exc}"
            )
            continue
        record = claim.record
        if claim.state == ClaimState.CLAIMED:
            to_send.append(delivery)
        elif claim.state == ClaimState.HELD:
            reports[delivery.key] = _report(
                delivery, "held", record.status, error=f"being sent by {record.owner}"
            )
        elif claim.state == ClaimState.DONE:
            reports[delivery.key] = _report(
                delivery,
                "unchanged",
                record.status,
                provider=record.provider,
                url=record.url,
                error=record.error,
            )
        else:  # RECOVERED: a crashed run may have sent it
            recovered = _recover(delivery, record.post_key, record.attempted_providers, chain)
            if recovered is None:
                to_send.append(delivery)
            else:
                reports[delivery.key] = _record(ledger, delivery, recovered, owner, now, action="recovered")
    if to_send:
        reports.update(_send(to_send, ledger=ledger, chain=chain, owner=owner, now=now))
    return [reports[d.key] for d in deliveries]


def _recover(delivery: Delivery, key: str | None, labels: tuple[str, ...], chain: Chain) -> Outcome | None:
    if not key or not labels:
        return None  # the crash came before any create was attempted
    log.info("%s: recovering a crashed claim, looking up %s at %s", delivery.key, key, ", ".join(labels))
    return chain.recover(key, labels, delivery.platform)


def _send(
    deliveries: list[Delivery], *, ledger: LedgerWriter, chain: Chain, owner: str, now: Callable[[], datetime]
) -> dict[str, DeliveryReport]:
    first = deliveries[0]
    by_key = {d.key: d for d in deliveries}

    def on_attempt(keys: list[str], label: str, key: str) -> None:
        ledger.note_attempt(keys, owner=owner, provider=label, post_key=key)  # raises → nothing is sent

    try:
        outcomes = chain.send(
            [SendItem(d.key, d.platform, d.caption, d.options) for d in deliveries],
            post_key_for=lambda keys: post_key(first.campaign, first.batch_id, keys),
            media=first.media,
            scheduled_at=first.at,
            on_attempt=on_attempt,
        )
    except LedgerError as exc:
        # The attempt could not be recorded, so no create was made; the claims expire with their lease.
        return {
            d.key: _report(d, "not-sent", DeliveryStatus.CLAIMED, error=f"not sent: {exc}")
            for d in deliveries
        }
    reports = {
        key: _record(ledger, by_key[key], outcome, owner, now, action="sent")
        for key, outcome in outcomes.items()
    }
    _record_history(ledger, deliveries, outcomes)
    return reports


def _record_history(ledger: LedgerWriter, deliveries: list[Delivery], outcomes: dict[str, Outcome]) -> None:
    """One row per provider post in the seed's social_posts table (post history). Best effort, as the seed."""
    posts: dict[tuple[str, str], list[tuple[Delivery, Outcome]]] = {}
    for delivery in deliveries:
        outcome = outcomes[delivery.key]
        if outcome.provider and outcome.provider_post_id:
            posts.setdefault((outcome.provider, outcome.provider_post_id), []).append((delivery, outcome))
    for (provider, provider_post_id), pairs in posts.items():
        first = pairs[0][0]
        statuses = {o.status for _, o in pairs}
        status = next(iter(statuses)) if len(statuses) == 1 else DeliveryStatus.FAILED
        try:
            ledger.record_social_post(
                {
                    "user_id": first.owner,
                    "provider": provider,
                    "provider_post_id": provider_post_id,
                    "platforms": [d.platform.value for d, _ in pairs],
                    "platform_post_ids": {
                        d.platform.value: o.platform_post_id for d, o in pairs if o.platform_post_id
                    },
                    "platform_post_urls": {d.platform.value: o.url for d, o in pairs if o.url},
                    "content": first.caption,
                    "media_urls": [m.url or m.source for m in first.media],
                    "scheduled_for": first.at.isoformat() if first.at else None,
                    "posted_at": datetime.now(UTC).isoformat() if status == DeliveryStatus.POSTED else None,
                    "status": str(status),
                    "error_message": "; ".join(sorted({o.error for _, o in pairs if o.error})) or None,
                    "campaign": first.campaign,
                    "batch_id": first.batch_id,
                    "post_key": pairs[0][1].post_key,
                }
            )
        except LedgerError as exc:
            log.error("post history row for %s %s not written: %s", provider, provider_post_id, exc)


def _record(
    ledger: LedgerWriter,
    delivery: Delivery,
    outcome: Outcome,
    owner: str,
    now: Callable[[], datetime],
    *,
    action: str,
) -> DeliveryReport:
    try:
        ledger.record(delivery.key, outcome, owner=owner, now=now())
    except LedgerError as exc:
        log.error("%s: outcome %s could not be recorded: %s", delivery.key, outcome.status, exc)
        return _report(
            delivery,
            action,
            outcome.status,
            provider=outcome.provider,
            url=outcome.url,
            error=f"outcome not recorded: {exc}",
        )
    return _report(
        delivery, action, outcome.status, provider=outcome.provider, url=outcome.url, error=outcome.error
    )


def _claim_request(delivery: Delivery) -> ClaimRequest:
    return ClaimRequest(
        key=delivery.key,
        campaign=delivery.campaign,
        batch_id=delivery.batch_id,
        platform=delivery.platform.value,
        content_hash=delivery.content_hash,
        schedule_hash=delivery.schedule_hash,
        caption=delivery.caption,
        scheduled_for=delivery.at,
        user_id=delivery.owner,
    )


def _report(delivery: Delivery, action: str, status: DeliveryStatus | str, **extra) -> DeliveryReport:
    return DeliveryReport(
        key=delivery.key,
        batch_id=delivery.batch_id,
        platform=delivery.platform.value,
        action=action,
        status=str(status),
        **extra,
    )
