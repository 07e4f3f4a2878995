"""The plan: what publishing would do, as a pure function of (deliveries, ledger reader, now).

Like `terraform plan`: every delivery of the campaign (desired) is compared with the ledger
(recorded) and gets one Change. Publishing applies exactly this list. A plan saved with
`plan --out` carries a fingerprint of the ledger records it was made from (plan_fingerprint.py);
plan_checks.py refuses it once the ledger has moved on, or when it is not the reviewed plan.
plan_file.py writes and reads plans as JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from postdeck.core.keys import DeliveryKey, key_owner, owner_scope
from postdeck.core.status import DeliveryStatus
from postdeck.engine.generations import (
    LEFT_RULE,
    REMOVED,
    current_generations,
    lineage,
    next_generation,
    removed_by_a_publish,
)
from postdeck.engine.plan_fingerprint import ledger_fingerprint
from postdeck.ledger.base import LedgerReader
from postdeck.ledger.records import REBUILD_OWNER, DeliveryRecord
from postdeck.schemas.deliveries import CaptionLength, Delivery


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"  # a scheduled post whose content or time changed
    CANCEL = "cancel"  # a scheduled post whose batch was removed
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # content changed after it was published
    IN_FLIGHT = "in-flight"  # claimed by a run right now
    # What exists differs from the file: cancelled outside it (postdeck cancel), which publish creates
    # again (generations.py); or, with `plan --refresh`, deleted or moved at the provider (refresh.py).
    DRIFT = "drift"


@dataclass(frozen=True)
class Change:
    action: Action
    key: str
    delivery: Delivery | None  # None for a cancel
    record: DeliveryRecord | None  # None for a create
    reason: str = ""
    length: CaptionLength | None = None  # the caption against its tightest limit, in the platform's unit
    part_lengths: tuple[CaptionLength | None, ...] = ()  # each thread part's, in order

    @property
    def route(self) -> str:
        """'' when any provider of the chain can publish it; else which provider(s) and why."""
        if self.delivery is None or not (self.delivery.thread or self.delivery.options):
            return ""
        from postdeck.schemas.routing import route

        return route(self.delivery).reason

    @property
    def batch_id(self) -> str:
        return self.delivery.batch_id if self.delivery else (self.record.batch_id if self.record else "")

    @property
    def platform(self) -> str:
        return (
            self.delivery.platform.value if self.delivery else (self.record.platform if self.record else "")
        )


@dataclass(frozen=True)
class Plan:
    campaign: str
    changes: tuple[Change, ...]
    made_at: datetime | None = None
    ledger_fingerprint: str = ""  # of the campaign's ledger records the plan was made from
    # The keys of occurrences of repeating batches beyond the horizon: planned as they enter it.
    later: tuple[str, ...] = ()
    owner: str | None = None  # the campaign's owner: another user's campaign of this name is not this one
    # Each later occurrence's pending_hash (what it will send, and when), in the order of `later`: the
    # reviewed hash covers them, so it holds while the horizon moves (plan_checks.plan_hash).
    later_hashes: tuple[str, ...] = ()

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def has_changes(self) -> bool:
        return any(c.action not in (Action.UNCHANGED, Action.IN_FLIGHT) for c in self.changes)

    def counts(self) -> dict[str, int]:
        counted = Counter(c.action for c in self.changes)
        return {action.value: counted[action] for action in Action if counted[action]}


def campaign_records(reader: LedgerReader, campaign: str, owner: str | None) -> list[DeliveryRecord]:
    """The ledger's records of `owner`'s campaign `campaign`. Two users' campaigns of one name are two
    campaigns (their keys are scoped by owner: postdeck.core.keys), so neither's plan sees, cancels
    or is made stale by the other's deliveries."""
    scope = owner_scope(owner)
    return [r for r in reader.deliveries(campaign) if key_owner(r.key) == scope]


def campaign_owner(deliveries: Sequence[Delivery]) -> str | None:
    """The owner of a campaign's deliveries (one campaign has one owner), None without any."""
    return next((d.owner for d in deliveries), None)


def make_plan(
    campaign: str,
    deliveries: Sequence[Delivery],
    reader: LedgerReader,
    now: datetime,
    *,
    include_cancels: bool = True,
    owner: str | None = None,
) -> Plan:
    """`owner`: the campaign's (its deliveries' when not given; name it for a campaign with none left)."""
    owner = owner if owner is not None else campaign_owner(deliveries)
    recorded = campaign_records(reader, campaign, owner)
    records = {r.key: r for r in recorded}
    current = current_generations(records)  # a re-created delivery's record is its latest generation's
    changes: list[Change] = []
    later: list[str] = []
    later_hashes: list[str] = []
    for delivery in deliveries:
        if (key := current.get(delivery.key)) is not None:
            delivery = dataclasses.replace(delivery, key=key)
        record = _record_for(delivery, records)
        if record is None and delivery.beyond_horizon(now):
            # Not planned yet: the scheduled sync publishes it once it comes within the horizon.
            later.append(delivery.key)
            later_hashes.append(pending_hash(delivery))
            continue
        changes.append(_with_parts(_change(delivery, record, now)))
    if include_cancels:
        # Generation 0 (the file knows no generations); every occurrence of a rule, beyond the horizon too.
        wanted = {d.key for d in deliveries}
        for key, record in sorted(records.items()):
            if lineage(key) not in wanted and record.status == DeliveryStatus.SCHEDULED:
                occurrence = DeliveryKey.parse(lineage(key)).occurrence is not None
                if occurrence and _is_past(record, now):
                    continue  # an occurrence whose time has passed is history, whatever the rule says now
                changes.append(Change(Action.CANCEL, key, None, record, LEFT_RULE if occurrence else REMOVED))
    return Plan(
        campaign,
        tuple(changes),
        made_at=now,
        ledger_fingerprint=ledger_fingerprint(recorded),
        later=tuple(later),
        owner=owner or None,
        later_hashes=tuple(later_hashes),
    )


def pending_hash(delivery: Delivery) -> str:
    """An occurrence still to be created: its key, content and time, whether planned or later."""
    text = f"{delivery.key}\n{delivery.content_hash}\n{delivery.schedule_hash}"
    return hashlib.sha256(text.encode()).hexdigest()


def _is_past(record: DeliveryRecord, now: datetime) -> bool:
    return record.scheduled_for is not None and record.scheduled_for <= now


def repost_key(delivery: Delivery) -> str:
    """The key a changed, already published delivery is published again under (`--allow-repost`).

    Derived from the new content, so a repost of the same content is claimed once, like any delivery.
    """
    return str(DeliveryKey.parse(delivery.key).repost(delivery.content_hash))


def _record_for(delivery: Delivery, records: dict[str, DeliveryRecord]) -> DeliveryRecord | None:
    record = records.get(delivery.key)
    if (
        record is not None
        and record.status == DeliveryStatus.POSTED
        and record.content_hash != delivery.content_hash
    ):
        return records.get(repost_key(delivery), record)  # reposted already: that record is the current one
    return record


def held_note(record: DeliveryRecord) -> str:
    """Who holds a claim, and when it is taken over if that run has stopped (its lease, which the
    live run's heartbeat keeps moving)."""
    if record.owner == REBUILD_OWNER:
        return (
            "claimed by a `postdeck ledger rebuild` that stopped before recording it: run the rebuild again"
        )
    if record.lease_until is None:
        return f"claimed by {record.owner}"
    at = record.lease_until.astimezone(UTC)
    return f"claimed by {record.owner}; taken over at {at:%Y-%m-%d %H:%M:%S} UTC if that run has stopped"


def _with_parts(change: Change) -> Change:
    """A thread's change carries the length of each part too (the plan shows every part)."""
    if change.delivery is None or not change.delivery.thread:
        return change
    return dataclasses.replace(change, part_lengths=change.delivery.thread_lengths())


def _change(delivery: Delivery, record: DeliveryRecord | None, now: datetime) -> Change:
    length = delivery.caption_length()
    if record is None:
        return Change(Action.CREATE, delivery.key, delivery, None, length=length)
    if record.status == DeliveryStatus.CLAIMED:
        if record.lease_until is not None and record.lease_until <= now:
            # Its run died mid-send: publishing takes the claim over and looks the post up before sending.
            return Change(
                Action.CREATE,
                delivery.key,
                delivery,
                record,
                f"recover {record.owner}'s expired claim",
                length,
            )
        return Change(Action.IN_FLIGHT, delivery.key, delivery, record, held_note(record), length)
    if record.key != delivery.key:  # the repost of a changed delivery
        return Change(Action.UNCHANGED, delivery.key, delivery, record, f"reposted: {record.status}", length)
    if record.status == DeliveryStatus.NOT_SENT:
        # Found at no provider: publishing claims it again, looks it up once more, then sends it.
        return Change(Action.CREATE, delivery.key, delivery, record, f"send again ({record.error})", length)
    if record.status == DeliveryStatus.CANCELLED:
        return _wanted_again(delivery, record, length)
    content_changed = record.content_hash != delivery.content_hash
    time_changed = record.schedule_hash != delivery.schedule_hash
    if delivery.horizon_days is not None and _is_past(record, now) and (content_changed or time_changed):
        # The rule changed under an occurrence that has gone out (or is going out): history, kept.
        reason = f"past occurrence, kept as it went out: {record.status}"
        return Change(Action.UNCHANGED, delivery.key, delivery, record, reason, length)
    if record.status == DeliveryStatus.SCHEDULED and (content_changed or time_changed):
        what = " and ".join(
            w for w, changed in (("content", content_changed), ("time", time_changed)) if changed
        )
        return Change(Action.UPDATE, delivery.key, delivery, record, f"{what} changed", length)
    if record.status == DeliveryStatus.POSTED and content_changed:
        return Change(
            Action.CONFLICT, delivery.key, delivery, record, "content changed after it was published", length
        )
    return Change(Action.UNCHANGED, delivery.key, delivery, record, str(record.status), length)


def _wanted_again(delivery: Delivery, record: DeliveryRecord, length: CaptionLength | None) -> Change:
    """The file has a delivery whose record is cancelled: desired state wins, under the next
    generation's key (never the old one: that post may exist), unless a person pinned the cancel."""
    if record.keep_cancelled:
        why = "cancelled, and kept so (postdeck cancel --keep-cancelled)"
        return Change(Action.UNCHANGED, delivery.key, delivery, record, why, length)
    key, generation = next_generation(delivery.key)
    again = dataclasses.replace(delivery, key=key)
    if removed_by_a_publish(record.error):
        why = f"its batch was removed, then put back: created again as generation {generation}"
        return Change(Action.CREATE, key, again, record, why, length)
    why = (
        f"cancelled outside the file (postdeck cancel) while the file has it: publish creates it again as "
        f"generation {generation} (or pin the cancel: postdeck cancel {delivery.key} --keep-cancelled)"
    )
    return Change(Action.DRIFT, key, again, record, why, length)
