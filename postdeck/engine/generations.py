"""Generations of a delivery: desired state wins over a cancel.

A delivery the file still has, whose ledger record is cancelled (its batch was removed and then put
back, or it was cancelled from the CLI), is wanted again. It is never resent under its old key (that
post may exist, and its key is spent): it gets the next generation of its DeliveryKey (`#N`), a new
delivery with its own claim and post key. The plan reads the highest generation as the current one.
A cancel a person pins (`postdeck cancel --keep-cancelled`) stays cancelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from postdeck.core.keys import DeliveryKey, RepostKey, parse_ledger_key

# What a cancel applied by a publish (its batch or its file removed, an occurrence that left its repeat
# rule) is recorded with: the plan tells it from a cancel made outside the file (`postdeck cancel`,
# recorded without a reason) by this.
REMOVED = "its batch was removed"
LEFT_RULE = "its occurrence left the repeat rule"


def lineage(key: str) -> str:
    """The generation-0 key of the delivery a ledger key names (a repost names its original's)."""
    return str(dataclasses.replace(parse_ledger_key(key).delivery, generation=0))


def current_generations(keys: Iterable[str]) -> dict[str, str]:
    """For each delivery with later generations in `keys`: its lineage -> its highest generation's key."""
    highest: dict[str, DeliveryKey] = {}
    for text in keys:
        key = parse_ledger_key(text)
        if isinstance(key, RepostKey) or key.generation == 0:
            continue
        first = str(dataclasses.replace(key, generation=0))
        if first not in highest or highest[first].generation < key.generation:
            highest[first] = key
    return {first: str(key) for first, key in highest.items()}


def next_generation(key: str) -> tuple[str, int]:
    """The key of the generation after `key`'s, and its number."""
    parsed = DeliveryKey.parse(key)
    later = dataclasses.replace(parsed, generation=parsed.generation + 1)
    return str(later), later.generation


def removed_by_a_publish(error: str | None) -> bool:
    return error in (REMOVED, LEFT_RULE)
