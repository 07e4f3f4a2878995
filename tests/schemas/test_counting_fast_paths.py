"""The shortcuts counting.py takes (one code point per grapheme unless a joining character is
present) count exactly what the full grapheme segmentation counts."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from postdeck.schemas import counting

pytestmark = pytest.mark.slow  # left out of `make test-fast`

_CLUSTER = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")

TRICKY = [
    "a",
    " ",
    "\r",
    "\n",
    "\r\n",
    "\t",
    ".",
    "#",
    "é",
    "e\u0301",
    "\u0300",
    "☕",
    "❤",
    "\ufe0f",
    "\u200d",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇩🇪",
    "🇩",
    "한",
    "\u1100",
    "\u1161",
    "\u11a8",
    "日",
    "©",
    "\u0903",
    "\u0600",
    "ß",
    "\u0915\u094d\u0937",
    "\u00ad",
    "😀",
    "\U000e0061",
]


def reference_graphemes(text: str) -> int:
    return len(_CLUSTER.findall(text))


def reference_threads(text: str) -> int:
    extra = sum(
        len(c.encode("utf-8")) - len(c)
        for c in _CLUSTER.findall(text)
        if not c.isascii() and _EMOJI.search(c)
    )
    return len(text) + extra


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=16).map("".join) | st.text(max_size=40))
def test_shortcuts_count_what_grapheme_segmentation_counts(text: str) -> None:
    assert counting.graphemes(text) == reference_graphemes(text)
    assert counting.threads_units(text) == reference_threads(text)


X_PIECES = [
    *TRICKY,
    "https://x.com/a",
    "example.com",
    "t.co/abc",
    "www.a.org",
    " http://",
    ".com",
    "y.",
    ":",
    "/",
    "@",
    "$",
    "*",
    "0",
    "1️⃣",
    "#️⃣",
    "#\u20e3",
    "\u20e3",
    "\u2000",
    "\u2013",
    "\u2033",
    "\u10ff",
    "🏳️‍🌈",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "日本語",
    "®",
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(X_PIECES), max_size=16).map("".join) | st.text(max_size=40))
def test_x_weighted_counts_what_twitter_text_parse_tweet_counts(text: str) -> None:
    assert counting.x_weighted(text) == counting._twitter_text().parse_tweet(text).weightedLength
