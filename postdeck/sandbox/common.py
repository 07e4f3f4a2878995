"""Small helpers shared by the provider simulators: ids, timestamps, the clock tests move, JSON state
files, the counts in their stats.

Nothing here knows a vendor's wire format; each simulator module owns its own.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_NANOID_ALPHABET = string.digits + string.ascii_letters  # [0-9a-zA-Z], as PostForMe's hash ids


def nanoid(size: int = 21) -> str:
    """Random id of `size` characters from [0-9a-zA-Z]."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


def hex_id(size: int = 24) -> str:
    """Random lowercase hex id (24 characters is a Mongo ObjectId)."""
    return secrets.token_hex((size + 1) // 2)[:size]


def digits(size: int) -> str:
    """Random decimal id without a leading zero (tweet ids, pin ids...)."""
    return str(secrets.randbelow(9) + 1) + "".join(secrets.choice(string.digits) for _ in range(size - 1))


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """A simulator's notion of now (aware UTC): its `clock` (the wall clock when None), as tests move it.

        sim.advance_clock(15 * 60)   # 15 minutes later, and still running (a stopped clock stays stopped)
        sim.set_now(moment)          # stopped at `moment` until advanced or reset
        sim.reset_clock()            # `clock` again, as it runs

    Mixed into both simulators' state classes; everything they date or compare reads `now()`."""

    clock: Callable[[], datetime] | None = None
    # (stopped at, shifted by), replaced as one value so a request never sees half a change.
    _clock_shift: tuple[datetime | None, timedelta] = (None, timedelta())

    def now(self) -> datetime:
        stopped, shift = self._clock_shift
        return (stopped if stopped is not None else (self.clock or utc_now)()) + shift

    def set_now(self, moment: datetime) -> None:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("set_now needs a timezone-aware datetime")
        self._clock_shift = (moment.astimezone(UTC), timedelta())

    def advance_clock(self, seconds: float) -> datetime:
        """Move the clock on by `seconds` (back, if negative); returns the new now."""
        stopped, shift = self._clock_shift
        self._clock_shift = (stopped, shift + timedelta(seconds=seconds))
        return self.now()

    def reset_clock(self) -> None:
        self._clock_shift = (None, timedelta())


def pg_timestamp(moment: datetime) -> str:
    """A timestamptz as PostgREST prints it: `2025-08-14T12:34:56.789012+00:00`, fraction trimmed."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}+00:00" if fraction else f"{text}+00:00"


def js_iso(moment: datetime) -> str:
    """A timestamp as JavaScript's Date.toISOString prints it: `2025-08-14T12:34:56.789Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO timestamp (with `Z` or an offset); naive values are taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any | None:
    """The JSON in path, or None if there is no such file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def status_counts(posts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many posts are in each status, in the order the statuses first appear (for stats())."""
    return dict(Counter(post["status"] for post in posts))


def fault_stats(faults: Any) -> dict[str, dict[str, int]]:
    """What a FaultInjector fired, by kind and by operation (for stats())."""
    return {"faults_fired": dict(faults.fired), "faults_fired_ops": dict(faults.fired_ops)}
