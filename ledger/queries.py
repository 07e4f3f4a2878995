"""Which deliveries to read: the filters of `history`, `retry` and `cancel` (seed 002's schedule filters),
and which history rows (seed 000's get_post_history).

Both backends answer a DeliveryQuery the same way: every given filter must hold, newest first
(created_at descending, then key). A PostQuery likewise (created_at descending, then id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from postdeck.ledger.records import DeliveryRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DeliveryQuery:
    keys: tuple[str, ...] | None = None  # exactly these delivery keys
    statuses: tuple[str, ...] | None = None  # any of these statuses
    platform: str | None = None
    campaign: str | None = None
    user_id: str | None = None
    provider_post_id: str | None = None  # the deliveries one provider post carries
    created_since: datetime | None = None  # created at or after
    created_before: datetime | None = None  # created strictly before
    commit: str | None = None  # sent by a run of a commit whose SHA starts so (rows.commit_prefix)

    def matches(self, record: DeliveryRecord) -> bool:
        """The same test in Python (backends filter in SQL; this is for merging and for tests)."""
        created = record.created_at
        return (
            (self.keys is None or record.key in self.keys)
            and (self.statuses is None or str(record.status) in self.statuses)
            and (self.platform is None or record.platform == self.platform)
            and (self.campaign is None or record.campaign == self.campaign)
            and (self.user_id is None or record.user_id == self.user_id)
            and (self.provider_post_id is None or record.provider_post_id == self.provider_post_id)
            and (self.created_since is None or (created is not None and created >= self.created_since))
            and (self.created_before is None or (created is not None and created < self.created_before))
            and (self.commit is None or (record.commit_sha or "").startswith(self.commit))
        )


@dataclass(frozen=True)
class PostQuery:
    """The filters of get_post_history: every given one must hold."""

    user_id: str | None = None
    status: str | None = None
    platform: str | None = None  # one of the post's platforms
    campaign: str | None = None
    since: datetime | None = None  # created at or after


def newest_first(records: list[DeliveryRecord]) -> list[DeliveryRecord]:
    """created_at descending, then key ascending (two stable sorts)."""
    by_key = sorted(records, key=lambda r: r.key)
    return sorted(by_key, key=lambda r: r.created_at or _EPOCH, reverse=True)
