"""Resolve what one batch × platform uses, from the layers of the campaign file.

From general to specific (the last layer that sets a field wins, even to null):
defaults → defaults.<platform> → accounts.<platform> → style → style.<platform> → batch →
batch.<platform>. Each value remembers where it was written, for error locations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel

from postdeck.providers.base import Platform
from postdeck.schemas.campaign import Batch, Campaign
from postdeck.schemas.platform_options import OPTION_FIELDS
from postdeck.schemas.source import PathKey


@dataclass(frozen=True)
class Resolved:
    """The effective settings of one batch × platform."""

    caption: str  # the caption template
    caption_at: PathKey
    template: str | None = None  # the wrapper template (uses {{ caption }})
    template_at: PathKey | None = None
    truncate: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # provider options, unrendered
    option_at: dict[str, PathKey] = field(default_factory=dict)
    handle: str | None = None
    premium: bool = False
    style: str | None = None


class Resolver:
    """Resolves the batches of one campaign; the campaign-wide layers are worked out once per
    (style, platform), not once per batch."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._campaign_layers: dict[
            tuple[str | None, Platform], tuple[dict[str, Any], dict[str, PathKey]]
        ] = {}

    def resolve(self, batch: Batch, index: int, platform: Platform) -> Resolved:
        """The settings of `batch` (at `index` in the file) on `platform`."""
        style = self.campaign.style_of(batch)
        style_name = style[0] if style else None
        shared = self._campaign_layers.get((style_name, platform))
        if shared is None:
            shared = self._campaign_layers[(style_name, platform)] = self._shared(style_name, platform)
        values, origin = dict(shared[0]), dict(shared[1])
        base: PathKey = ("batches", index)
        name = _KEYS[platform]
        _apply([(batch, base), (getattr(batch, name), (*base, name))], platform, values, origin)
        options = {k: values[k] for k in OPTION_FIELDS[platform] if values.get(k) is not None}
        return Resolved(
            caption=values["caption"],
            caption_at=origin["caption"],
            template=values.get("template"),
            template_at=origin.get("template"),
            truncate=bool(values.get("truncate")),
            options=options,
            option_at={k: origin[k] for k in options},
            handle=values.get("handle"),
            premium=bool(values.get("premium")),
            style=style_name,
        )

    def _shared(self, style: str | None, platform: Platform) -> tuple[dict[str, Any], dict[str, PathKey]]:
        campaign, name = self.campaign, platform.value
        layers: Layers = [
            (campaign.defaults, ("defaults",)),
            (getattr(campaign.defaults, name), ("defaults", name)),
            (getattr(campaign.accounts, name), ("accounts", name)),
        ]
        if style is not None:
            model = campaign.styles[style]
            layers += [(model, ("styles", style)), (getattr(model, name), ("styles", style, name))]
        values: dict[str, Any] = {}
        origin: dict[str, PathKey] = {}
        _apply(layers, platform, values, origin)
        return values, origin


def resolve(campaign: Campaign, batch: Batch, index: int, platform: Platform) -> Resolved:
    """The settings of one batch × platform (a Resolver is faster for a whole campaign)."""
    return Resolver(campaign).resolve(batch, index, platform)


Layers = list[tuple[BaseModel | None, PathKey]]
_KEYS = {p: p.value for p in Platform}


@cache
def _wanted(platform: Platform) -> frozenset[str]:
    return frozenset({"template", "truncate", "caption", "handle", "premium", *OPTION_FIELDS[platform]})


def _apply(layers: Layers, platform: Platform, values: dict[str, Any], origin: dict[str, PathKey]) -> None:
    wanted = _wanted(platform)
    for model, at in layers:
        if model is None:
            continue
        for key in model.model_fields_set & wanted:
            values[key] = getattr(model, key)
            origin[key] = (*at, key)
