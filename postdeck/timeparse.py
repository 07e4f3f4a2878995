"""When a post goes out, as people say it: "now", "30m", "2d", "tomorrow at 3pm", ISO, a Unix time.

Seed 002's `when=`: relative durations, natural language (dateparser, English), datetimes and Unix
timestamps. Naive times are read in the local time zone (the machine's IANA zone, which follows
daylight saving) unless `utc=True`. Every result is timezone-aware; `None` means "publish now".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from postdeck.errors import PostdeckError
from postdeck.schemas.wall_clock import WallClockError, aware_in_zone

NOW_WORDS = frozenset({"", "now", "immediately", "asap"})
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
# "30m", "1h30m", "2d", "+90m", "in 2h": parsed here, exactly, rather than by dateparser's heuristics.
_DURATION = re.compile(r"^(?:in\s+|\+)?((?:\d+\s*[wdhms]\s*)+)$", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s*([wdhms])", re.IGNORECASE)
_UNIX = re.compile(r"^\d{9,11}$")  # seconds since 1970: 1973 to 5138
# A value that starts like an ISO date is read as ISO 8601 only: dateparser would read 2027-13-05
# day-first (13 May) without a word.
_ISO_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")


class TimeParseError(PostdeckError):
    """A time or duration that cannot be understood."""


def local_zone() -> tzinfo:
    """The machine's IANA time zone (TZ, /etc/localtime), so future times get the right DST offset."""
    import os

    name = os.environ.get("TZ", "").lstrip(":")  # the OS's variable, not a postdeck setting
    if name:  # read every time (tzlocal caches its answer; tests and users change TZ)
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError):
            pass
    import tzlocal  # a dependency of dateparser

    try:
        return tzlocal.get_localzone()
    except Exception:  # an unreadable or unknown local zone: say UTC rather than guess an offset
        return UTC


def zone_for(*, utc: bool = False, zone: tzinfo | str | None = None) -> tzinfo:
    if utc:
        return UTC
    if isinstance(zone, str):
        return ZoneInfo(zone)
    return zone or local_zone()


def parse_duration(text: str) -> timedelta | None:
    """'30m', '1h30m', '2d', '1w', '+90m', 'in 2h' → timedelta; None when text is not a duration."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    total = timedelta()
    for amount, unit in _PART.findall(match.group(1)):
        total += timedelta(**{_UNITS[unit.lower()]: int(amount)})
    return total


def parse_when(
    value: str | datetime | int | float | None,
    *,
    now: datetime | None = None,
    utc: bool = False,
    zone: tzinfo | str | None = None,
) -> datetime | None:
    """An aware UTC datetime, or None for "now". Raises TimeParseError for what it cannot read."""
    tz = zone_for(utc=utc, zone=zone)
    now = now or datetime.now(UTC)
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value, tz).astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_unix(value)
    text = str(value).strip()
    if text.lower() in NOW_WORDS:
        return None
    duration = parse_duration(text)
    if duration is not None:
        return (now + duration).astimezone(UTC)
    if _UNIX.match(text):
        return _from_unix(int(text))
    if _ISO_LIKE.match(text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise TimeParseError(
                f"'{text}' is not a valid ISO 8601 date and time: write YYYY-MM-DD, "
                "YYYY-MM-DD HH:MM[:SS] or add an offset (2030-06-01T09:00+02:00)"
            ) from None
        return _aware(moment, tz).astimezone(UTC)
    return _natural(text, now, tz)


def parse_since(value: str, *, now: datetime | None = None, utc: bool = False) -> datetime:
    """A cut-off in the past: '7d' means seven days before now; dates and times are read as given."""
    now = now or datetime.now(UTC)
    duration = parse_duration(value)
    if duration is not None:
        return now - duration
    moment = parse_when(value, now=now, utc=utc)
    if moment is None:
        return now
    return moment


def require_future(moment: datetime | None, *, now: datetime | None = None, what: str = "the post") -> None:
    """Refuse a time that has passed: providers either refuse it or publish it at once, silently."""
    now = now or datetime.now(UTC)
    if moment is not None and moment <= now:
        raise TimeParseError(
            f"{what} would go out at {moment.isoformat(timespec='minutes')}, which has passed: "
            "give a future time, or leave it out to publish now"
        )


def _aware(moment: datetime, tz: tzinfo) -> datetime:
    """A naive time read in `tz`: refused if the clocks skip it or pass it twice there."""
    try:
        return aware_in_zone(moment, tz)
    except WallClockError as problem:
        hint = ": write the UTC offset in the time to say which" if problem.ambiguous else ""
        raise TimeParseError(f"{problem}{hint}") from None


def _from_unix(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise TimeParseError(f"{seconds} is not a Unix time") from None


def _natural(text: str, now: datetime, tz: tzinfo) -> datetime:
    import dateparser  # slow to import: only when a phrase needs it

    zone_name = getattr(tz, "key", None) or ("UTC" if tz is UTC else None)
    base = now.astimezone(tz).replace(tzinfo=None)  # dateparser wants a naive base in TIMEZONE
    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "future",  # "monday 9am" is the coming Monday
        "RETURN_AS_TIMEZONE_AWARE": False,
        "TIMEZONE": zone_name or "UTC",
    }
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    if parsed is None:
        raise TimeParseError(
            f"cannot tell when '{text}' is: use now, 30m, 2d, 'tomorrow at 3pm', "
            "'next Monday at 10am' or 2030-06-01T09:00"
        )
    if parsed.tzinfo is not None:  # the phrase named its own zone ("9am CET")
        return parsed.astimezone(UTC)
    return _aware(parsed, tz).astimezone(UTC)


__all__ = [
    "TimeParseError",
    "local_zone",
    "parse_duration",
    "parse_since",
    "parse_when",
    "require_future",
    "zone_for",
]
