"""Where a delivery stands: the states of the exactly-once protocol (shared/design.md)."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"
    POSTED = "posted"
    SCHEDULED = "scheduled"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    # Found at no provider over their idempotency window (or so resolved by a person): the next
    # publish looks its post key up once more, then sends it.
    NOT_SENT = "not-sent"


FINAL_STATUSES = frozenset(
    {DeliveryStatus.POSTED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED, DeliveryStatus.UNKNOWN}
)
"""No automatic path sends a delivery in one of these states again (scheduled is followed up, not resent)."""
