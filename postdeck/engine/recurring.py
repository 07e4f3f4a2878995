"""Occurrences of repeating batches that come within the horizon after their rule was published.

`publish` plans only the occurrences within the campaign's `horizon_days` of its `now`; the later
ones are published by the scheduled sync deployment (flows/sync.py) as time brings them within
it. What the sync sends is decided here, without Prefect: the plan's creates of occurrences of a
campaign the ledger already knows (a campaign nobody has published yet waits for `publish`: the
review gate), whose time has not passed (a late one is `publish`'s, under its late policy).

The ledger knows a campaign by its deliveries, or else by a recorded publish run: a campaign whose
every occurrence was beyond the horizon when it was published has no delivery yet, only its run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from postdeck.engine.plan import Action, campaign_owner, campaign_records, make_plan
from postdeck.engine.source import campaign_source, check_clean
from postdeck.ledger.base import CampaignRuns, LedgerReader
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.loader import LoadedCampaign


class KnownCampaigns(LedgerReader, CampaignRuns, Protocol):
    """What the sync asks the ledger: a campaign's deliveries, and its publish runs."""


def published_before(campaign: str, reader: KnownCampaigns, owner: str | None = None) -> bool:
    """Whether `publish` ran for this owner's campaign: it has deliveries, or (every occurrence beyond
    the horizon then) a recorded run. A dry run records nothing, so it does not count. Runs are
    matched by campaign name only."""
    return bool(campaign_records(reader, campaign, owner)) or bool(reader.campaign_runs(campaign, limit=1))


def due_occurrences(
    campaign: str, deliveries: Sequence[Delivery], reader: KnownCampaigns, now: datetime
) -> list[Delivery]:
    """The occurrences the sync creates at `now`, in campaign order."""
    owner = campaign_owner(deliveries)
    if not published_before(campaign, reader, owner):  # another user's campaign of this name is not it
        return []
    plan = make_plan(campaign, deliveries, reader, now, include_cancels=False, owner=owner)
    return [
        change.delivery
        for change in plan.of(Action.CREATE)
        if change.delivery is not None
        and change.delivery.horizon_days is not None
        and change.delivery.at is not None
        and change.delivery.at > now
    ]


def by_occurrence(deliveries: Sequence[Delivery]) -> list[list[Delivery]]:
    """One group per occurrence: each is its own provider post, like a batch."""
    groups: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.batch_id, []).append(delivery)
    return list(groups.values())


def require_committed(campaign: LoadedCampaign, deliveries: Sequence[Delivery]) -> None:
    """As `publish` does for the working tree: what the campaign reads must be its commit's (a
    reviewed one), not uncommitted edits (CampaignError naming them)."""
    reads = [campaign.templates_folder, *(m.path for d in deliveries for m in d.media if m.path)]
    with campaign_source(str(campaign.path), None) as source:
        check_clean(source, reads, allow_dirty=False, campaign=str(campaign.path))
