"""Which link of the chain holds a recorded delivery's post: the one of its provider among the links
it was attempted through (a failover sends on, so the first attempt need not be where it went)."""

from __future__ import annotations

from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.chain import Chain, Link


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


def unreachable(record: DeliveryRecord) -> str:
    """Why nothing can be done with the post: the link holding it is not configured now."""
    where = ", ".join(record.attempted_providers) or record.provider or "an unknown provider"
    return f"its post is at {where}, which is not configured now (was it sent with --sandbox?)"
