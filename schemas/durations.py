"""Durations as campaigns write them: '30m', '6h', '1d', '1h30m' (no ISO 8601: easier to review)."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache

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
