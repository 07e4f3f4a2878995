"""Write a campaign YAML from a list of messages (seed 002's create_campaign / create_quick_campaign),
or from the rows of a CSV file (csv_import.py).

The result is a file to review and commit, then `plan` and `publish`: one batch per message, at its own
`at`, or spaced by a cadence (`every`) from a start time in the campaign's time zone. Messages are
literal text: a caption or option with template syntax in it (`{{`, `{%`, `{#`) is passed as a
variable, so Jinja never interprets it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml

from postdeck.core.platform import Platform
from postdeck.errors import PostdeckError
from postdeck.schemas.durations import parse_duration

# Platforms that take a text-only post: the default when no platforms are named.
TEXT_PLATFORMS: tuple[Platform, ...] = (
    Platform.TWITTER,
    Platform.LINKEDIN,
    Platform.BLUESKY,
    Platform.THREADS,
    Platform.FACEBOOK,
)
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]")
_SEPARATOR = re.compile(r"^\s*---\s*$", re.MULTILINE)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CampaignWriteError(PostdeckError):
    """The campaign cannot be written as asked."""


@dataclass(frozen=True)
class Message:
    caption: str
    media: tuple[str, ...] = ()
    id: str | None = None  # default: post-NN, by position
    at: str | None = None  # as written (naive: the campaign's timezone); None: the cadence's next slot
    platforms: tuple[str, ...] | None = None  # None: the campaign's defaults.platforms
    # Per platform, the batch's block: {"youtube": {"title": "...", "privacy": "public"}}.
    blocks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)  # batch fields: truncate, late


@dataclass(frozen=True)
class CampaignDraft:
    name: str
    messages: Sequence[Message]
    every: str = "1d"
    start: datetime | None = None  # aware; written as wall-clock time in `timezone`
    timezone: str = "UTC"
    platforms: Sequence[Platform] = TEXT_PLATFORMS
    owner: str | None = None
    style: str | None = None
    styles: Mapping[str, Any] = field(default_factory=dict)  # definitions to embed (name → Style)
    source: str = ""  # what it was written from, for the file's header: default "N messages"


def read_messages(path: Path) -> list[Message]:
    """Messages from a file: a YAML/JSON list (strings, or {caption, media}); or text, one message per
    line, or several lines per message separated by lines of `---`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignWriteError(f"cannot read messages from {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        messages = _structured(path, text)
    elif _SEPARATOR.search(text):
        messages = [Message(block.strip()) for block in _SEPARATOR.split(text) if block.strip()]
    else:
        messages = [Message(line.strip()) for line in text.splitlines() if line.strip()]
    if not messages:
        raise CampaignWriteError(f"{path} holds no messages")
    return messages


def campaign_yaml(draft: CampaignDraft) -> str:
    """The campaign file's text. Raises CampaignWriteError for a bad name, cadence or empty list."""
    if not _SLUG.match(draft.name):
        raise CampaignWriteError(
            f"'{draft.name}' cannot name a campaign: use lowercase letters, digits and dashes"
        )
    if not draft.messages:
        raise CampaignWriteError("a campaign needs at least one message")
    cadence = any(message.at is None for message in draft.messages)  # else every batch has its time
    try:
        parse_duration(draft.every)
    except ValueError as exc:
        raise CampaignWriteError(str(exc)) from None
    if cadence and (draft.start is None or draft.start.tzinfo is None):
        raise CampaignWriteError("the start time must be timezone-aware")
    if not draft.platforms:
        raise CampaignWriteError("name at least one platform")
    zone = _zone(draft.timezone)
    document: dict[str, Any] = {"name": draft.name, "timezone": draft.timezone}
    if draft.owner:
        document["owner"] = draft.owner
    if cadence and draft.start is not None:
        document["cadence"] = _cadence(draft.start.astimezone(zone), draft.every)
    document["defaults"] = {"platforms": [p.value for p in draft.platforms]}
    if draft.style:
        document["defaults"]["style"] = draft.style
    if draft.styles:
        document["styles"] = dict(draft.styles)
    width = max(2, len(str(len(draft.messages))))
    document["batches"] = [
        _batch(f"post-{number:0{width}d}", message) for number, message in enumerate(draft.messages, 1)
    ]
    header = (
        "# yaml-language-server: $schema=../schemas/campaign.schema.json\n"
        f"# Written by `postdeck campaign new` from {draft.source or f'{len(draft.messages)} messages'}: "
        "review, then\n"
        f"# `postdeck plan` and `postdeck publish`.\n"
    )
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def write_campaign(path: Path, text: str, *, overwrite: bool = False) -> Path:
    if path.exists() and not overwrite:
        raise CampaignWriteError(f"{path} exists: choose another name or pass --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _cadence(local: datetime, every: str) -> dict[str, Any]:
    # A naive start steps in wall-clock time: "every 1d at 09:00" stays at 09:00 across DST.
    local = local.replace(microsecond=0)
    start = local.replace(tzinfo=None)
    spec = "seconds" if start.second else "minutes"  # `--start 1m` keeps its seconds
    cadence: dict[str, Any] = {"start": start.isoformat(sep=" ", timespec=spec), "every": every}
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():  # the clocks pass it twice
        cadence["fold"] = local.fold  # which of the two (validation refuses a guess)
    return cadence


def _batch(batch_id: str, message: Message) -> dict[str, Any]:
    batch: dict[str, Any] = {"id": message.id or batch_id}
    variables: dict[str, str] = {}
    if message.at is not None:
        batch["at"] = message.at
    batch["caption"] = _literal(message.caption, "message", variables)
    if message.media:
        batch["media"] = list(message.media)
    if message.platforms is not None:
        batch["platforms"] = list(message.platforms)
    batch.update(message.settings)
    for platform, block in message.blocks.items():
        batch[platform] = {
            name: _literal(value, f"{platform}_{name}", variables) if isinstance(value, str) else value
            for name, value in block.items()
        }
    if variables:
        batch["vars"] = variables
    return batch


def _literal(text: str, name: str, variables: dict[str, str]) -> str:
    """`text` as a template that renders to itself: passed as a variable if Jinja would read it."""
    if not _TEMPLATE_SYNTAX.search(text):
        return text
    variables[name] = text
    return "{{ " + name + " }}"


def _structured(path: Path, text: str) -> list[Message]:
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CampaignWriteError(f"{path} is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, list):
        raise CampaignWriteError(f"{path} must hold a list of messages")
    messages = []
    for position, item in enumerate(data, 1):
        if isinstance(item, str) and item.strip():
            messages.append(Message(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("caption"), str) and item["caption"].strip():
            media = item.get("media") or []
            media = [media] if isinstance(media, str) else media
            if not all(isinstance(m, str) for m in media):
                raise CampaignWriteError(f"{path}: message {position}: media must be paths or URLs")
            messages.append(Message(item["caption"].strip(), tuple(media)))
        else:
            raise CampaignWriteError(f"{path}: message {position} is not text or {{caption, media}}")
    return messages


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignWriteError(
            f"unknown time zone '{name}' (use an IANA name like Europe/Berlin)"
        ) from None


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text, so captions read in review as they will be posted."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _text)

__all__ = [
    "TEXT_PLATFORMS",
    "CampaignDraft",
    "CampaignWriteError",
    "Message",
    "campaign_yaml",
    "read_messages",
    "write_campaign",
]
