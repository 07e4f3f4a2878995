"""When each batch goes out: its own `at`, else its slot in the campaign's cadence, else now.

Times are always made timezone-aware: naive ones are read in the campaign's timezone, and one that
does not exist there (the spring gap) or happens twice (the autumn overlap, without a `fold`) is an
error (wall_clock.py). A cadence steps in wall-clock time when its start is naive, so "every 1d at
09:00" stays at 09:00 across a daylight-saving change; its later slots are read leniently (the first
reading of a doubled time, the shifted one of a missing time) rather than refusing the campaign.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from postdeck.errors import CampaignError
from postdeck.schemas.campaign import Batch, Campaign
from postdeck.schemas.durations import parse_duration
from postdeck.schemas.source import dotted
from postdeck.schemas.wall_clock import WallClockError, aware_in_zone

if TYPE_CHECKING:
    from postdeck.schemas.loader import LoadedCampaign

# Told where (("batches", position, "at") or ("cadence", "start")) a time could not be made aware.
OnError = Callable[[tuple[str | int, ...], WallClockError], None]


def batch_times(campaign: Campaign, on_error: OnError | None = None) -> list[datetime | None]:
    """The aware UTC time of each of campaign.batches (None: publish now).

    A time spoilt by daylight saving raises WallClockError, or, given `on_error`, is reported there
    and read leniently so the rest of the campaign can still be checked.
    """
    times: list[datetime | None] = []
    slot = 0
    if campaign.cadence is not None and any(batch.at is None for batch in campaign.batches):
        _checked(campaign.cadence.start, campaign, campaign.cadence.fold, ("cadence", "start"), on_error)
    for position, batch in enumerate(campaign.batches):
        if batch.at is not None:
            times.append(_checked(batch.at, campaign, batch.fold, ("batches", position, "at"), on_error))
        elif campaign.cadence is not None:
            times.append(cadence_slot(campaign, slot))
            slot += 1
        else:
            times.append(None)
    return times


def campaign_times(loaded: LoadedCampaign) -> tuple[list[datetime | None], list[CampaignError]]:
    """batch_times of a loaded campaign, with its daylight-saving errors located in the file."""
    errors: list[CampaignError] = []

    def located(key: tuple[str | int, ...], problem: WallClockError) -> None:
        if key[0] == "batches":
            key = ("batches", loaded.source_index(int(key[1])), *key[2:])
        fix = (
            "say which: `fold: 0` (the first) or `fold: 1` (the second) next to it, or the UTC offset in the time"
            if problem.ambiguous
            else "pick a time that exists in the campaign's timezone"
        )
        errors.append(
            CampaignError(str(problem), location=loaded.source.location(key), field=dotted(key), fix=fix)
        )

    return batch_times(loaded.campaign, located), errors


def cadence_slot(campaign: Campaign, slot: int) -> datetime:
    cadence = campaign.cadence
    assert cadence is not None
    step = parse_duration(cadence.every) * slot
    if cadence.start.tzinfo is None:
        fold = (cadence.fold or 0) if slot == 0 else 0
        return (cadence.start + step).replace(tzinfo=campaign.zone, fold=fold).astimezone(UTC)
    return (cadence.start + step).astimezone(UTC)


def to_utc(moment: datetime, campaign: Campaign, fold: int | None = None) -> datetime:
    """`moment` in UTC, a naive one read in the campaign's timezone (WallClockError if it cannot be)."""
    return aware_in_zone(moment, campaign.zone, fold=fold).astimezone(UTC)


def _checked(
    moment: datetime,
    campaign: Campaign,
    fold: int | None,
    key: tuple[str | int, ...],
    on_error: OnError | None,
) -> datetime:
    try:
        return to_utc(moment, campaign, fold)
    except WallClockError as problem:
        if on_error is None:
            raise
        on_error(key, problem)
        return moment.replace(tzinfo=campaign.zone, fold=fold or 0).astimezone(UTC)


def time_key(batch: Batch) -> tuple[str, ...]:
    """Where a batch's time was written (for error locations): its `at`, else its id."""
    return ("at",) if batch.at is not None else ("id",)
