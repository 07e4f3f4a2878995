"""The exactly-once protocol, shared by every path that posts (flows, API, CLI).

1. Claim each delivery in the ledger (insert-if-absent; a batch in one transaction) with an owner
   and a lease the owner's heartbeat renews (postdeck.engine.heartbeat). Held by a live owner →
   leave it. Claim not recordable → never call a provider for it. A dead owner's claim (no beat for
   the heartbeat timeout), or a not-sent delivery → look its post key up at every provider it may
   have reached before sending anything.
2. Name the run and commit sending them (a publish run's RunStamp), then send through the failover
   chain (providers.chain), which records where a create may go first.
   What no provider was asked to create, for a reason that passes (circuit open, provider
   unreachable), is released rather than recorded as failed: the next run sends it.
3. Record every outcome (a batch's in one transaction, journaled first: ledger.journal).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from postdeck.core.keys import PostKey
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.engine.heartbeat import keep_alive
from postdeck.engine.plan import held_note
from postdeck.engine.runs import RunStamp
from postdeck.errors import LedgerError
from postdeck.ledger.base import ClaimRequest, ClaimState, LedgerWriter
from postdeck.providers.chain import Chain, SendItem
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.routing import route
from postdeck.settings import settings

log = logging.getLogger("postdeck.engine.publisher")

# A claim the heartbeat does not renew (reopened by `retry` before publishing): longer than any
# create can take (LATE publishNow: up to 300 s).
DEFAULT_LEASE_SECONDS = 15 * 60


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
    lease_seconds: float | None = None,
    stamp: RunStamp | None = None,
) -> list[DeliveryReport]:
    """Publish one batch's deliveries exactly once. Never raises for a provider failure: it reports.
    With a stamp (a publish run's), each delivery sent names that run and its commit.

    Writes to the ledger do not grow with the batch: one for all its claims, one before each create
    (the attempt), one for all its outcomes, and a history row per provider post (and a heartbeat
    every third of `lease_seconds` while it runs: None is POSTDECK_CLAIM_HEARTBEAT_TIMEOUT)."""
    if not deliveries:
        return []
    lease = settings().claim_heartbeat_timeout if lease_seconds is None else lease_seconds
    with keep_alive(ledger, owner, timeout=lease, now=now):
        return _publish(
            deliveries, ledger=ledger, chain=chain, owner=owner, now=now, lease_seconds=lease, stamp=stamp
        )


def _publish(
    deliveries: Sequence[Delivery],
    *,
    ledger: LedgerWriter,
    chain: Chain,
    owner: str,
    now: Callable[[], datetime],
    lease_seconds: float,
    stamp: RunStamp | None,
) -> list[DeliveryReport]:
    try:
        claims = ledger.claim_many(
            [claim_request(d) for d in deliveries], owner=owner, lease_seconds=lease_seconds, now=now()
        )
    except LedgerError as exc:  # none of them is claimed: none is sent
        return [_report(d, "not-sent", DeliveryStatus.CLAIMED, error=f"not sent: {exc}") for d in deliveries]
    reports: dict[str, DeliveryReport] = {}
    settled: list[tuple[Delivery, Outcome, str]] = []  # (delivery, outcome, action) to record
    to_send: list[Delivery] = []
    sent: dict[str, Outcome] | LedgerError = {}
    for delivery, claim in zip(deliveries, claims, strict=True):
        record = claim.record
        if claim.state == ClaimState.CLAIMED:
            to_send.append(delivery)
        elif claim.state == ClaimState.HELD:
            reports[delivery.key] = _report(delivery, "held", record.status, error=held_note(record))
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
                settled.append((delivery, recovered, "recovered"))
    if to_send:
        sent = _send(to_send, chain=chain, ledger=ledger, owner=owner, stamp=stamp)
        if isinstance(sent, LedgerError):
            # The attempt could not be recorded, so no create was made; the claims expire with their lease.
            for d in to_send:
                reports[d.key] = _report(d, "not-sent", DeliveryStatus.CLAIMED, error=f"not sent: {sent}")
        else:
            by_key = {d.key: d for d in to_send}
            unsent = {k: o for k, o in sent.items() if o.status == DeliveryStatus.CLAIMED}
            released = _release(ledger, [by_key[k] for k in unsent], unsent, owner)
            reports.update(released)
            for key, outcome in sent.items():
                if key in unsent and key not in released:  # known before this run: failed, as it was
                    outcome = dataclasses.replace(outcome, status=DeliveryStatus.FAILED)
                if key not in released:
                    settled.append((by_key[key], outcome, "sent"))
    reports.update(_record(ledger, settled, owner, now()))
    if not isinstance(sent, LedgerError):
        _record_history(ledger, to_send, sent)
    return [reports[d.key] for d in deliveries]


def _recover(delivery: Delivery, key: str | None, labels: tuple[str, ...], chain: Chain) -> Outcome | None:
    if not key or not labels:
        return None  # the crash came before any create was attempted
    log.info("%s: recovering a crashed claim, looking up %s at %s", delivery.key, key, ", ".join(labels))
    return chain.recover(key, labels, delivery.platform)


def _send(
    deliveries: list[Delivery], *, chain: Chain, ledger: LedgerWriter, owner: str, stamp: RunStamp | None
) -> dict[str, Outcome] | LedgerError:
    """The chain's outcome for each delivery, or the ledger error that stopped it before any create."""
    first = deliveries[0]
    if stamp is not None:  # before any create: what is sent always names its run
        try:
            ledger.stamp_run(
                [d.key for d in deliveries], owner=owner, run_id=stamp.run_id, commit_sha=stamp.commit_sha
            )
        except LedgerError as exc:
            return exc

    def on_attempt(keys: list[str], label: str, key: str) -> None:
        ledger.note_attempt(keys, owner=owner, provider=label, post_key=key)  # raises → nothing is sent

    try:
        return chain.send(
            [send_item(d) for d in deliveries],
            post_key_for=lambda keys: str(PostKey.of(first.campaign, first.batch_id, keys)),
            media=first.media,
            scheduled_at=first.at,
            on_attempt=on_attempt,
        )
    except LedgerError as exc:
        return exc


def send_item(delivery: Delivery) -> SendItem:
    """A delivery as the chain carries it, with the providers it may go to (routing by capability)."""
    routed = route(delivery)
    return SendItem(
        delivery.key,
        delivery.platform,
        delivery.caption,
        delivery.options,
        delivery.thread,
        routed.providers if routed.restricted else None,
        routed.reason,
    )


def _release(
    ledger: LedgerWriter, deliveries: list[Delivery], outcomes: dict[str, Outcome], owner: str
) -> dict[str, DeliveryReport]:
    """Nothing was sent, for a reason that passes (circuit open, provider unreachable): give back the
    claims this run made, so that publishing again sends them. What the ledger knew before (a retried
    or taken-over delivery) is not forgotten: it is recorded failed, as before, and `retry` finds it."""
    if not deliveries:
        return {}
    try:
        released = set(ledger.release([d.key for d in deliveries], owner=owner))
    except LedgerError as exc:
        log.error("claims of %d unsent deliveries not released: %s", len(deliveries), exc)
        return {}
    return {
        d.key: _report(
            d, "not-sent", DeliveryStatus.CLAIMED, error=f"{outcomes[d.key].error}; publish again to send it"
        )
        for d in deliveries
        if d.key in released
    }


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
    ledger: LedgerWriter, settled: list[tuple[Delivery, Outcome, str]], owner: str, now: datetime
) -> dict[str, DeliveryReport]:
    """Store the outcomes in one write; a delivery whose outcome was not stored says so in its report."""
    results = ledger.record_many([(d.key, outcome) for d, outcome, _ in settled], owner=owner, now=now)
    reports: dict[str, DeliveryReport] = {}
    for (delivery, outcome, action), result in zip(settled, results, strict=True):
        error = outcome.error
        if isinstance(result, LedgerError):
            log.error("%s: outcome %s could not be recorded: %s", delivery.key, outcome.status, result)
            error = f"outcome not recorded: {result}"
        reports[delivery.key] = _report(
            delivery, action, outcome.status, provider=outcome.provider, url=outcome.url, error=error
        )
    return reports


def claim_request(delivery: Delivery) -> ClaimRequest:
    """The claim of one delivery, as publishing makes it (and a rebuild from the providers)."""
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


def _report(delivery: Delivery, action: str, status: DeliveryStatus | str, **extra: Any) -> DeliveryReport:
    return DeliveryReport(
        key=delivery.key,
        batch_id=delivery.batch_id,
        platform=delivery.platform.value,
        action=action,
        status=str(status),
        **extra,
    )
