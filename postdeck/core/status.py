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


FINAL_STATUSES = frozenset(
    {DeliveryStatus.POSTED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED, DeliveryStatus.UNKNOWN}
)
"""No automatic path sends a delivery in one of these states again (scheduled is followed up, not resent)."""
