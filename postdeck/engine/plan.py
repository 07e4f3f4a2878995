"""The plan: what publishing would do, as a pure function of (deliveries, ledger reader, now).

Like `terraform plan`: every delivery of the campaign (desired) is compared with the ledger
(recorded) and gets one Change. Publishing applies exactly this list. A plan saved with
`plan --out` carries a fingerprint of the ledger records it was made from; `check_plan_is_current`
refuses it once the ledger has moved on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

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
from postdeck.errors import PlanError, StalePlanError
from postdeck.ledger.base import DeliveryRecord, LedgerReader
from postdeck.schemas.deliveries import CaptionLength, Delivery

PLAN_FORMAT = "postdeck-plan/1"


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
    # reviewed hash covers them, so it holds while the horizon moves (plan_hash).
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


def _is_past(record: DeliveryRecord, now: datetime) -> bool:
    return record.scheduled_for is not None and record.scheduled_for <= now


def plan_shape(plan: Plan) -> list[tuple[str, str, str, str]]:
    """What a plan does, for comparing two plans (`publish --plan`): each change's action, key, and
    what it sends and when (content and schedule hashes)."""
    return [(str(c.action), c.key, *_hashes(c.delivery)) for c in plan.changes]


def _hashes(delivery: Delivery | None) -> tuple[str, str]:
    return (delivery.content_hash, delivery.schedule_hash) if delivery else ("", "")


def pending_hash(delivery: Delivery) -> str:
    """An occurrence still to be created: its key, content and time, whether planned or later."""
    text = f"{delivery.key}\n{delivery.content_hash}\n{delivery.schedule_hash}"
    return hashlib.sha256(text.encode()).hexdigest()


def _pending_create(change: Change) -> bool:
    delivery = change.delivery
    fresh = change.action == Action.CREATE and change.record is None
    return fresh and delivery is not None and delivery.horizon_days is not None


def plan_hash(plan: Plan) -> str:
    """The hash a reviewer sees under the plan and a publish can be held to (`expect_plan`).

    It covers each change's action, key, content and time. A repeating batch's occurrences still to
    be created are one pool with the later ones (beyond the horizon): as the horizon moves between
    review and merge, an occurrence moves from later to create and the hash stays; a changed rule,
    or a changed caption of any occurrence, changes it.
    """
    exact: list[tuple[str, str, str, str]] = []
    pooled = list(plan.later_hashes)
    for change in plan.changes:
        if _pending_create(change) and change.delivery is not None:
            pooled.append(pending_hash(change.delivery))
        else:
            exact.append((str(change.action), change.key, *_hashes(change.delivery)))
    pooled.sort()
    return hashlib.sha256(json.dumps([plan.campaign, exact, pooled]).encode()).hexdigest()


REVIEWED_HASH_LENGTH = 12  # what `postdeck plan` shows; a publish accepts any prefix at least this long


def require_reviewed_plan(plan: Plan, expected: str) -> None:
    """Refuse to publish anything but the reviewed plan (Atlantis-style): `expected` is the hash, or a
    prefix of it, that `postdeck plan` showed the reviewer."""
    wanted = expected.strip().lower()
    actual = plan_hash(plan)
    if len(wanted) < REVIEWED_HASH_LENGTH or not actual.startswith(wanted):
        raise PlanError(
            f"{plan.campaign}: the plan is {actual[:REVIEWED_HASH_LENGTH]}, not the reviewed plan "
            f"{wanted[:REVIEWED_HASH_LENGTH] or '(empty)'}: the campaign or its ledger changed since it "
            "was planned; nothing was sent. Plan it again and have that plan reviewed"
        )


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


# ---- the ledger fingerprint and the stale-plan check -------------------------------------------

_FINGERPRINTED = (
    "key",
    "status",
    "owner",
    "lease_until",
    "provider",
    "provider_post_id",
    "content_hash",
    "schedule_hash",
    "attempts",
    "updated_at",
)  # what can change what a plan would do


def ledger_fingerprint(records: Sequence[DeliveryRecord]) -> str:
    rows = sorted(json.dumps([_jsonable(getattr(r, name)) for name in _FINGERPRINTED]) for r in records)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def check_plan_is_current(plan: Plan, reader: LedgerReader) -> None:
    """Raise StalePlanError if the ledger's records of the campaign changed since the plan was made."""
    current = ledger_fingerprint(campaign_records(reader, plan.campaign, plan.owner))
    if current != plan.ledger_fingerprint:
        made = f" at {plan.made_at.isoformat()}" if plan.made_at else ""
        raise StalePlanError(
            f"the ledger of campaign '{plan.campaign}' changed since this plan was made{made}: "
            "run `postdeck plan` again"
        )


# ---- JSON ---------------------------------------------------------------------------------------


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {**_head(plan), "changes": [_change_to_dict(change) for change in plan.changes]}


def plan_json(plan: Plan) -> Iterator[str]:
    """The JSON text of `plan_to_dict(plan)`, in pieces: indented, with one line per change.

    json's `indent` runs its pure-Python encoder, which took seconds for 40,000 changes; the C
    encoder writes each change's line, and nothing holds the whole document at once.
    """
    head = json.dumps(_head(plan), indent=2, ensure_ascii=False)
    yield head.removesuffix("\n}") + ',\n  "changes": ['
    encode = json.JSONEncoder(ensure_ascii=False).encode
    separator = "\n    "
    for change in plan.changes:
        yield separator + encode(_change_to_dict(change))
        separator = ",\n    "
    yield "\n  ]\n}\n" if plan.changes else "]\n}\n"


def _head(plan: Plan) -> dict[str, Any]:
    head = {
        "format": PLAN_FORMAT,
        "campaign": plan.campaign,
        "made_at": plan.made_at.isoformat() if plan.made_at else None,
        "ledger_fingerprint": plan.ledger_fingerprint,
        "plan_hash": plan_hash(plan),
        "summary": plan.counts(),
        "later": list(plan.later),
    }
    if plan.later_hashes:  # only with later occurrences: a plan without reads as it did
        head["later_hashes"] = list(plan.later_hashes)
    if plan.owner is not None:  # only when there is one: a plan of a campaign without one is as it was
        head = {"format": PLAN_FORMAT, "campaign": plan.campaign, "owner": plan.owner, **head}
    return head


def _change_to_dict(change: Change) -> dict[str, Any]:
    from postdeck.schemas.delivery_json import delivery_to_dict

    length = change.length
    data: dict[str, Any] = {
        "action": change.action.value,
        "key": change.key,
        "batch_id": change.batch_id,
        "platform": change.platform,
        "repeat": change.delivery.repeat if change.delivery else "",
        "reason": change.reason,
        "length": _length_to_dict(length),
        "delivery": delivery_to_dict(change.delivery) if change.delivery else None,
        "record": _record_to_dict(change.record) if change.record else None,
    }
    if change.part_lengths:  # only a thread's, so every other change reads as before
        data["part_lengths"] = [_length_to_dict(n) for n in change.part_lengths]
    if route := change.route:
        data["route"] = route
    return data


def _length_to_dict(length: CaptionLength | None) -> dict[str, Any] | None:
    return {"length": length.length, "limit": length.limit, "unit": length.unit} if length else None


def plan_from_dict(data: dict[str, Any]) -> Plan:
    from postdeck.schemas.delivery_json import delivery_from_dict

    if data.get("format") != PLAN_FORMAT:
        raise PlanError(f"not a postdeck plan (format {data.get('format')!r}, expected {PLAN_FORMAT!r})")
    try:
        changes = tuple(
            Change(
                action=Action(c["action"]),
                key=c["key"],
                delivery=delivery_from_dict(c["delivery"]) if c.get("delivery") else None,
                record=_record_from_dict(c["record"]) if c.get("record") else None,
                reason=c.get("reason", ""),
                length=CaptionLength(**c["length"]) if c.get("length") else None,
                part_lengths=tuple(CaptionLength(**n) if n else None for n in c.get("part_lengths") or []),
            )
            for c in data["changes"]
        )
        made_at = datetime.fromisoformat(data["made_at"]) if data.get("made_at") else None
        return Plan(
            data["campaign"],
            changes,
            made_at=made_at,
            ledger_fingerprint=data["ledger_fingerprint"],
            later=tuple(str(key) for key in data.get("later") or ()),
            owner=str(data["owner"]) if data.get("owner") and owner_scope(str(data["owner"])) else None,
            later_hashes=tuple(str(h) for h in data.get("later_hashes") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"the saved plan is damaged: {exc}") from None


def save_plan(plan: Plan, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.writelines(plan_json(plan))


def load_plan(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"cannot read plan {path}: {exc}") from None
    return plan_from_dict(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _record_to_dict(record: DeliveryRecord) -> dict[str, Any]:
    values = vars(record)  # not one getattr and _jsonable per field: a plan can hold 40,000 records
    data = {name: values[name] for name in _RECORD_FIELDS}
    for name in _record_fields_to_convert():
        data[name] = _jsonable(data[name])
    return data


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(DeliveryRecord))


@cache
def _record_fields_to_convert() -> tuple[str, ...]:
    """The fields of a DeliveryRecord that JSON cannot hold as they are (times, tuples)."""
    hints = typing.get_type_hints(DeliveryRecord)
    return tuple(
        name for name in _RECORD_FIELDS if "datetime" in str(hints[name]) or "tuple" in str(hints[name])
    )


def _record_from_dict(data: dict[str, Any]) -> DeliveryRecord:
    hints = typing.get_type_hints(DeliveryRecord)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(DeliveryRecord):
        if f.name not in data:
            continue
        value, hint = data[f.name], str(hints[f.name])
        if value is not None and "datetime" in hint:
            value = datetime.fromisoformat(value)
        elif value is not None and "DeliveryStatus" in hint:
            value = DeliveryStatus(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return DeliveryRecord(**values)
