"""What holds a publish to a plan: the plan's hash (what a reviewer saw, `publish --expect-plan`), and
the stale-plan check of a saved plan against the ledger it was made from.
"""

from __future__ import annotations

import hashlib
import json

from postdeck.engine.plan import Plan, campaign_records
from postdeck.engine.plan_fingerprint import ledger_fingerprint
from postdeck.errors import PlanError, StalePlanError
from postdeck.ledger.base import LedgerReader


def plan_shape(plan: Plan) -> list[tuple[str, str, str]]:
    """What a plan does, for comparing two plans: each change's action, key and content hash."""
    return [(str(c.action), c.key, c.delivery.content_hash if c.delivery else "") for c in plan.changes]


def plan_hash(plan: Plan) -> str:
    """Of what the plan does (its shape, as a saved plan is compared by `publish --plan`): the hash a
    reviewer sees under the plan and a publish can be held to (`expect_plan`)."""
    return hashlib.sha256(json.dumps([plan.campaign, plan_shape(plan)]).encode()).hexdigest()


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
