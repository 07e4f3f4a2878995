"""`truncate: true`: shorten a caption to a platform's limits on a word boundary, with an ellipsis.

Lengths are measured the platform's own way (and the providers'), so a caption shortened here is
never cut again downstream: what `plan` shows is what goes out.

With a wrapper template (`template: "{{ caption }} {{ shop_url }}"`) it is the caption inside the
wrapper that is shortened, so the wrapper's own text (a link, a signature) stays whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import regex

from postdeck.schemas.counting import measure
from postdeck.schemas.rules import Number

ELLIPSIS = "…"
_SPACE = regex.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")

Wrap = Callable[[str], str]
"""Renders the whole caption around a (shortened) caption body."""


def fits(text: str, limits: Sequence[Number]) -> bool:
    return all(measure(text, limit.unit) <= limit.limit for limit in limits)


def truncate(text: str, limits: Sequence[Number], wrap: Wrap | None = None) -> str:
    """`wrap(text)` if it fits every limit; else `wrap` of the longest word-boundary prefix of
    `text` + '…' that does. Without `wrap`, `text` itself is what must fit.

    If not even one word of the body fits beside the wrapper's own text, the whole output is
    shortened instead (the wrapper's end is cut): `truncate: true` promises a caption that fits.
    """
    hard = [limit for limit in limits if limit.severity == "error"]
    whole = wrap(text) if wrap is not None else text
    if fits(whole, hard):
        return whole
    shortened = _shorten(text, wrap or _same, hard)
    if shortened is not None:
        return shortened
    if wrap is not None:
        return truncate(whole, limits)
    return ELLIPSIS


def _same(text: str) -> str:
    return text


def _shorten(text: str, wrap: Wrap, limits: Sequence[Number]) -> str | None:
    words = [m.start() for m in _SPACE.finditer(text)]
    best = _longest(words, lambda end: text[:end].rstrip() + ELLIPSIS, wrap, limits)
    if best is not None:
        return best
    # One word longer than the limit: cut between graphemes, never inside one.
    ends = [m.end() for m in _GRAPHEME.finditer(text)]
    return _longest(ends, lambda end: text[:end] + ELLIPSIS, wrap, limits)


def _longest(
    ends: list[int], candidate: Callable[[int], str], wrap: Wrap, limits: Sequence[Number]
) -> str | None:
    """Binary search for the longest candidate body whose wrapped text fits (lengths grow with
    the prefix)."""
    low, high, best = 0, len(ends) - 1, None
    while low <= high:
        middle = (low + high) // 2
        body = candidate(ends[middle])
        if body.strip(ELLIPSIS).strip() and fits(text := wrap(body), limits):
            best, low = text, middle + 1
        else:
            high = middle - 1
    return best
