"""Counting text in each platform's unit, finding entities, and truncating by those units."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postdeck.schemas import counting
from postdeck.schemas.rules import Number
from postdeck.schemas.truncate import ELLIPSIS, fits, truncate

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


@pytest.mark.parametrize(
    ("text", "graphemes", "utf8", "utf16"),
    [
        ("hello", 5, 5, 5),
        (FAMILY, 1, 25, 11),  # one ZWJ family: 4 emoji + 3 joiners
        ("🙋🏽", 1, 8, 4),  # skin tone
        ("🇯🇵", 1, 8, 4),  # flag: two regional indicators
        ("1️⃣", 1, 7, 3),  # keycap
        ("नमस्ते", 3, 18, 6),  # Devanagari conjuncts (Unicode 15.1 GB9c)
        ("cafe\u0301", 4, 6, 5),  # NFD: e + combining accent is one grapheme
        ("a\r\nb", 3, 4, 4),  # CRLF is one grapheme
        ("日本語", 3, 9, 3),
    ],
)
def test_units(text: str, graphemes: int, utf8: int, utf16: int) -> None:
    assert counting.graphemes(text) == graphemes
    assert counting.utf8_bytes(text) == utf8
    assert counting.utf16_units(text) == utf16


def test_threads_counts_emoji_as_their_utf8_bytes_and_other_text_by_code_points() -> None:
    assert counting.threads_units("abc") == 3
    assert counting.threads_units("😀") == 4
    assert counting.threads_units(FAMILY) == 25
    assert counting.threads_units("日本") == 2
    assert counting.threads_units("hi 🇯🇵") == 3 + 8


def test_entities() -> None:
    assert counting.hashtags("#coffee and #café, not a#b nor #123 but #1st ＃日本") == [
        "coffee",
        "café",
        "1st",
        "日本",
    ]
    assert counting.mentions("hi @northside_roast and @x, mail me@example.com") == ["northside_roast", "x"]
    assert counting.cashtags("$AAPL up, $5 off, $BRK.A flat") == ["AAPL", "BRK.A"]
    assert counting.urls("see example.com and https://a.co/x") == ["example.com", "https://a.co/x"]


def _limit(value: int, unit: str, severity: str = "error") -> Number:
    return Number(
        value=value, unit=unit, source="test", as_of=date(2026, 1, 1), confidence="high", severity=severity
    )


def test_truncate_cuts_on_a_word_boundary_with_an_ellipsis_by_weighted_length() -> None:
    text = "日本語 " * 60  # 4 weighted per word with its space: far over 280
    short = truncate(text.strip(), [_limit(280, "x_weighted")])
    assert short.endswith("日本語" + ELLIPSIS)
    assert counting.x_weighted(short) <= 280
    assert counting.x_weighted(short) > 280 - 8  # as long as a word boundary allows


def test_truncate_counts_graphemes_for_bluesky_and_keeps_emoji_whole() -> None:
    text = " ".join([FAMILY * 3] * 40)
    limits = [_limit(300, "graphemes"), _limit(3000, "utf8_bytes"), _limit(300, "utf16")]
    short = truncate(text, limits)
    assert fits(short, limits) and short.endswith(ELLIPSIS)
    assert short[:-1].rstrip().endswith(FAMILY)  # no half family


def test_truncate_leaves_fitting_text_alone_and_cuts_one_long_word_between_graphemes() -> None:
    assert truncate("short enough", [_limit(280, "x_weighted")]) == "short enough"
    word = "🙋🏽" * 200
    short = truncate(word, [_limit(100, "utf16")])
    assert counting.utf16_units(short) <= 100 and short.endswith(ELLIPSIS)
    assert short[:-1] == "🙋🏽" * (len(short[:-1]) // 2)


def test_truncate_ignores_warning_limits() -> None:
    text = "word " * 150
    assert truncate(text.strip(), [_limit(500, "utf16", "warning"), _limit(800, "utf16")]) == text.strip()


@given(
    st.lists(st.sampled_from(["coffee", "日本", "😷", FAMILY, "a.co", "x"]), min_size=1, max_size=120).map(
        " ".join
    )
)
@settings(max_examples=100, deadline=None)
def test_truncate_always_fits(text: str) -> None:
    limits = [_limit(50, "x_weighted"), _limit(60, "utf16")]
    assert fits(truncate(text, limits), limits)
