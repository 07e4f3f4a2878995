"""Text lengths in each platform's own unit, and the entities (hashtags, mentions, ...) in a text.

X's weighted length comes from `twitter-text-parser` (import name `twitter_text`), a port of
X's own library; Bluesky's graphemes from `regex`'s `\\X` (extended grapheme clusters, as ICU).
The heavy imports happen on first use, so `validate` only pays for the platforms it meets.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import regex

_GRAPHEME = regex.compile(r"\X")
_PICTOGRAPHIC = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")

# Hashtags and mentions as the platforms link them: a letter somewhere, not glued to a word before.
_HASHTAG = regex.compile(r"(?<![\p{L}\p{N}_&/#＃])[#＃]([\p{L}\p{M}\p{N}_]*[\p{L}\p{M}][\p{L}\p{M}\p{N}_]*)")
_MENTION = regex.compile(r"(?<![\p{L}\p{N}_@＠])[@＠]([A-Za-z0-9_]{1,30})")
_CASHTAG = regex.compile(r"(?<![\p{L}\p{N}_$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![\p{L}\p{N}_])")


def utf16_units(text: str) -> int:
    """What JavaScript's `length` and `slice` count (Post for Me cuts captions with `slice`)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def graphemes(text: str) -> int:
    """User-perceived characters (Unicode extended grapheme clusters), as Bluesky counts them."""
    return len(text) if text.isascii() and "\r" not in text else len(_GRAPHEME.findall(text))


def threads_units(text: str) -> int:
    """Threads: a grapheme with an emoji counts its UTF-8 bytes, any other grapheme its code points.

    Meta only says "emojis count as their UTF-8 bytes"; this reading is the conservative one
    (platforms.md §11.3).
    """
    if text.isascii() or not _PICTOGRAPHIC.search(text):
        return len(text)
    extra = 0  # bytes beyond one per code point, in the clusters that hold an emoji
    for cluster in _GRAPHEME.findall(text):
        if not cluster.isascii() and _PICTOGRAPHIC.search(cluster):
            extra += len(cluster.encode("utf-8")) - len(cluster)
    return len(text) + extra


def x_weighted(text: str) -> int:
    """X's weighted length (twitter-text config v3: URLs 23, CJK and emoji 2, NFC first)."""
    return _twitter_text().parse_tweet(text).weightedLength


# Code points outside the weight-1 ranges of twitter-text config v3 (platforms.md §2): they weigh 2.
_X_HEAVY = regex.compile("[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")


def x_weighted_at_most(text: str) -> int:
    """An upper bound of `x_weighted`, without the library: used to skip the exact count when
    even the bound fits (the exact count costs about a millisecond per caption).

    Each code point weighs at most its config weight, an emoji sequence less than its code points,
    and each URL 23 more than nothing; every URL the library finds contains an ASCII '.'.
    """
    heavy = 0 if text.isascii() else len(_X_HEAVY.findall(text))
    return len(text) + heavy + 23 * text.count(".")


def urls(text: str) -> list[str]:
    """URLs as X's library finds them (with or without a scheme), in order."""
    if "." not in text:
        return []
    return _twitter_text_urls()(text)


def hashtags(text: str) -> list[str]:
    return [m.group(1) for m in _HASHTAG.finditer(text)] if "#" in text or "＃" in text else []


def mentions(text: str) -> list[str]:
    return [m.group(1) for m in _MENTION.finditer(text)] if "@" in text or "＠" in text else []


def cashtags(text: str) -> list[str]:
    return [m.group(1) for m in _CASHTAG.finditer(text)] if "$" in text else []


COUNTERS: dict[str, Callable[[str], int]] = {
    "x_weighted": x_weighted,
    "graphemes": graphemes,
    "utf8_bytes": utf8_bytes,
    "utf16": utf16_units,
    "threads": threads_units,
    "chars": len,
}

UNIT_NAMES = {
    "x_weighted": "weighted characters",
    "graphemes": "graphemes",
    "utf8_bytes": "UTF-8 bytes",
    "utf16": "UTF-16 units",
    "threads": "characters (emoji as UTF-8 bytes)",
    "chars": "characters",
}


@lru_cache(maxsize=4096)
def measure(text: str, unit: str) -> int:
    """`text`'s length in `unit` (remembered: one caption is often measured for several platforms)."""
    if unit != "x_weighted" and text.isascii() and "\r" not in text:
        return len(text)  # one unit per character in every other unit
    return COUNTERS[unit](text)


@cache
def _twitter_text() -> Any:
    # twitter_text's emoji module imports pkg_resources only for `resource_string`: about 130 ms
    # at start-up, and deprecated. Lend it a stand-in for the import, unless the real one is loaded.
    if "pkg_resources" in sys.modules:
        import twitter_text

        return twitter_text
    shim = types.ModuleType("pkg_resources")
    shim.resource_string = _resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim
    try:
        import twitter_text
    finally:
        del sys.modules["pkg_resources"]
    return twitter_text


def _resource_string(module: str, name: str) -> bytes:
    """pkg_resources.resource_string: a file next to the (possibly half-imported) module."""
    return Path(sys.modules[module].__file__ or "").with_name(name).read_bytes()


@cache
def _twitter_text_urls() -> Callable[[str], list[str]]:
    return _twitter_text().extract_urls
