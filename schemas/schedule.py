"""When each batch goes out: its own `at`, else its slot in the campaign's cadence, else now.

Times are always made timezone-aware: naive ones are read in the campaign's timezone. A cadence
steps in wall-clock time when its start is naive, so "every 1d at 09:00" stays at 09:00 across a
daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from postdeck.schemas.campaign import Batch, Campaign
from postdeck.schemas.durations import parse_duration


def batch_times(campaign: Campaign) -> list[datetime | None]:
    """The aware UTC time of each of campaign.batches (None: publish now)."""
    times: list[datetime | None] = []
    slot = 0
    for batch in campaign.batches:
        if batch.at is not None:
            times.append(to_utc(batch.at, campaign))
        elif campaign.cadence is not None:
            times.append(cadence_slot(campaign, slot))
            slot += 1
        else:
            times.append(None)
    return times


def cadence_slot(campaign: Campaign, slot: int) -> datetime:
    cadence = campaign.cadence
    assert cadence is not None
    step = parse_duration(cadence.every) * slot
    if cadence.start.tzinfo is None:
        return (cadence.start + step).replace(tzinfo=campaign.zone).astimezone(UTC)
    return (cadence.start + step).astimezone(UTC)


def to_utc(moment: datetime, campaign: Campaign) -> datetime:
    local = moment if moment.tzinfo else moment.replace(tzinfo=campaign.zone)
    return local.astimezone(UTC)


def time_key(batch: Batch) -> tuple[str, ...]:
    """Where a batch's time was written (for error locations): its `at`, else its id."""
    return ("at",) if batch.at is not None else ("id",)
