"""Naive wall-clock times made aware in a time zone, refusing the two that daylight saving spoils.

`datetime.replace(tzinfo=zone)` accepts both silently: a time in the spring gap (2027-03-28 02:30 in
Europe/Berlin never happens) comes out an hour off, and a time in the autumn overlap (2027-10-31 02:30
happens twice) silently means the first. A post at a time nobody wrote is worse than an error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


class WallClockError(ValueError):
    """A local time that does not exist, or that happens twice and nothing says which (`ambiguous`)."""

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


def aware_in_zone(moment: datetime, zone: tzinfo, *, fold: int | None = None) -> datetime:
    """`moment` if it is aware, else the wall-clock time `moment` in `zone`.

    Raises WallClockError for a time in a gap (with the nearest valid times), and for a time in an
    overlap unless `fold` says which: 0 the first (before the clocks go back), 1 the second.
    """
    if moment.tzinfo is not None:
        return moment
    first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
    if not _exists(first):
        before, after = _gap(first, second, zone)
        raise WallClockError(
            f"{_wall(moment)} does not exist in {_name(zone)} (the clocks jump forward there): "
            f"the nearest valid times are {_wall(before)} and {_wall(after)}"
        )
    if first.utcoffset() == second.utcoffset():
        return first
    if fold in (0, 1):
        return second if fold else first
    raise WallClockError(
        f"{_wall(moment)} happens twice in {_name(zone)} (the clocks go back there): first as "
        f"{first.isoformat(sep=' ', timespec='minutes')}, then as {second.isoformat(sep=' ', timespec='minutes')}",
        ambiguous=True,
    )


def _exists(local: datetime) -> bool:
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def _gap(first: datetime, second: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """(the last minute before the gap, its end) as wall-clock times, found by bisecting UTC time
    between the two readings of the missing time (fold=1 is earlier in UTC for a gap)."""
    low, high = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    offset_before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    change = high.replace(microsecond=0)
    return (change - timedelta(minutes=1)).astimezone(zone), change.astimezone(zone)


def _wall(moment: datetime) -> str:
    spec = "seconds" if moment.second else "minutes"
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec=spec)


def _name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)
