"""Follow deliveries that have no final outcome yet (`scheduled`, `unknown`) to the end.

For each one, ask the provider that has (or may have) its post: a scheduled post reads its post by
id; an unknown one is looked up by its post key wherever the create may have gone. Only what the
provider says is recorded: nothing is guessed and nothing is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import DeliveryRecord, LedgerWriter
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import ProviderError

log = logging.getLogger("postdeck.engine.follow_up")

OPEN_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.UNKNOWN)


@dataclass(frozen=True)
class FollowUpReport:
    key: str
    before: str
    after: str
    url: str | None = None
    error: str | None = None


def follow_up(
    records: Sequence[DeliveryRecord],
    *,
    ledger: LedgerWriter,
    chain: Chain,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[FollowUpReport]:
    reports = []
    for record in records:
        if record.status not in OPEN_STATUSES:
            continue
        try:
            outcome = _ask(record, chain)
        except ProviderError as exc:
            reports.append(FollowUpReport(record.key, record.status, record.status, error=str(exc)))
            continue
        if outcome is None or (outcome.status == record.status and outcome.url == record.url):
            reports.append(
                FollowUpReport(
                    record.key,
                    record.status,
                    record.status,
                    record.url,
                    outcome.error if outcome else "not found at any provider yet",
                )
            )
            continue
        try:
            ledger.record(record.key, outcome, owner=None, now=now())
        except LedgerError as exc:
            reports.append(FollowUpReport(record.key, record.status, record.status, error=str(exc)))
            continue
        reports.append(FollowUpReport(record.key, record.status, outcome.status, outcome.url, outcome.error))
    return reports


def _ask(record: DeliveryRecord, chain: Chain) -> Outcome | None:
    platform = Platform(record.platform)
    links = _links_for(record, chain)
    if record.provider_post_id and links:
        link = links[0]
        post = chain.get(link.label, record.provider_post_id)
        return to_outcome(post, platform, link.provider.name, record.post_key or "")
    if record.post_key:
        for link in links:
            found = chain.lookup(link.label, record.post_key)
            if found is not None:
                return to_outcome(found, platform, link.provider.name, record.post_key)
    return None


def _links_for(record: DeliveryRecord, chain: Chain) -> list[Link]:
    """The links that may hold this delivery's post, the one that answered first."""
    labels = list(record.attempted_providers)
    if record.provider:
        labels.sort(key=lambda label: not label.startswith(f"{record.provider}:"))
    return [link for label in labels if (link := chain.link(label)) is not None]
