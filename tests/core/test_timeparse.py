"""Times as people write them (seed 002's `when=`), always ending up aware and in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postdeck.timeparse import TimeParseError, parse_duration, parse_since, parse_when, require_future

# The day before Berlin moves its clocks forward (2030-03-31, 02:00 → 03:00).
NOW = datetime(2030, 3, 30, 10, 0, tzinfo=UTC)
BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW + timedelta(minutes=30)),
        ("1h", NOW + timedelta(hours=1)),
        ("1h30m", NOW + timedelta(minutes=90)),
        ("2d", NOW + timedelta(days=2)),
        ("1w", NOW + timedelta(weeks=1)),
        ("in 2h", NOW + timedelta(hours=2)),
        ("+90m", NOW + timedelta(minutes=90)),
    ],
)
def test_relative_durations_count_from_now(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW, zone=BERLIN) == expected


@pytest.mark.parametrize("text", ["now", "NOW", "", "  ", "immediately"])
def test_now_means_publish_immediately(text: str) -> None:
    assert parse_when(text, now=NOW) is None
    assert parse_when(None, now=NOW) is None


def test_natural_language_is_local_time_and_follows_daylight_saving() -> None:
    # 15:00 in Berlin on the 31st is summer time (UTC+2); the day before it was UTC+1.
    assert parse_when("tomorrow at 3pm", now=NOW, zone=BERLIN) == datetime(2030, 3, 31, 13, tzinfo=UTC)
    assert parse_when("tonight", now=NOW, zone=BERLIN).astimezone(ZoneInfo(BERLIN)).hour == 20
    monday = parse_when("next Monday at 10am", now=NOW, zone=BERLIN)
    assert monday == datetime(2030, 4, 1, 8, tzinfo=UTC)


def test_utc_flag_reads_naive_times_as_utc() -> None:
    assert parse_when("tomorrow at 3pm", now=NOW, utc=True) == datetime(2030, 3, 31, 15, tzinfo=UTC)
    assert parse_when("2030-06-01T09:00", now=NOW, utc=True) == datetime(2030, 6, 1, 9, tzinfo=UTC)


def test_iso_times_use_their_offset_or_the_zone() -> None:
    assert parse_when("2030-06-01T09:00", now=NOW, zone=BERLIN) == datetime(2030, 6, 1, 7, tzinfo=UTC)
    assert parse_when("2030-06-01T09:00Z", now=NOW, zone=BERLIN) == datetime(2030, 6, 1, 9, tzinfo=UTC)
    assert parse_when("2030-06-01T09:00+05:30", now=NOW) == datetime(2030, 6, 1, 3, 30, tzinfo=UTC)


def test_datetimes_and_unix_times() -> None:
    naive = datetime(2030, 6, 1, 9, 0)
    assert parse_when(naive, zone=BERLIN) == datetime(2030, 6, 1, 7, tzinfo=UTC)
    assert parse_when(1_900_000_000) == datetime.fromtimestamp(1_900_000_000, UTC)
    assert parse_when("1900000000") == datetime.fromtimestamp(1_900_000_000, UTC)


def test_nonsense_is_one_clear_error() -> None:
    with pytest.raises(TimeParseError, match="cannot tell when 'whenever you like' is"):
        parse_when("whenever you like", now=NOW)


def test_durations_and_since() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("tomorrow") is None
    assert parse_since("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_since("2030-03-01", now=NOW, utc=True) == datetime(2030, 3, 1, tzinfo=UTC)


def test_past_times_are_refused() -> None:
    require_future(None, now=NOW)
    require_future(NOW + timedelta(seconds=1), now=NOW)
    with pytest.raises(TimeParseError, match="has passed"):
        require_future(NOW - timedelta(minutes=1), now=NOW)


@pytest.mark.parametrize(
    "text", ["2027-13-05", "2027-13-05 09:00", "2027-02-30", "2027-12-05T25:00", "2027-1-5"]
)
def test_what_looks_like_an_iso_date_is_iso_or_an_error(text: str) -> None:
    """dateparser would read 2027-13-05 day-first (13 May) without a word: an ISO-looking value is
    read strictly as ISO 8601, or refused naming it."""
    with pytest.raises(TimeParseError, match=f"'{text}' is not a valid ISO 8601 date"):
        parse_when(text, now=NOW, zone=BERLIN)
    with pytest.raises(TimeParseError, match=f"'{text}' is not a valid ISO 8601 date"):
        parse_since(text, now=NOW)


def test_valid_iso_dates_still_parse() -> None:
    assert parse_when("2030-12-05", now=NOW, utc=True) == datetime(2030, 12, 5, tzinfo=UTC)
    assert parse_when("2030-12-05 09:00:30", now=NOW, utc=True) == datetime(2030, 12, 5, 9, 0, 30, tzinfo=UTC)


def test_local_times_spoilt_by_daylight_saving_are_refused() -> None:
    # Berlin: 2030-03-31 02:30 never happens; 2030-10-27 02:30 happens twice.
    with pytest.raises(TimeParseError, match=r"does not exist in Europe/Berlin.*01:59 and 2030-03-31 03:00"):
        parse_when("2030-03-31 02:30", now=NOW, zone=BERLIN)
    with pytest.raises(TimeParseError, match=r"happens twice in Europe/Berlin.*offset"):
        parse_when("2030-10-27 02:30", now=NOW, zone=BERLIN)
    with pytest.raises(TimeParseError, match="does not exist"):
        parse_when("tomorrow at 2:30am", now=NOW, zone=BERLIN)
    assert parse_when("2030-10-27 02:30+01:00", now=NOW, zone=BERLIN) == datetime(
        2030, 10, 27, 1, 30, tzinfo=UTC
    )


def test_seconds_are_kept() -> None:
    assert parse_when("1m", now=NOW.replace(second=12)) == NOW.replace(minute=1, second=12)
