"""What holds a publish to a plan: the plan's hash (what a reviewer saw, `publish --expect-plan`), and
the stale-plan check of a saved plan against the ledger it was made from.
"""

from __future__ import annotations

import hashlib
import json

from postdeck.engine.plan import Action, Change, Plan, campaign_records, pending_hash
from postdeck.engine.plan_fingerprint import ledger_fingerprint
from postdeck.errors import PlanError, StalePlanError
from postdeck.ledger.base import LedgerReader
from postdeck.schemas.deliveries import Delivery


def plan_shape(plan: Plan) -> list[tuple[str, str, str, str]]:
    """What a plan does, for comparing two plans (`publish --plan`): each change's action, key, and
    what it sends and when (content and schedule hashes)."""
    return [(str(c.action), c.key, *_hashes(c.delivery)) for c in plan.changes]


def _hashes(delivery: Delivery | None) -> tuple[str, str]:
    return (delivery.content_hash, delivery.schedule_hash) if delivery else ("", "")


def _pending_create(change: Change) -> Delivery | None:
    """The occurrence a change creates for the first time (None for any other change)."""
    delivery = change.delivery
    fresh = change.action == Action.CREATE and change.record is None
    return delivery if fresh and delivery is not None and delivery.horizon_days is not None else None


def plan_hash(plan: Plan) -> str:
    """The hash a reviewer sees under the plan and a publish can be held to (`expect_plan`).

    It covers each change's action, key, content and time. A repeating batch's occurrences still to
    be created are one pool with the later ones (beyond the horizon): as the horizon moves between
    review and merge, an occurrence moves from later to create and the hash stays; a changed rule,
    or a changed caption of any occurrence, changes it.
    """
    exact: list[tuple[str, str, str, str]] = []
    pooled = list(plan.later_hashes)
    for change, shape in zip(plan.changes, plan_shape(plan), strict=True):
        if (occurrence := _pending_create(change)) is not None:
            pooled.append(pending_hash(occurrence))
        else:
            exact.append(shape)
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


def check_plan_is_current(plan: Plan, reader: LedgerReader) -> None:
    """Raise StalePlanError if the ledger's records of the campaign changed since the plan was made."""
    current = ledger_fingerprint(campaign_records(reader, plan.campaign, plan.owner))
    if current != plan.ledger_fingerprint:
        made = f" at {plan.made_at.isoformat()}" if plan.made_at else ""
        raise StalePlanError(
            f"the ledger of campaign '{plan.campaign}' changed since this plan was made{made}: "
            "run `postdeck plan` again"
        )
