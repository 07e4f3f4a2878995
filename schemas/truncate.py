"""`truncate: true`: shorten a caption to a platform's limits on a word boundary, with an ellipsis.

Lengths are measured the platform's own way (and the providers'), so a caption shortened here is
never cut again downstream: what `plan` shows is what goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import regex

from postdeck.schemas.counting import measure
from postdeck.schemas.rules import Number

ELLIPSIS = "…"
_SPACE = regex.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")


def fits(text: str, limits: Sequence[Number]) -> bool:
    return all(measure(text, limit.unit) <= limit.limit for limit in limits)


def truncate(text: str, limits: Sequence[Number]) -> str:
    """`text` if it fits every limit; else its longest word-boundary prefix + '…' that does."""
    hard = [limit for limit in limits if limit.severity == "error"]
    if fits(text, hard):
        return text
    words = [m.start() for m in _SPACE.finditer(text)]
    best = _longest(words, lambda end: text[:end].rstrip() + ELLIPSIS, hard)
    if best is not None:
        return best
    # One word longer than the limit: cut between graphemes, never inside one.
    ends = [m.end() for m in _GRAPHEME.finditer(text)]
    return _longest(ends, lambda end: text[:end] + ELLIPSIS, hard) or ELLIPSIS


def _longest(ends: list[int], candidate: Callable[[int], str], limits: Sequence[Number]) -> str | None:
    """Binary search for the longest candidate that fits (lengths grow with the prefix)."""
    low, high, best = 0, len(ends) - 1, None
    while low <= high:
        middle = (low + high) // 2
        text = candidate(ends[middle])
        if text.strip(ELLIPSIS).strip() and fits(text, limits):
            best, low = text, middle + 1
        else:
            high = middle - 1
    return best
