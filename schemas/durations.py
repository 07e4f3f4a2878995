"""Durations as campaigns write them: '30m', '6h', '1d', '1h30m' (no ISO 8601: easier to review)."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

DURATION_PATTERN = r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$"
_DURATION = re.compile(DURATION_PATTERN)


@cache
def parse_duration(text: str) -> timedelta:
    """'15m', '3h', '1d', '1h30m' → timedelta. Raises ValueError for anything else, or zero."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"'{text}' is not a duration (use e.g. 30m, 6h, 1d, 1h30m)")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if not duration:
        raise ValueError(f"'{text}' is zero: use a positive duration")
    return duration


def _positive(value: str) -> str:
    parse_duration(value)  # raises for zero
    return value


Duration = Annotated[
    str, StringConstraints(pattern=DURATION_PATTERN, min_length=2), AfterValidator(_positive)
]
"""A positive duration field of a campaign file ('30m', '6h', '1d', '1h30m')."""


def in_words(span: timedelta) -> str:
    """'1 day, 2 hours', '45 minutes', '30 seconds': a span as messages give it."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}" + ("s" if count != 1 else ""))
    return ", ".join(parts) or "0 seconds"
