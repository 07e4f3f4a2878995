"""What one publish run acts on, decided without Prefect: which deliveries, which of the plan's
changes it sends, and the order its reports are shown in. The flow (flows/publish.py) only calls these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from postdeck.core.keys import base_batch_id
from postdeck.engine.generations import lineage
from postdeck.engine.plan import Action, Change, Plan, repost_key
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.loader import LoadedCampaign
from postdeck.schemas.timing import apply_late_policy
from postdeck.schemas.validation import FileReport


def deliveries_of(report: FileReport, only_batches: Sequence[str] | None = None) -> list[Delivery]:
    """The deliveries a valid file's report already rendered (rendering twice would cost as much
    again), optionally of some batches only, in campaign order."""
    wanted = set(only_batches) if only_batches else None
    return [
        p.delivery
        for p in report.prepared
        if wanted is None or base_batch_id(p.delivery.batch_id) in wanted  # a repeat's occurrences too
    ]


def creates_of(plan: Plan, loaded: LoadedCampaign, now: datetime, *, allow_repost: bool) -> list[Delivery]:
    """The deliveries to create now: the plan's creates and drifts (cancelled outside the file: the
    file wins, under a new generation) under each batch's late policy (CampaignErrors for `late:
    fail`), then, with allow_repost, the conflicts under a key of their new content."""
    wanted = [c.delivery for c in plan.changes if c.action in (Action.CREATE, Action.DRIFT) and c.delivery]
    creates = apply_late_policy(loaded, wanted, now)
    if allow_repost:
        reposts = [c.delivery for c in plan.of(Action.CONFLICT) if c.delivery]
        creates += [dataclasses.replace(d, key=repost_key(d)) for d in reposts]
    return creates


def reported_as_is(change: Change, *, allow_repost: bool) -> bool:
    """Changes a run does not act on: unchanged, in flight, and conflicts without allow_repost."""
    return change.action in (Action.UNCHANGED, Action.IN_FLIGHT) or (
        change.action == Action.CONFLICT and not allow_repost
    )


def in_campaign_order(reports: list[dict[str, Any]], deliveries: Sequence[Delivery]) -> list[dict[str, Any]]:
    """Reports in the campaign's order of deliveries (a repost or a later generation beside the
    delivery it replaces); cancels of removed batches last."""
    order = {d.key: i for i, d in enumerate(deliveries)}
    return sorted(reports, key=lambda r: order.get(lineage(r["key"]), len(order)))
