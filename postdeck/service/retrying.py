"""Retry failed deliveries (seed 002's schedules.retry) without breaking the exactly-once protocol.

A failed delivery is first reopened in the ledger (failed → claimed, atomically: of two retriers one
wins), then:
- a post LATE holds is re-run by LATE itself (`POST /posts/{id}/retry`): a new create would be refused
  or deduplicated by LATE as the same content; the attempt is noted before the call, as for a create;
- anything else is rebuilt from its file (service.sources) and sent again through the publisher.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import DEFAULT_LEASE_SECONDS, publish_batch
from postdeck.errors import LedgerError, PostdeckError
from postdeck.ledger.base import DeliveryRecord
from postdeck.providers.base import SupportsRetry
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import FailureKind, ProviderError
from postdeck.schemas.deliveries import Delivery
from postdeck.service.schedules import (
    Clock,
    Progress,
    ScheduleReport,
    link_for,
    recorded,
    siblings,
    skipped,
    unreachable,
)
from postdeck.service.sources import rebuild


def retry(
    records: Iterable[DeliveryRecord],
    *,
    ledger,
    chain: Chain,
    owner: str,
    posts: Path,
    campaigns: Sequence[Path],
    now: Clock = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> list[ScheduleReport]:
    """Retry failed deliveries (seed 002's schedules.retry). Never raises for a provider failure."""
    reports: list[ScheduleReport] = []
    at_late: dict[tuple[str, str], list[DeliveryRecord]] = {}
    rebuilt: list[tuple[DeliveryRecord, Delivery]] = []
    for record in records:
        reported = len(reports)
        if record.status != DeliveryStatus.FAILED:
            why = f"only failed deliveries are retried; this one is {record.status}"
            if record.status == DeliveryStatus.UNKNOWN:  # issue 18: say the way out
                why += " (the follow-up settles it, or `postdeck resolve KEY --posted URL | --not-posted`)"
            elif record.status == DeliveryStatus.NOT_SENT:
                why += " (the next `postdeck publish` sends it)"
            reports.append(skipped(record, why))
        elif record.provider == "late" and record.provider_post_id:
            link = link_for(record, chain)
            if link is None or not isinstance(link.provider, SupportsRetry):
                reports.append(skipped(record, unreachable(record)))
            else:
                at_late.setdefault((link.label, record.provider_post_id), []).append(record)
        else:
            try:
                rebuilt.append((record, rebuild(record, posts=posts, campaigns=campaigns, now=now())))
            except PostdeckError as exc:
                reports.append(skipped(record, str(exc)))
        if progress and len(reports) > reported:
            progress(record)
    for (label, post_id), group in at_late.items():
        # LATE re-runs every failed platform of the post: their deliveries are retried with it.
        group += siblings(ledger, group, "late", post_id, "failed")
        reports += _retry_at_late(
            group, chain.link(label), post_id, ledger=ledger, chain=chain, owner=owner, now=now
        )
        for record in group:
            if progress:
                progress(record)
    reports += _recreate(rebuilt, ledger=ledger, chain=chain, owner=owner, now=now, progress=progress)
    return reports


def _reopen(ledger, records: Iterable[DeliveryRecord], owner: str, now: Clock, reports: list[ScheduleReport]):
    reopened = []
    for record in records:
        try:
            if ledger.reopen_failed(record.key, owner=owner, lease_seconds=DEFAULT_LEASE_SECONDS, now=now()):
                reopened.append(record)
            else:
                reports.append(skipped(record, "not failed any more: another retry or run has it"))
        except LedgerError as exc:
            reports.append(skipped(record, f"not retried: {exc}"))
    return reopened


def _retry_at_late(
    group: list[DeliveryRecord],
    link: Link | None,
    post_id: str,
    *,
    ledger,
    chain: Chain,
    owner: str,
    now: Clock,
) -> list[ScheduleReport]:
    reports: list[ScheduleReport] = []
    assert link is not None
    reopened = _reopen(ledger, group, owner, now, reports)
    if not reopened:
        return reports
    keys = [r.key for r in reopened]
    post_key = next((r.post_key for r in group if r.post_key), "") or ""
    try:
        # As before a create: a crash after this call is recovered by looking the post key up.
        ledger.note_attempt(keys, owner=owner, provider=link.label, post_key=post_key)
        outcome = chain.retry_post(link.label, post_id)
    except (LedgerError, ProviderError) as exc:
        maybe = isinstance(exc, ProviderError) and exc.kind == FailureKind.MAYBE_SENT
        status = DeliveryStatus.UNKNOWN if maybe else DeliveryStatus.FAILED
        common = {"provider": "late", "provider_post_id": post_id, "post_key": post_key or None}
        outcomes = {r.key: Outcome(status, error=f"retry: {exc}", **common) for r in reopened}
    else:
        outcomes = {r.key: to_outcome(outcome, Platform(r.platform), "late", post_key) for r in reopened}
    for record in reopened:
        reports.append(recorded(ledger, record, outcomes[record.key], owner, now, "retried"))
    return reports


def _recreate(
    rebuilt: list[tuple[DeliveryRecord, Delivery]],
    *,
    ledger,
    chain: Chain,
    owner: str,
    now: Clock,
    progress: Progress | None,
) -> list[ScheduleReport]:
    reports: list[ScheduleReport] = []
    batches: dict[tuple[str, str], list[tuple[DeliveryRecord, Delivery]]] = {}
    reopened = set(r.key for r in _reopen(ledger, [r for r, _ in rebuilt], owner, now, reports))
    for record, delivery in rebuilt:
        if record.key in reopened:
            batches.setdefault((delivery.campaign, delivery.batch_id), []).append((record, delivery))
    for pairs in batches.values():
        # The claim is ours (reopened), with no attempt noted: the publisher sends it afresh.
        sent = publish_batch([d for _, d in pairs], ledger=ledger, chain=chain, owner=owner, now=now)
        for (record, _), report in zip(pairs, sent, strict=True):
            reports.append(
                ScheduleReport(
                    record.key,
                    record.platform,
                    str(record.status),
                    report.status,
                    "retried",
                    report.provider,
                    report.url,
                    report.error,
                )
            )
            if progress:
                progress(record)
    return reports
