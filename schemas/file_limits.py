"""Size limits of one campaign file, checked before the file is parsed.

A 40 MB file, or one of 200,000 batches, was read, validated and rendered for half a minute before
its (correct) error. Here the bytes are checked from the file's size, before it is read, and the
batches by a cheap count first (lines that start a list item, and commas: more than any batches
list has) and, only when that count passes the limit, a scan of YAML's event stream that stops at
the first batch past it. The values come from postdeck.settings (POSTDECK_CAMPAIGN_MAX_BYTES,
POSTDECK_CAMPAIGN_MAX_BATCHES); this package takes them as arguments, as it takes `now`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from postdeck.errors import CampaignError, Location

MAX_BYTES = 5_000_000  # a campaign of 10,000 batches is about 1 MB
MAX_BATCHES = 20_000  # bench/scale_bench.py publishes 10,000 in one file
_LIST_ITEM = re.compile(r"^[ \t]*-(?:[ \t]|$)", re.MULTILINE)


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = MAX_BYTES
    max_batches: int = MAX_BATCHES


DEFAULT_LIMITS = FileLimits()


def check_size(path: Path, limits: FileLimits) -> None:
    """Refuse a file over max_bytes from its size alone (nothing read). A missing file passes: the
    reader says it is missing."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size > limits.max_bytes:
        raise _too_big(path, size, limits)


def check_text_size(path: Path, text: str, limits: FileLimits) -> None:
    """The same for text already in memory (a file read from git)."""
    if len(text) > limits.max_bytes or (
        4 * len(text) > limits.max_bytes and len(text.encode("utf-8")) > limits.max_bytes
    ):
        raise _too_big(path, len(text.encode("utf-8")), limits)


def check_batches(path: Path, text: str, limits: FileLimits, loader: Any) -> None:
    """Refuse more than max_batches items in the top-level `batches` list, before composing."""
    if len(_LIST_ITEM.findall(text)) + text.count(",") + 1 <= limits.max_batches:
        return  # cannot hold that many
    depth, key_turn, batches_next, counting, count = 0, True, False, False, 0
    for event in yaml.parse(text, Loader=loader):  # a stream: stops at the first batch too many
        if isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            if counting and depth == 1:
                return  # the end of `batches`
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        if counting and depth == 2:
            count += 1
            if count > limits.max_batches:
                raise CampaignError(
                    f"more than {limits.max_batches:,} batches in one file",
                    location=Location(str(path), event.start_mark.line + 1, event.start_mark.column + 1),
                    field=f"batches[{limits.max_batches}]",
                    fix="split the campaign into several files (each with its own name), "
                    "or raise POSTDECK_CAMPAIGN_MAX_BATCHES",
                )
        elif depth == 1:  # the root mapping: keys and values alternate
            if key_turn:
                batches_next = isinstance(event, yaml.ScalarEvent) and event.value == "batches"
            else:
                counting = batches_next and isinstance(event, yaml.SequenceStartEvent)
            key_turn = not key_turn
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1


def _too_big(path: Path, size: int, limits: FileLimits) -> CampaignError:
    return CampaignError(
        f"the file is {size:,} bytes, over the limit of {limits.max_bytes:,} bytes for one campaign file",
        location=Location(str(path), 1, 1),
        field="(file)",
        fix="split the campaign into several files (each with its own name), or raise POSTDECK_CAMPAIGN_MAX_BYTES",
    )
