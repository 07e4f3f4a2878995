"""Follow deliveries that have no final outcome yet (`scheduled`, `unknown`) to the end.

For each one, ask the provider that has (or may have) its post: a scheduled post reads its post by
id; an unknown one is looked up by its post key wherever the create may have gone. Only what the
provider says is recorded: nothing is guessed and nothing is sent. An unknown delivery that every
provider it may have reached still does not have once the providers' idempotency window has passed
since it became unknown (`POSTDECK_NOT_SENT_AFTER`) is recorded `not-sent`, with the reason: the next
publish looks it up once more and sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import ProviderError
from postdeck.settings import settings

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
    not_sent_after: float | None = None,
) -> list[FollowUpReport]:
    """`not_sent_after`: seconds of the providers' idempotency window (None: the setting)."""
    window = timedelta(seconds=settings().not_sent_after if not_sent_after is None else not_sent_after)
    reports = []
    for record in records:
        if record.status not in OPEN_STATUSES:
            continue
        try:
            asked = _ask(record, chain)
        except ProviderError as exc:
            reports.append(FollowUpReport(record.key, record.status, record.status, error=str(exc)))
            continue
        # Found nowhere: not-sent once the window has passed, else why not yet (a str).
        outcome: Outcome | str = asked if asked is not None else _not_sent(record, chain, now(), window)
        if isinstance(outcome, str) or (outcome.status == record.status and outcome.url == record.url):
            error = outcome if isinstance(outcome, str) else outcome.error
            reports.append(FollowUpReport(record.key, record.status, record.status, record.url, error))
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


def _not_sent(record: DeliveryRecord, chain: Chain, now: datetime, window: timedelta) -> Outcome | str:
    """No provider has it: `not-sent` once that has held over the window since it became unknown
    (a create still being stored would show by then), else why it stays as it is."""
    labels = record.attempted_providers
    missing = [label for label in labels if chain.link(label) is None]
    if record.status != DeliveryStatus.UNKNOWN or not record.post_key or not labels or missing:
        why = f": {', '.join(missing)} not configured in this run" if missing else ""
        return "not found at any provider yet" + why
    since = record.updated_at or now
    if now - since < window:
        return (
            f"not found at {', '.join(labels)} yet; not-sent at {(since + window).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC "
            "if still not found then"
        )
    minutes = window.total_seconds() / 60
    return Outcome(
        DeliveryStatus.NOT_SENT,
        post_key=record.post_key,
        error=(
            f"not sent: found at no provider ({', '.join(labels)}) for {minutes:g} min after it became "
            "unknown; the next publish looks it up once more and sends it"
        ),
    )


def _links_for(record: DeliveryRecord, chain: Chain) -> list[Link]:
    """The links that may hold this delivery's post, the one that answered first."""
    labels = list(record.attempted_providers)
    if record.provider:
        labels.sort(key=lambda label: not label.startswith(f"{record.provider}:"))
    return [link for label in labels if (link := chain.link(label)) is not None]
