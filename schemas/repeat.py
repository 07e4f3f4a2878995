"""The occurrences of a repeating batch: when each goes out, its key's date and its caption.

Repetition steps in wall-clock time in the campaign's timezone: a weekly post at 09:00 stays at
09:00 local when the clocks change (its UTC time moves by the hour). The first occurrence is the
batch's own `at`, checked strictly (schedule.py); a later one that lands in the spring gap or the
autumn overlap is read leniently, as a cadence's later slots are: the first reading of a doubled
time, the shifted one of a missing time.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from postdeck.core.keys import occurrence_batch_id
from postdeck.schemas.campaign import MAX_OCCURRENCES, Repeat
from postdeck.schemas.wall_clock import WallClockError, aware_in_zone

_EVERY = re.compile(r"([1-9][0-9]*)(d|w|mo)")


@dataclass(frozen=True, slots=True)
class Occurrence:
    number: int  # 1-based
    total: int
    batch_id: str  # `weekly@2026-12-14`: the batch id and the local date
    at: datetime  # aware, UTC
    caption: int  # 0: the batch's caption; k ≥ 1: repeat.captions[k - 1]


class RepeatError(ValueError):
    """A rule that yields no occurrence, or too many to check."""


def occurrences(batch_id: str, first: datetime, zone: tzinfo, repeat: Repeat) -> list[Occurrence]:
    """Every occurrence of a batch whose first goes out at `first` (aware)."""
    start = first.astimezone(zone).replace(tzinfo=None)
    times: list[datetime] = []
    while repeat.count is None or len(times) < repeat.count:
        local = step(start, repeat.every, len(times))
        if repeat.until is not None and local.date() > repeat.until:
            break
        if len(times) == MAX_OCCURRENCES:
            raise RepeatError(
                f"more than {MAX_OCCURRENCES} occurrences before {repeat.until}: end the repeat sooner"
            )
        times.append(first.astimezone(UTC) if not times else _lenient(local, zone))
    if not times:
        raise RepeatError(f"no occurrence: `until` ({repeat.until}) is before the batch's first time")
    rotation = 1 + len(repeat.captions)
    return [
        Occurrence(
            number=i + 1,
            total=len(times),
            batch_id=occurrence_batch_id(batch_id, _local_day(at, zone)),
            at=at,
            caption=i % rotation,
        )
        for i, at in enumerate(times)
    ]


def step(start: datetime, every: str, n: int) -> datetime:
    """The wall-clock time `n` steps of `every` after `start` (months keep the day, or the last)."""
    match = _EVERY.fullmatch(every)
    if match is None:
        raise ValueError(f"'{every}' is not a repeat interval (use e.g. 1d, 2w, 1mo)")
    amount, unit = int(match.group(1)) * n, match.group(2)
    if unit == "d":
        return start + timedelta(days=amount)
    if unit == "w":
        return start + timedelta(weeks=amount)
    year, month = divmod(start.month - 1 + amount, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


def rule_text(repeat: Repeat, occurrence: Occurrence) -> str:
    """How the plan shows an occurrence's rule: `every 1w, 2 of 3`."""
    end = f" until {repeat.until.isoformat()}" if repeat.until is not None else ""
    rotation = f", caption {occurrence.caption + 1} of {1 + len(repeat.captions)}" if repeat.captions else ""
    return f"every {repeat.every}{end}, {occurrence.number} of {occurrence.total}{rotation}"


def _lenient(local: datetime, zone: tzinfo) -> datetime:
    try:
        return aware_in_zone(local, zone).astimezone(UTC)
    except WallClockError:
        return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _local_day(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()
