"""Rules across the whole calendar (of every file validated together, every occurrence of repeating
batches with the plain batches): duplicate texts to one account where the platform rejects them
(each post of a thread too), posting caps per account per time window (a thread counts as the
platform counts it: each of its posts, or one post and its replies apart), and the least time
between two posts to one account (a campaign's `min_spacing`, or a platform's where documented).

Caps count only what postdeck schedules itself, so they are a lower bound of what the account
posts. Batches without a time ("now") are counted as one burst. The rules see slim `Entry`
records, which travel cheaply between processes when `validate` checks files in parallel.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from postdeck.core.platform import Platform
from postdeck.errors import CampaignError, Location
from postdeck.schemas.durations import in_words, parse_duration
from postdeck.schemas.expansion import Prepared
from postdeck.schemas.findings import PLATFORM_NAMES, Findings
from postdeck.schemas.rules import Cap, Rules
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
    replies: int = 0  # the posts of its thread after the first
    thread: tuple[str, ...] = ()  # their texts, only where duplicates matter
    thread_at: tuple[tuple[int | None, int | None], ...] = ()  # where each was written, likewise
    spacing: float = 0.0  # seconds at least between it and the account's next or last post; 0: none
    spacing_why: str = ""  # who asks for that spacing, in words

    @property
    def order(self) -> tuple[datetime, str, int]:
        return (self.at or _EPOCH, self.file, self.batch_index)

    def where(self, *, on_time: bool) -> Location:
        return Location(self.file, *(self.time_at if on_time else self.caption_at))

    def error(self, message: str, fix: str, *, on_time: bool) -> CampaignError:
        key = self.time_key if on_time else self.caption_key
        return CampaignError(message, location=self.where(on_time=on_time), field=dotted(key), fix=fix)

    def texts(self) -> list[tuple[str, PathKey, tuple[int | None, int | None]]]:
        """Each text it posts, with where it was written (key, line and column): the caption, then
        its thread's parts."""
        found = [(self.caption, self.caption_key, self.caption_at)]
        for j, (text, at) in enumerate(zip(self.thread, self.thread_at, strict=True)):
            found.append((text, ("batches", self.batch_index, "thread", j, "caption"), at))
        return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLATFORM_OF_KEY = {p.value: p for p in Platform}  # an Entry's plain platform name, back to its Platform
_REPLIES = operator.attrgetter("replies")
_SPACING = operator.attrgetter("spacing")


def entry_of(
    item: Prepared, *, keep_caption: bool = True, shared: _Shared | None = None, rules: Rules | None = None
) -> Entry:
    delivery, caption_key, time_key = item.delivery, item.resolved.caption_at, item.time_key
    shared = shared if shared is not None else _Shared()
    file, caption_at = shared.where(item, caption_key)
    account = shared.one(item.account)
    thread = delivery.thread
    texts: tuple[str, ...] = ()
    places: tuple[tuple[int | None, int | None], ...] = ()
    if thread and keep_caption:  # each part is a post of its own, for the duplicate check
        texts = tuple(part.caption for part in thread)
        places = tuple(
            shared.where(item, (*item.batch_key, "thread", j, "caption"))[1] for j in range(len(thread))
        )
    spacing, why = shared.spacing(item, rules)
    placement = delivery.options.get("placement")  # a name, or None (the schema allows no other)
    return Entry(
        account=account,
        platform=account[1],
        at=delivery.at,
        caption=delivery.caption if keep_caption else "",
        placement=placement if isinstance(placement, str) else None,
        batch_id=delivery.batch_id,
        file=file,
        batch_index=item.batch_index,
        caption_key=caption_key,
        caption_at=caption_at,
        time_key=time_key,
        time_at=shared.where(item, time_key)[1],
        replies=len(thread),
        thread=texts,
        thread_at=places,
        spacing=spacing,
        spacing_why=why,
    )


def entries_of(items: Iterable[Prepared], rules: Rules) -> list[Entry]:
    """The calendar's view of rendered deliveries (texts kept only where duplicates matter)."""
    shared = _Shared()
    keep = {p: rules.of(p).duplicate_captions for p in rules.platforms}
    return [
        entry_of(item, keep_caption=keep[item.delivery.platform], shared=shared, rules=rules)
        for item in items
    ]


class _Shared:
    """One object for each distinct location and account: the platforms of a batch share its time
    and mostly its caption, and pickle sends a shared object once (to `validate`'s parent)."""

    def __init__(self) -> None:
        self._where: dict[tuple[int, PathKey], tuple[str, tuple[int | None, int | None]]] = {}
        self._accounts: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self._spacing: dict[tuple[int, str], tuple[float, str]] = {}

    def spacing(self, item: Prepared, rules: Rules | None) -> tuple[float, str]:
        """(seconds, who asks) of the least time between two posts to the item's account: the
        campaign's (its account's for the platform, else its own) or the platform's, the longer."""
        platform = item.delivery.platform
        key = (id(item.loaded), platform)
        found = self._spacing.get(key)
        if found is None:
            found = self._spacing[key] = _spacing_of(item, rules)
        return found

    def where(self, item: Prepared, key: PathKey) -> tuple[str, tuple[int | None, int | None]]:
        """(file, (line, column)) of `key` in the item's file."""
        found = self._where.get((id(item.loaded), key))
        if found is None:
            location = item.location(key)
            found = self._where[(id(item.loaded), key)] = (location.path, (location.line, location.column))
        return found

    def one(self, account: tuple[str, str, str]) -> tuple[str, str, str]:
        return self._accounts.setdefault(account, account)


def _spacing_of(item: Prepared, rules: Rules | None) -> tuple[float, str]:
    campaign = item.loaded.campaign
    platform = item.delivery.platform
    name = PLATFORM_NAMES[platform]
    found: list[tuple[float, str]] = []
    account = getattr(campaign.accounts, platform.value)
    written = getattr(account, "min_spacing", None) if account is not None else None
    if written is not None:
        span = parse_duration(written)
        found.append(
            (
                span.total_seconds(),
                f"campaign '{campaign.name}' asks for {in_words(span)} between two posts to its {name} "
                f"account (accounts.{platform.value}.min_spacing)",
            )
        )
    elif campaign.min_spacing is not None:
        span = parse_duration(campaign.min_spacing)
        found.append(
            (
                span.total_seconds(),
                f"campaign '{campaign.name}' asks for {in_words(span)} between two posts to one account "
                "(min_spacing)",
            )
        )
    rule = rules.of(platform).min_spacing if rules is not None else None
    if rule is not None:
        span = timedelta(seconds=rule.value)
        found.append(
            (
                span.total_seconds(),
                f"{name} needs {in_words(span)} between two posts to one account [{rule.cited}]",
            )
        )
    return max(found, default=(0.0, ""))


def check_calendar(items: Iterable[Prepared | Entry], rules: Rules, out: Findings) -> None:
    by_account: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for item in items:
        entry = item if isinstance(item, Entry) else entry_of(item, rules=rules)
        by_account[entry.account].append(entry)
    for entries in by_account.values():
        platform_rules = rules.of(_PLATFORM_OF_KEY[entries[0].platform])
        ordered = sorted(entries, key=_order)  # once per account, for every rule below
        if platform_rules.duplicate_captions:
            _duplicates(ordered, out)
        replies = sum(map(_REPLIES, entries))
        for cap in platform_rules.caps:
            # What all the account's posts count for (a weight is linear in the replies).
            if cap.weight(replies) + (len(entries) - 1) * cap.weight(0) <= cap.limit:
                continue  # too few to break the cap, whatever the placements
            # Posts "now" count as one burst, in the order they were written.
            now = [e for e in entries if e.at is None and cap.placement in (None, e.placement)]
            timed = [e for e in ordered if e.at is not None and cap.placement in (None, e.placement)]
            _cap(now, timed, cap, out, threads=replies > 0)
        if any(map(_SPACING, entries)):
            _spacing([e for e in entries if e.at is None], [e for e in ordered if e.at is not None], out)


def _order(entry: Entry) -> tuple[datetime, str, int]:
    return (entry.at or _EPOCH, entry.file, entry.batch_index)


def _duplicates(ordered: list[Entry], out: Findings) -> None:
    """Every post to the account against the ones before it, a thread's parts too (each is a post)."""
    first: dict[str, tuple[Entry, PathKey, tuple[int | None, int | None]]] = {}
    for entry in ordered:
        texts = entry.texts() if entry.thread else [(entry.caption, entry.caption_key, entry.caption_at)]
        for raw, key, at in texts:
            text = _normalised(raw)
            if text not in first:
                first[text] = (entry, key, at)
                continue
            before, before_key, before_at = first[text]
            both_captions = not _is_part(key) and not _is_part(before_key)
            message = (
                f"{entry.platform}: same {'caption' if both_captions else 'text'} as "
                f"{_named(before, before_key)} ({Location(before.file, *before_at)}) "
                f"to the same account: {PLATFORM_NAMES[_PLATFORM_OF_KEY[entry.platform]]} rejects duplicate posts"
            )
            error = CampaignError(
                message, location=Location(entry.file, *at), field=dotted(key), fix="reword one of them"
            )
            out.add("error", error)


def _is_part(key: PathKey) -> bool:
    return len(key) == 5 and key[2] == "thread"


def _named(entry: Entry, key: PathKey) -> str:
    if _is_part(key):
        return f"part {int(key[3]) + 1} of batch '{entry.batch_id}'"
    return f"batch '{entry.batch_id}'"


def _normalised(caption: str) -> str:
    """The caption as duplicates are compared: whitespace runs as one space, case folded."""
    if caption.isascii() and caption.isprintable() and "  " not in caption:
        return caption.strip().casefold()  # no whitespace but single spaces: nothing to collapse
    return _SPACES.sub(" ", caption).strip().casefold()


def _cap(now: list[Entry], timed: list[Entry], cap: Cap, out: Findings, *, threads: bool) -> None:
    """A sliding window over each group: the first post that makes the count go over the cap (a
    thread adds what the cap counts of it) is reported, once per account and cap."""
    limit, span, window = cap.limit, cap.span, cap.window
    single = cap.weight(0)  # what a post that is no thread counts for: most are
    noun = "reply" if cap.unit == "replies" else "post"
    for group in (now, timed):
        if threads:
            counted = [cap.weight(e.replies) if e.replies else single for e in group]
        else:
            counted = [single] * len(group)
        if sum(counted) <= limit:
            continue
        start, total = 0, 0
        for end, entry in enumerate(group):
            total += counted[end]
            at = entry.at
            while at is not None and group[start].at <= at - span:  # type: ignore[operator]
                total -= counted[start]
                start += 1
            if total > limit:
                threads = cap.counts == "every_post" and any(e.replies for e in group[start : end + 1])
                note = "; a thread counts each of its posts" if threads else ""
                unit = " replies" if cap.unit == "replies" else ""
                message = (
                    f"{entry.platform}: {noun} {total} within {window} for this account "
                    f"(at {at.isoformat() if at else 'now'}{note}); "
                    f"{PLATFORM_NAMES[_PLATFORM_OF_KEY[entry.platform]]} allows {limit}{unit} [{cap.cited}]"
                )
                fix = f"space the batches out (at most {limit}{unit or ' posts'} per {window})"
                out.add("error", entry.error(message, fix, on_time=True))
                break  # once per account and cap is enough to act on


def _spacing(now: list[Entry], timed: list[Entry], out: Findings) -> None:
    """Each post against the account's post just before it: closer than the longer spacing either
    asks for is an error at the later one, naming both. A pair of batches (the occurrences of
    repeating ones) too close many times is one error, with how many more times."""
    pairs: dict[tuple[tuple[str, int], tuple[str, int]], list[tuple[Entry, Entry]]] = {}
    for group in (now, timed):
        for before, entry in itertools.pairwise(group):
            need = max(before.spacing, entry.spacing)
            gap = (entry.at - before.at).total_seconds() if entry.at and before.at else 0.0
            if need and gap < need:
                a, b = (before.file, before.batch_index), (entry.file, entry.batch_index)
                pairs.setdefault((min(a, b), max(a, b)), []).append((before, entry))
    for found in pairs.values():
        before, entry = found[0]
        why = before.spacing_why if before.spacing >= entry.spacing else entry.spacing_why
        earlier = f"batch '{before.batch_id}' ({_when(before)}, {before.where(on_time=True)})"
        if entry.at is not None and before.at is not None and entry.at != before.at:
            close = f"goes out {in_words(entry.at - before.at)} after {earlier}"
        else:
            close = f"goes out with {earlier}"  # both now, or at the same time
        more = f" (and {len(found) - 1} more times)" if len(found) > 1 else ""
        message = (
            f"{entry.platform}: batch '{entry.batch_id}' ({_when(entry)}) {close} to the same account; "
            f"{why}{more}"
        )
        least = timedelta(seconds=max(before.spacing, entry.spacing))
        fix = f"move one of them: posts to one account at least {in_words(least)} apart"
        out.add("error", entry.error(message, fix, on_time=True))


def _when(entry: Entry) -> str:
    return entry.at.isoformat() if entry.at else "now"
