"""Rules across the whole calendar (of every file validated together): duplicate captions to one
account where the platform rejects them, and posting caps per account per time window.

Caps count only what postdeck schedules itself, so they are a lower bound of what the account
posts. Batches without a time ("now") are counted as one burst. The rules see slim `Entry`
records, which travel cheaply between processes when `validate` checks files in parallel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
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


def entry_of(item: Prepared, *, keep_caption: bool = True, shared: _Shared | None = None) -> Entry:
    delivery, caption_key, time_key = item.delivery, item.resolved.caption_at, item.time_key
    shared = shared if shared is not None else _Shared()
    file, caption_at = shared.where(item, caption_key)
    account = shared.one(item.account)
    return Entry(
        account=account,
        platform=account[1],
        at=delivery.at,
        caption=delivery.caption if keep_caption else "",
        placement=delivery.options.get("placement"),
        batch_id=delivery.batch_id,
        file=file,
        batch_index=item.batch_index,
        caption_key=caption_key,
        caption_at=caption_at,
        time_key=time_key,
        time_at=shared.where(item, time_key)[1],
    )


def entries_of(items: Iterable[Prepared], rules: Rules) -> list[Entry]:
    """The calendar's view of rendered deliveries (captions kept only where duplicates matter)."""
    shared = _Shared()
    keep = {p: rules.of(p).duplicate_captions for p in rules.platforms}
    return [entry_of(item, keep_caption=keep[item.delivery.platform], shared=shared) for item in items]


class _Shared:
    """One object for each distinct location and account: the platforms of a batch share its time
    and mostly its caption, and pickle sends a shared object once (to `validate`'s parent)."""

    def __init__(self) -> None:
        self._where: dict[tuple[int, PathKey], tuple[str, tuple[int | None, int | None]]] = {}
        self._accounts: dict[tuple[str, str, str], tuple[str, str, str]] = {}

    def where(self, item: Prepared, key: PathKey) -> tuple[str, tuple[int | None, int | None]]:
        """(file, (line, column)) of `key` in the item's file."""
        found = self._where.get((id(item.loaded), key))
        if found is None:
            location = item.location(key)
            found = self._where[(id(item.loaded), key)] = (location.path, (location.line, location.column))
        return found

    def one(self, account: tuple[str, str, str]) -> tuple[str, str, str]:
        return self._accounts.setdefault(account, account)


def check_calendar(items: Iterable[Prepared | Entry], rules: Rules, out: Findings) -> None:
    by_account: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for item in items:
        entry = item if isinstance(item, Entry) else entry_of(item)
        by_account[entry.account].append(entry)
    for entries in by_account.values():
        platform_rules = rules.of(entries[0].platform)
        ordered = sorted(entries, key=_order)  # once per account, for every rule below
        if platform_rules.duplicate_captions:
            _duplicates(ordered, out)
        for cap in platform_rules.caps:
            if len(entries) <= cap.limit:
                continue  # too few to break the cap, whatever the placements
            # Posts "now" count as one burst, in the order they were written.
            now = [e for e in entries if e.at is None and cap.placement in (None, e.placement)]
            timed = [e for e in ordered if e.at is not None and cap.placement in (None, e.placement)]
            _cap(now, timed, cap.limit, cap.span, cap.window, cap.cited, out)


def _order(entry: Entry) -> tuple[datetime, str, int]:
    return (entry.at or _EPOCH, entry.file, entry.batch_index)


def _duplicates(ordered: list[Entry], out: Findings) -> None:
    first: dict[str, Entry] = {}
    for entry in ordered:
        text = _normalised(entry.caption)
        if text not in first:
            first[text] = entry
            continue
        earlier = first[text]
        message = (
            f"{entry.platform}: same caption as batch '{earlier.batch_id}' ({earlier.where(on_time=False)}) "
            f"to the same account: {PLATFORM_NAMES[entry.platform]} rejects duplicate posts"
        )
        out.add("error", entry.error(message, "reword one of them", on_time=False))


def _normalised(caption: str) -> str:
    """The caption as duplicates are compared: whitespace runs as one space, case folded."""
    if caption.isascii() and caption.isprintable() and "  " not in caption:
        return caption.strip().casefold()  # no whitespace but single spaces: nothing to collapse
    return _SPACES.sub(" ", caption).strip().casefold()


def _cap(
    now: list[Entry],
    timed: list[Entry],
    limit: int,
    span: timedelta,
    window: str,
    cited: str,
    out: Findings,
) -> None:
    if len(now) + len(timed) <= limit:
        return
    for group in (now, timed):
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
