"""The plan: what publishing would do, as a pure function of (deliveries, ledger reader, now).

Like `terraform plan`: every delivery of the campaign (desired) is compared with the ledger
(recorded) and gets one Change. Publishing applies exactly this list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from postdeck.ledger.base import DeliveryRecord, DeliveryStatus, LedgerReader
from postdeck.schemas.deliveries import Delivery


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"  # a scheduled post whose content or time changed
    CANCEL = "cancel"  # a scheduled post whose batch was removed
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # content changed after it was published
    IN_FLIGHT = "in-flight"  # claimed by a run right now


@dataclass(frozen=True)
class Change:
    action: Action
    key: str
    delivery: Delivery | None  # None for a cancel
    record: DeliveryRecord | None  # None for a create
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    campaign: str
    changes: tuple[Change, ...]

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def has_changes(self) -> bool:
        return any(c.action not in (Action.UNCHANGED, Action.IN_FLIGHT) for c in self.changes)


def make_plan(
    campaign: str,
    deliveries: Sequence[Delivery],
    reader: LedgerReader,
    now: datetime,
    *,
    include_cancels: bool = True,
) -> Plan:
    records = {r.key: r for r in reader.deliveries(campaign)}
    changes = [_change(d, records.get(d.key), now) for d in deliveries]
    if include_cancels:
        wanted = {d.key for d in deliveries}
        for key, record in sorted(records.items()):
            if key not in wanted and record.status == DeliveryStatus.SCHEDULED:
                changes.append(Change(Action.CANCEL, key, None, record, "its batch was removed"))
    return Plan(campaign=campaign, changes=tuple(changes))


def _change(delivery: Delivery, record: DeliveryRecord | None, now: datetime) -> Change:
    if record is None:
        return Change(Action.CREATE, delivery.key, delivery, None)
    if record.status == DeliveryStatus.CLAIMED:
        return Change(Action.IN_FLIGHT, delivery.key, delivery, record, f"claimed by {record.owner}")
    content_changed = record.content_hash != delivery.content_hash
    time_changed = record.schedule_hash != delivery.schedule_hash
    if record.status == DeliveryStatus.SCHEDULED and (content_changed or time_changed):
        what = " and ".join(
            w for w, changed in (("content", content_changed), ("time", time_changed)) if changed
        )
        return Change(Action.UPDATE, delivery.key, delivery, record, f"{what} changed")
    if record.status == DeliveryStatus.POSTED and content_changed:
        return Change(
            Action.CONFLICT, delivery.key, delivery, record, "content changed after it was published"
        )
    return Change(Action.UNCHANGED, delivery.key, delivery, record, str(record.status))
