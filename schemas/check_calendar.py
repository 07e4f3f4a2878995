"""Rules across the whole calendar (of every file validated together): duplicate captions to one
account where the platform rejects them, and posting caps per account per time window.

Caps count only what postdeck schedules itself, so they are a lower bound of what the account
posts. Batches without a time ("now") are counted as one burst. The rules see slim `Entry`
records, which travel cheaply between processes when `validate` checks files in parallel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from postdeck.errors import CampaignError, Location
from postdeck.schemas.expansion import Prepared
from postdeck.schemas.findings import PLATFORM_NAMES, Findings
from postdeck.schemas.rules import Rules
from postdeck.schemas.source import PathKey, dotted

_SPACES = re.compile(r"\s+")


class Entry(NamedTuple):
    """What the calendar rules need to know of one delivery: plain values, cheap to send between
    processes when `validate` checks files in parallel."""

    account: tuple[str, str, str]  # (owner, platform, handle)
    platform: str
    at: datetime | None
    caption: str  # only where duplicates matter, else ""
    placement: str | None
    batch_id: str
    file: str
    batch_index: int
    caption_key: PathKey
    caption_at: tuple[int | None, int | None]  # line, column
    time_key: PathKey
    time_at: tuple[int | None, int | None]

    @property
    def order(self) -> tuple[datetime, str, int]:
        return (self.at or _EPOCH, self.file, self.batch_index)

    def where(self, *, on_time: bool) -> Location:
        return Location(self.file, *(self.time_at if on_time else self.caption_at))

    def error(self, message: str, fix: str, *, on_time: bool) -> CampaignError:
        key = self.time_key if on_time else self.caption_key
        return CampaignError(message, location=self.where(on_time=on_time), field=dotted(key), fix=fix)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entry_of(item: Prepared, *, keep_caption: bool = True) -> Entry:
    delivery, caption_key, time_key = item.delivery, item.resolved.caption_at, item.time_key
    caption_at, time_at = item.location(caption_key), item.location(time_key)
    return Entry(
        account=item.account,
        platform=item.account[1],
        at=delivery.at,
        caption=delivery.caption if keep_caption else "",
        placement=delivery.options.get("placement"),
        batch_id=delivery.batch_id,
        file=caption_at.path,
        batch_index=item.batch_index,
        caption_key=caption_key,
        caption_at=(caption_at.line, caption_at.column),
        time_key=time_key,
        time_at=(time_at.line, time_at.column),
    )


def entries_of(items: Iterable[Prepared], rules: Rules) -> list[Entry]:
    """The calendar's view of rendered deliveries (captions kept only where duplicates matter)."""
    return [
        entry_of(item, keep_caption=rules.of(item.delivery.platform).duplicate_captions) for item in items
    ]


def check_calendar(items: Iterable[Prepared | Entry], rules: Rules, out: Findings) -> None:
    by_account: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for item in items:
        entry = item if isinstance(item, Entry) else entry_of(item)
        by_account[entry.account].append(entry)
    for entries in by_account.values():
        platform_rules = rules.of(entries[0].platform)
        if platform_rules.duplicate_captions:
            _duplicates(entries, out)
        for cap in platform_rules.caps:
            counted = [e for e in entries if cap.placement in (None, e.placement)]
            _cap(counted, cap.limit, cap.span, cap.window, cap.cited, out)


def _duplicates(entries: list[Entry], out: Findings) -> None:
    first: dict[str, Entry] = {}
    for entry in sorted(entries, key=lambda e: e.order):
        text = _SPACES.sub(" ", entry.caption).strip().casefold()
        if text not in first:
            first[text] = entry
            continue
        earlier = first[text]
        message = (
            f"{entry.platform}: same caption as batch '{earlier.batch_id}' ({earlier.where(on_time=False)}) "
            f"to the same account: {PLATFORM_NAMES[entry.platform]} rejects duplicate posts"
        )
        out.add("error", entry.error(message, "reword one of them", on_time=False))


def _cap(
    entries: Sequence[Entry], limit: int, span: timedelta, window: str, cited: str, out: Findings
) -> None:
    if len(entries) <= limit:
        return
    now_entries = [e for e in entries if e.at is None]
    timed = sorted((e for e in entries if e.at is not None), key=lambda e: e.order)
    for group in (now_entries, timed):
        start = 0
        for end, entry in enumerate(group):
            at = entry.at
            while at is not None and group[start].at <= at - span:  # type: ignore[operator]
                start += 1
            if end - start + 1 > limit:
                message = (
                    f"{entry.platform}: post {end - start + 1} within {window} for this account "
                    f"(at {at.isoformat() if at else 'now'}); {PLATFORM_NAMES[entry.platform]} allows {limit} [{cited}]"
                )
                fix = f"space the batches out (at most {limit} per {window})"
                out.add("error", entry.error(message, fix, on_time=True))
                break  # once per account and cap is enough to act on
