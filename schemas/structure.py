"""Checks that span several fields, run on the raw YAML data.

They run whether or not the fields themselves are valid, so a file's duplicate batch ids show up in
the same report as its misspelt keys (pydantic's model validators only run once every field is
valid). Every check tolerates wrong types: those are the field validation's to report.
"""

from __future__ import annotations

from typing import Any

from postdeck.core.platform import Platform
from postdeck.errors import CampaignError
from postdeck.schemas.source import PathKey, SourceDocument, dotted

_PLATFORMS = {p.value for p in Platform}


def structure_errors(source: SourceDocument) -> list[CampaignError]:
    data = _mapping(source.data)
    batches = _sequence(data.get("batches"))
    defaults = _mapping(data.get("defaults"))
    styles = _mapping(data.get("styles"))
    errors: list[CampaignError] = []

    def error(key: PathKey, message: str, fix: str) -> None:
        if source.is_covered(key):
            return  # the consequence of a YAML error there (its value was left out)
        errors.append(CampaignError(message, location=source.location(key), field=dotted(key), fix=fix))

    default_platforms = _sequence(defaults.get("platforms"))
    for position, name in enumerate(default_platforms):
        if isinstance(name, str) and name in default_platforms[:position]:
            error(("defaults", "platforms", position), f"{name} is listed twice", "list each platform once")
    default_style = defaults.get("style")
    if isinstance(default_style, str) and default_style not in styles:
        error(("defaults", "style"), f"unknown style '{default_style}'", _style_fix(styles))

    seen: dict[str, int] = {}
    for index, batch in enumerate(batches):
        if not isinstance(batch, dict):
            continue
        base: PathKey = ("batches", index)
        batch_id = batch.get("id")
        if isinstance(batch_id, str):
            if batch_id in seen:
                error(
                    (*base, "id"),
                    f"duplicate batch id '{batch_id}' (first used by batches[{seen[batch_id]}])",
                    "batch ids key the ledger: give each batch its own id",
                )
            else:
                seen[batch_id] = index
        if batch.get("repeat") is not None and batch.get("at") is None:
            error(
                (*base, "repeat"),
                "a repeating batch needs `at`: the time of its first occurrence",
                "give the batch an `at`",
            )
        style = batch.get("style")
        if isinstance(style, str) and style not in styles:
            error((*base, "style"), f"unknown style '{style}'", _style_fix(styles))
        platforms = batch["platforms"] if "platforms" in batch else defaults.get("platforms")
        if not platforms:
            error(
                (*base, "platforms") if "platforms" in batch else (*base, "id"),
                "no platforms: set batch platforms or defaults.platforms",
                "list the platforms this batch posts to",
            )
            continue
        if isinstance(platforms, list):
            named = [p for p in platforms if isinstance(p, str)]
            if "platforms" in batch:
                for position, name in enumerate(platforms):  # the list's own positions, for the location
                    if isinstance(name, str) and name in platforms[:position]:
                        error(
                            (*base, "platforms", position),
                            f"{name} is listed twice",
                            "list each platform once: a batch posts once per platform",
                        )
            targeted = set(named)
            for name in sorted(_PLATFORMS & set(batch) - targeted):
                error(
                    (*base, name),
                    f"settings for {name}, but this batch does not post to {name}",
                    f"add {name} to the batch's platforms, or remove the {name} block",
                )
    return errors


def _mapping(value: object) -> dict[str, Any]:
    """`value` if it is a mapping (of YAML's raw data: any values), else an empty one."""
    return value if isinstance(value, dict) else {}


def _sequence(value: object) -> list[Any]:
    """`value` if it is a list (of YAML's raw data: any items), else an empty one."""
    return value if isinstance(value, list) else []


def _style_fix(styles: dict[str, Any]) -> str:
    return f"use one of: {', '.join(sorted(styles))}" if styles else "define it under `styles`"
