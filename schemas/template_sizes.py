"""Sizes of the values a template builds: about what str() of each makes, counted only up to just past
the limit (template_limits.py), and the checks that charge them to the render's budget.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2.utils import Namespace

from postdeck.schemas.template_limits import MAX_NESTING, MAX_TEXT, LimitError, budget

_DONE = object()
_VIEWS: tuple[type[Iterable[Any]], ...] = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS: tuple[type[Iterable[Any]], ...] = (
    list,
    tuple,
    set,
    frozenset,
    *_VIEWS,
)  # not range: str() of one is short


def measure(value: Any, limit: int = MAX_TEXT) -> int:
    """About how many characters str(value) makes, counted only up to just past `limit`.

    Looks inside builtin containers, dicts and namespaces only: iterating any other object could
    run template code (a macro) or use it up (a loop, a generator).
    """
    if type(value) is str:
        return len(value)
    total = 0
    pending: list[Iterator[Any]] = [iter((value,))]
    while pending and total <= limit:
        item = next(pending[-1], _DONE)
        if item is _DONE:
            pending.pop()
            continue
        flat = _flat_size(item)
        if flat is not None:
            total += flat
            continue
        total += 2  # brackets, or a separator
        inner = _contents(item)
        if inner is not None:
            pending.append(inner)
            if len(pending) > MAX_NESTING:  # also ends a list that contains itself, fast
                raise LimitError(
                    f"a value is nested more than {MAX_NESTING} levels deep", "build flatter values"
                )
        else:
            total += _own_size(item)
    return total


def _flat_size(item: Any) -> int | None:
    """The size of a string, or of a list of strings or of numbers, at C speed; None for others."""
    if isinstance(item, str):
        return len(item) + 4  # quotes and a separator, inside a container
    if isinstance(item, (list, tuple)):
        kinds = set(map(type, item))
        if kinds <= {str}:
            return sum(map(len, item)) + 4 * len(item) + 2
        if kinds <= {int, bool}:
            return sum(map(int.bit_length, item)) * 3 // 10 + 4 * len(item) + 2
    return None


def _own_size(item: Any) -> int:
    if isinstance(item, (bytes, bytearray)):
        return 4 * len(item) + 3  # repr: up to \xNN a byte
    if isinstance(item, int):
        return item.bit_length() * 3 // 10 + 2
    if isinstance(item, (float, type(None), range)):
        return 24
    return 64  # another object's repr: a name and an address


def _contents(item: Any) -> Iterator[Any] | None:
    if isinstance(item, dict):
        return itertools.chain.from_iterable(item.items())
    if isinstance(item, Namespace):
        return _contents(item._Namespace__attrs)
    if isinstance(item, _CONTAINERS):
        return iter(item)
    return None


def refuse_estimate(size: int, what: str, fix: str) -> None:
    if size > MAX_TEXT:
        raise LimitError(f"{what} would make about {size:,} characters, over the limit of {MAX_TEXT:,}", fix)


def produced(value: Any, what: str) -> Any:
    """A value the template built or writes: charged to the budget, refused past MAX_TEXT."""
    size = measure(value)
    if size > MAX_TEXT:
        raise LimitError(f"{what} makes a value of more than {MAX_TEXT:,} characters", "build smaller values")
    budget().charge(size)
    return value


def finalize(value: Any) -> Any:
    """Every `{{ }}` output, measured before str() makes it text."""
    return produced(value, "an output")
