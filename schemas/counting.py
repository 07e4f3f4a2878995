"""Text lengths in each platform's own unit, and the entities (hashtags, mentions, ...) in a text.

X's weighted length comes from `twitter-text-parser` (import name `twitter_text`), a port of
X's own library; Bluesky's graphemes from `regex`'s `\\X` (extended grapheme clusters, as ICU).
The heavy imports happen on first use, so `validate` only pays for the platforms it meets.
"""

from __future__ import annotations

import sys
import types
import unicodedata
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
    if text.isascii() and "\r" not in text:
        return len(text)
    if not _joins_any(set(_NON_ASCII.findall(text))):
        return len(text) - text.count("\r\n")  # every cluster is one code point, or CR LF
    return len(_GRAPHEME.findall(text))


def threads_units(text: str) -> int:
    """Threads: a grapheme with an emoji counts its UTF-8 bytes, any other grapheme its code points.

    Meta only says "emojis count as their UTF-8 bytes"; this reading is the conservative one
    (platforms.md §11.3).
    """
    if text.isascii():
        return len(text)
    chars = _NON_ASCII.findall(text)
    emoji = [c for c in chars if _char_facts(c)[1]]
    if not emoji:
        return len(text)
    if not _joins_any(set(chars)):  # one code point per cluster: each emoji is its own cluster
        return len(text) + sum(len(c.encode("utf-8")) - 1 for c in emoji)
    extra = 0  # bytes beyond one per code point, in the clusters that hold an emoji
    for cluster in _GRAPHEME.findall(text):
        if not cluster.isascii() and _PICTOGRAPHIC.search(cluster):
            extra += len(cluster.encode("utf-8")) - len(cluster)
    return len(text) + extra


# Why the fast paths above hold: a grapheme cluster has more than one code point only through CR LF
# or a character of these Grapheme_Cluster_Break classes (UAX #29); ASCII has none of them.
# `\X` over a whole caption costs tens of microseconds; looking each distinct character up once, far less.
_JOINER = regex.compile(
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}\p{Grapheme_Cluster_Break=Prepend}"
    r"\p{Grapheme_Cluster_Break=Regional_Indicator}\p{Grapheme_Cluster_Break=L}"
    r"\p{Grapheme_Cluster_Break=V}\p{Grapheme_Cluster_Break=T}\p{Grapheme_Cluster_Break=LV}"
    r"\p{Grapheme_Cluster_Break=LVT}]"
)
_NON_ASCII = regex.compile(r"[^\x00-\x7f]")


@lru_cache(maxsize=16384)
def _char_facts(char: str) -> tuple[bool, bool]:
    """(may join its neighbours into one grapheme, is an emoji as Threads counts them)."""
    return _JOINER.match(char) is not None, _PICTOGRAPHIC.match(char) is not None


def _joins_any(chars: set[str]) -> bool:
    return any(_char_facts(c)[0] for c in chars)


def x_weighted(text: str) -> int:
    """X's weighted length (twitter-text config v3: URLs 23, CJK and emoji 2, NFC first).

    What the library's `parse_tweet(text).weightedLength` counts, with its own URL and emoji
    finders, but without its loop over every character in Python (about a millisecond per
    caption: `plan` shows the length of every X caption).
    """
    text = _LINE_ENDS.sub("\n", unicodedata.normalize("NFC", text))
    found = _twitter_text().extract_urls_with_indices(text) if "." in text else []  # a URL has a dot
    entities = [(u["indices"][0], 0, len(u["url"]), 23) for u in found]
    if not text.isascii():  # no emoji is ASCII only
        entities += _x_emojis(text)
    total, at = 0, 0
    for start, _, length, weight in sorted(entities):  # a URL first where both start
        if start < at:
            continue  # inside a URL or emoji already counted, as the library skips it
        total += _x_plain(text[at:start]) + weight
        at = start + length
    return total + _x_plain(text[at:])


_LINE_ENDS = regex.compile(r"\r\n|\r|\n")
_NON_ASCII_RUN = regex.compile(r"[^\x00-\x7f]+")


def _x_emojis(text: str) -> list[tuple[int, int, int, int]]:
    """The library's emoji entities, found around the non-ASCII runs only: its pattern (2,500
    alternatives, tried at every position) costs a millisecond over a whole caption. Each of its
    emoji is one optional ASCII character (a keycap's digit) and then non-ASCII ones."""
    found: list[tuple[int, int, int, int]] = []
    for run in _NON_ASCII_RUN.finditer(text):
        start = max(run.start() - 1, 0)
        for emoji in _twitter_text().extract_emojis_with_indices(text[start : run.end()]):
            found.append((start + emoji["indices"][0], 1, len(emoji["emoji"]), 2))
    return found


def _x_plain(text: str) -> int:
    """X's weight of text without URLs or emoji: 1 per code point in the light ranges, else 2."""
    return len(text) if text.isascii() else len(text) + len(_X_HEAVY.findall(text))


# Code points outside the weight-1 ranges of twitter-text config v3 (platforms.md §2): they weigh 2.
_X_HEAVY = regex.compile("[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")


def x_weighted_at_most(text: str) -> int:
    """An upper bound of `x_weighted`, without the library: used to skip the exact count when
    even the bound fits (the exact count loads twitter-text, a fifth of a second, and finds URLs).

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
    extract_urls: Callable[[str], list[str]] = _twitter_text().extract_urls  # an untyped library's
    return extract_urls
