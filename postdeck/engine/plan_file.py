"""A plan as JSON: the document `plan --out` saves and `publish --plan` reads back (PLAN_FORMAT),
written one change a line so a plan of 40,000 changes stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from postdeck.core.keys import owner_scope
from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import Action, Change, Plan
from postdeck.engine.plan_checks import plan_hash
from postdeck.engine.plan_fingerprint import jsonable
from postdeck.errors import PlanError
from postdeck.ledger.records import DeliveryRecord
from postdeck.schemas.deliveries import CaptionLength

PLAN_FORMAT = "postdeck-plan/1"


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
            later_hashes=tuple(str(h) for h in data.get("later_hashes") or ()),
            owner=str(data["owner"]) if data.get("owner") and owner_scope(str(data["owner"])) else None,
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


def _record_to_dict(record: DeliveryRecord) -> dict[str, Any]:
    values = vars(record)  # not one getattr and _jsonable per field: a plan can hold 40,000 records
    data = {name: values[name] for name in _RECORD_FIELDS}
    for name in _record_fields_to_convert():
        data[name] = jsonable(data[name])
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
