"""What the detail view says about a caption: its length in each unit, where X, Bluesky and Threads
would cut it, and for an update the old and new caption with the difference marked.

Counting is schemas/counting.py's; limits are platform_rules.yaml's (the hard ones, severity error).
"""

from __future__ import annotations

import difflib
from functools import cache, lru_cache
from typing import Any

import regex

from postdeck.core.platform import Platform
from postdeck.schemas.counting import measure, urls
from postdeck.schemas.findings import PLATFORM_NAMES
from postdeck.schemas.rules import platform_rules

CUT_PLATFORMS = (Platform.TWITTER, Platform.BLUESKY, Platform.THREADS)
UNIT_NAMES = {
    "x_weighted": "weighted characters",
    "graphemes": "graphemes",
    "utf8_bytes": "bytes",
    "utf16": "UTF-16 units",
    "threads": "Threads characters",
}
# What each network does with a link in the text (shared/reference/platforms.md §2-4).
LINK_NOTES = {
    Platform.TWITTER: "X counts every link as 23 characters (t.co), whatever its length",
    Platform.BLUESKY: "Bluesky counts links in full and makes them clickable only through the post's link facets",
    Platform.THREADS: "Threads allows 5 distinct links; the first becomes the link preview when there is no media",
}
_GRAPHEME = regex.compile(r"\X")
_WORD = regex.compile(r"\S+\s*|\s+")  # each word with the space after it


@cache
def _hard_limits(platform: Platform) -> tuple[tuple[str, int], ...]:
    rules = platform_rules().of(platform)
    return tuple((n.unit, int(n.limit)) for n in rules.text_limits() if n.severity == "error")


@lru_cache(maxsize=4096)  # a campaign's platforms often share one caption
def cuts(caption: str) -> tuple[dict[str, Any], ...]:
    """Per platform of CUT_PLATFORMS: the caption's length against its tightest hard limit, and
    `keep`: how much of it fits, in UTF-16 units (what a JavaScript string's slice counts)."""
    return tuple(_cut(caption, platform) for platform in CUT_PLATFORMS)


def _cut(caption: str, platform: Platform) -> dict[str, Any]:
    limits = _hard_limits(platform)
    measured = [(measure(caption, unit), limit, unit) for unit, limit in limits]
    length, limit, unit = max(measured, key=lambda m: m[0] / m[1])
    kept = caption if length <= limit else _longest_fitting(caption, limits)
    links = urls(caption) if "." in caption else []  # every link has a dot: skip X's URL finder
    return {
        "links": f"{len(links)} link(s): {LINK_NOTES[platform]}" if links else "",
        "platform": platform.value,
        "name": PLATFORM_NAMES[platform],
        "length": length,
        "limit": limit,
        "unit": unit,
        "unit_name": UNIT_NAMES.get(unit, unit),
        "keep": len(kept.encode("utf-16-le")) // 2,
    }


def _longest_fitting(caption: str, limits: tuple[tuple[str, int], ...]) -> str:
    """The longest prefix, cut between graphemes, that fits every limit (lengths grow with the prefix)."""
    ends = [m.end() for m in _GRAPHEME.finditer(caption)]
    low, high, best = 0, len(ends) - 1, ""
    while low <= high:
        middle = (low + high) // 2
        prefix = caption[: ends[middle]]
        if all(measure(prefix, unit) <= limit for unit, limit in limits):
            best, low = prefix, middle + 1
        else:
            high = middle - 1
    return best


def caption_diff(old: str, new: str) -> dict[str, list[list[str]]]:
    """Old and new caption as segments [kind, text], kind "same", "del" (old only) or "ins" (new
    only), compared word by word: each word carries the space after it (so the segments join back
    into each caption, and a space between two changed words is no match) but is compared without it."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    old_parts: list[list[str]] = []
    new_parts: list[list[str]] = []
    words = difflib.SequenceMatcher(None, [w.strip() for w in a], [w.strip() for w in b], autojunk=False)
    for op, i1, i2, j1, j2 in words.get_opcodes():
        if op == "equal":
            old_parts.append(["same", "".join(a[i1:i2])])
            new_parts.append(["same", "".join(b[j1:j2])])
            continue
        if i2 > i1:
            old_parts.append(["del", "".join(a[i1:i2])])
        if j2 > j1:
            new_parts.append(["ins", "".join(b[j1:j2])])
    return {"old": old_parts, "new": new_parts}
