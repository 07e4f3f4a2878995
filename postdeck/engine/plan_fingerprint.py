"""The ledger fingerprint: a hash of the ledger records a plan was made from, of the fields that can
change what the plan would do, so a saved plan can be refused once the ledger has moved on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from postdeck.ledger.records import DeliveryRecord

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
    rows = sorted(json.dumps([jsonable(getattr(r, name)) for name in _FINGERPRINTED]) for r in records)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def jsonable(value: Any) -> Any:
    """A record's value as JSON holds it: times as ISO text, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
