"""Which link of the chain holds a recorded delivery's post: the one of its provider among the links
it was attempted through (a failover sends on, so the first attempt need not be where it went)."""

from __future__ import annotations

from collections.abc import Sequence

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.chain import Chain, Link, to_outcome


def holding_label(record: DeliveryRecord) -> str:
    """The label of the link the post went through ('' when none is recorded)."""
    if not record.provider:
        return ""
    return next(
        (label for label in record.attempted_providers if label.startswith(f"{record.provider}:")), ""
    )


def link_for(record: DeliveryRecord, chain: Chain) -> Link | None:
    """The configured link holding the delivery's post, None when that link is not in this chain."""
    label = holding_label(record)
    return chain.link(label) if label else None


def what_the_provider_says(
    chain: Chain, link: Link, post_id: str, records: Sequence[DeliveryRecord]
) -> dict[str, Outcome]:
    """Each record's platform on its post as the provider has it now (one read; raises ProviderError).
    Asked before a scheduled post is changed or deleted: its time may have come since it was recorded."""
    current = chain.get(link.label, post_id)
    return {
        r.key: to_outcome(current, Platform(r.platform), link.provider.name, r.post_key or "")
        for r in records
    }


def no_longer_scheduled(said: dict[str, Outcome]) -> bool:
    return any(outcome.status != DeliveryStatus.SCHEDULED for outcome in said.values())


def unreachable(record: DeliveryRecord) -> str:
    """Why nothing can be done with the post: the link holding it is not configured now."""
    where = ", ".join(record.attempted_providers) or record.provider or "an unknown provider"
    return f"its post is at {where}, which is not configured now (was it sent with --sandbox?)"
