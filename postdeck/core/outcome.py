"""What became of one delivery, in words neither a provider's nor a database's."""

from __future__ import annotations

from dataclasses import dataclass

from postdeck.core.status import DeliveryStatus


@dataclass(frozen=True)
class Outcome:
    """What to record for one delivery after the chain is done with it."""

    status: DeliveryStatus
    provider: str | None = None
    provider_post_id: str | None = None
    post_key: str | None = None
    platform_post_id: str | None = None
    url: str | None = None
    error: str | None = None
