"""Cancel scheduled deliveries (seed 002's schedules.delete): deleted at their provider, then recorded.

A provider post carries every platform of a batch: cancelling one of them alone would cancel the
others too, so that is refused unless they are cancelled together. The provider is asked first: a post
already published is recorded as such, not cancelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.ledger.base import DeliveryRecord
from postdeck.providers.chain import Chain, to_outcome
from postdeck.providers.errors import ProviderError
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


def cancel(
    records: Iterable[DeliveryRecord],
    *,
    ledger,
    chain: Chain,
    with_siblings: bool = False,
    now: Clock = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> list[ScheduleReport]:
    """Cancel scheduled deliveries (seed 002's schedules.delete). Never raises for a provider failure."""
    reports: list[ScheduleReport] = []
    posts: dict[tuple[str, str], list[DeliveryRecord]] = {}
    for record in records:
        if record.status != DeliveryStatus.SCHEDULED:
            reports.append(
                skipped(record, f"only scheduled posts can be cancelled; this one is {record.status}")
            )
        elif not record.provider or not record.provider_post_id:
            reports.append(skipped(record, "no provider post is recorded for it"))
        else:
            posts.setdefault((record.provider, record.provider_post_id), []).append(record)
            continue
        if progress:
            progress(record)
    for (provider, post_id), group in posts.items():
        reports += _cancel_post(
            provider, post_id, group, ledger=ledger, chain=chain, with_siblings=with_siblings, now=now
        )
        for record in group:
            if progress:
                progress(record)
    return reports


def pin(
    reports: list[ScheduleReport], *, ledger, now: Clock = lambda: datetime.now(UTC)
) -> list[ScheduleReport]:
    """Pin every reported delivery that is cancelled (now or before): publishing its campaign leaves
    it cancelled instead of creating it again from the file (`postdeck cancel --keep-cancelled`)."""
    pinned = set(ledger.keep_cancelled([r.key for r in reports if r.after == "cancelled"], now=now()))
    return [
        dataclasses.replace(r, action="kept cancelled", error=None) if r.key in pinned else r for r in reports
    ]


def _cancel_post(
    provider: str,
    post_id: str,
    group: list[DeliveryRecord],
    *,
    ledger,
    chain: Chain,
    with_siblings: bool,
    now: Clock,
) -> list[ScheduleReport]:
    others = siblings(ledger, group, provider, post_id, "scheduled")
    if others and not with_siblings:
        keys = ", ".join(s.key for s in others)
        why = f"its {provider} post {post_id} also carries {keys}: cancel them together (or --with-siblings)"
        return [skipped(r, why) for r in group]
    group = group + others
    link = link_for(group[0], chain)
    if link is None:
        return [skipped(r, unreachable(r)) for r in group]
    try:
        current = chain.get(link.label, post_id)
    except ProviderError as exc:
        return [skipped(r, f"cannot read the post at {link.label}: {exc}") for r in group]
    outcomes = {r.key: to_outcome(current, Platform(r.platform), provider, r.post_key or "") for r in group}
    if any(o.status != DeliveryStatus.SCHEDULED for o in outcomes.values()):
        # Published (or failed) meanwhile: record what the provider says instead of cancelling.
        return [
            recorded(ledger, r, outcomes[r.key], None, now, "refreshed")
            if outcomes[r.key].status != r.status
            else skipped(r, "the rest of its post is no longer scheduled")
            for r in group
        ]
    try:
        chain.cancel(link.label, post_id)
    except ProviderError as exc:
        return [skipped(r, f"not cancelled: {exc}") for r in group]
    cancelled = Outcome(DeliveryStatus.CANCELLED, provider=provider, provider_post_id=post_id)
    return [recorded(ledger, r, cancelled, None, now, "cancelled") for r in group]
