"""Which deliveries a retry or cancel is about: ids, or filters (seed 002's schedule filters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from postdeck.errors import PostdeckError
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import DeliveryRecord


@dataclass(frozen=True)
class Selection:
    ids: tuple[str, ...] = ()  # delivery keys; with ids, the status filter is left to the operation
    statuses: tuple[str, ...] | None = None
    platform: str | None = None
    campaign: str | None = None
    user_id: str | None = None
    since: datetime | None = None  # created at or after
    older_than: datetime | None = None  # created before
    everything: bool = False  # --all: every delivery the other filters allow
    exclude: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        return bool(self.statuses or self.platform or self.campaign or self.since or self.older_than)


def select(ledger, selection: Selection) -> tuple[list[DeliveryRecord], list[str]]:
    """The deliveries selected, newest first, and the asked ids the ledger does not have."""
    if not selection.ids and not selection.everything and not selection.filtered:
        raise PostdeckError(
            "say which deliveries: their ids, a filter (--status, --older-than, ...) or --all"
        )
    query = DeliveryQuery(
        keys=tuple(dict.fromkeys(selection.ids)) if selection.ids else None,
        # Named ids keep their own status: the operation says why it skips one.
        statuses=None if selection.ids else selection.statuses,
        platform=selection.platform,
        campaign=selection.campaign,
        user_id=selection.user_id,
        created_since=selection.since,
        created_before=selection.older_than,
    )
    records = [r for r in ledger.find_deliveries(query) if r.key not in set(selection.exclude)]
    found = {r.key for r in records}
    missing = [key for key in selection.ids if key not in found and key not in selection.exclude]
    return records, missing


class Tracker(Protocol):
    """Progress of a long operation (the CLI's progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, record: DeliveryRecord) -> None: ...
