"""Rules about time at publish time: what happens to a post whose time has already passed.

LATE (Zernio) publishes a past `scheduledFor` at once, Post for Me refuses it: postdeck decides
first, by the campaign's `late` policy (a batch may override it):
  fail         (the default) stop with an error naming each late batch;
  skip         leave late posts out of this run;
  publish_now  send them now (their time becomes None).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from postdeck.core.keys import base_batch_id
from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.delivery import Delivery
from postdeck.schemas.loader import LoadedCampaign
from postdeck.schemas.schedule import time_key
from postdeck.schemas.source import PathKey, dotted


def apply_late_policy(loaded: LoadedCampaign, creates: Sequence[Delivery], now: datetime) -> list[Delivery]:
    """The deliveries to actually create now: late ones skipped, moved to now, or CampaignErrors raised.

    `now` must be timezone-aware. A delivery is late when its time is at or before `now`.
    """
    campaign = loaded.campaign
    positions = {batch.id: i for i, batch in enumerate(campaign.batches)}
    errors: dict[str, CampaignError] = {}
    kept: list[Delivery] = []
    for delivery in creates:
        if delivery.at is None or delivery.at > now:
            kept.append(delivery)
            continue
        position = positions[base_batch_id(delivery.batch_id)]  # an occurrence's batch is its rule's
        batch = campaign.batches[position]
        policy = batch.late or campaign.late
        if policy == "publish_now":
            kept.append(dataclasses.replace(delivery, at=None))
        elif policy == "fail" and delivery.batch_id not in errors:
            errors[delivery.batch_id] = _late_error(loaded, position, delivery)
    if errors:
        raise CampaignErrors(list(errors.values()))
    return kept


def late_failures(
    loaded: LoadedCampaign, deliveries: Sequence[Delivery], now: datetime
) -> list[tuple[tuple[str, ...], CampaignError]]:
    """For `validate`, which has no ledger: each batch under `late: fail` whose time has passed, with
    the keys of its late deliveries (the caller drops those the ledger has: they were published)."""
    campaign = loaded.campaign
    positions = {batch.id: i for i, batch in enumerate(campaign.batches)}
    late: dict[str, tuple[list[str], CampaignError]] = {}
    for delivery in deliveries:
        if delivery.at is None or delivery.at > now:
            continue
        position = positions[delivery.batch_id]
        if (campaign.batches[position].late or campaign.late) != "fail":
            continue
        if delivery.batch_id not in late:
            late[delivery.batch_id] = ([], _late_error(loaded, position, delivery))
        late[delivery.batch_id][0].append(delivery.key)
    return [(tuple(keys), error) for keys, error in late.values()]


def _late_error(loaded: LoadedCampaign, position: int, delivery: Delivery) -> CampaignError:
    batch = loaded.campaign.batches[position]
    key: PathKey = ("batches", loaded.source_index(position), *time_key(batch))
    assert delivery.at is not None
    return CampaignError(
        f"batch '{delivery.batch_id}' was due at {delivery.at.isoformat()}, which has passed",
        location=loaded.source.location(key),
        field=dotted(key),
        fix="move it into the future, or set `late: skip` or `late: publish_now`",
    )


def check_not_in_past(loaded: LoadedCampaign, creates: Sequence[Delivery], now: datetime) -> None:
    """Strict check, whatever the policy: raise CampaignErrors if any create's time has passed.

    Kept for callers that do not apply the policy yet; prefer `apply_late_policy`.
    """
    late = [d for d in creates if d.at is not None and d.at <= now]
    if not late:
        return
    strict = dataclasses.replace(
        loaded,
        campaign=loaded.campaign.model_copy(
            update={
                "late": "fail",
                "batches": [b.model_copy(update={"late": None}) for b in loaded.campaign.batches],
            }
        ),
    )
    apply_late_policy(strict, late, now)
