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

from postdeck.core.platform import Platform
from postdeck.schemas.campaign import Batch, Campaign
from postdeck.schemas.platform_options import OPTION_FIELDS
from postdeck.schemas.source import PathKey


@dataclass(slots=True)
class Resolved:
    """The effective settings of one batch × platform. Read-only by convention: not frozen, because
    a frozen dataclass's __init__ costs three times as much and validation makes one per delivery."""

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
    (style, platform), not once per batch (validation resolves tens of thousands of them)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._campaign_layers: dict[tuple[str | None, Platform], _Layer] = {}
        self._batch: tuple[Batch, int, str | None, dict[str, Any], dict[str, PathKey]] | None = None

    def resolve(self, batch: Batch, index: int, platform: Platform) -> Resolved:
        """The settings of `batch` (at `index` in the file) on `platform`."""
        style_name, own, own_at = self._batch_layer(batch, index)
        shared = self._campaign_layers.get((style_name, platform))
        if shared is None:
            shared = self._campaign_layers[(style_name, platform)] = self._shared(style_name, platform)
        values, origin = {**shared.values, **own}, {**shared.origin, **own_at}
        name = _KEYS[platform]
        block = getattr(batch, name)
        if block is None and "first_comment" not in own:  # no provider option of the batch's own
            options, option_at = shared.options, shared.option_at
        else:
            _apply([(block, ("batches", index, name))], platform, values, origin)
            options, option_at = _options(platform, values, origin)
        return Resolved(
            caption=values["caption"],
            caption_at=origin["caption"],
            template=values.get("template"),
            template_at=origin.get("template"),
            truncate=bool(values.get("truncate")),
            options=options,
            option_at=option_at,
            handle=values.get("handle"),
            premium=bool(values.get("premium")),
            style=style_name,
        )

    def _batch_layer(self, batch: Batch, index: int) -> tuple[str | None, dict[str, Any], dict[str, PathKey]]:
        """The batch's style and its own settings (not its platform blocks'), worked out once for
        all its platforms."""
        if self._batch is None or self._batch[0] is not batch or self._batch[1] != index:
            style = self.campaign.style_of(batch)
            values: dict[str, Any] = {}
            origin: dict[str, PathKey] = {}
            for key in batch.model_fields_set & _BATCH_FIELDS:
                values[key] = getattr(batch, key)
                origin[key] = ("batches", index, key)
            self._batch = (batch, index, style[0] if style else None, values, origin)
        return self._batch[2:]

    def _shared(self, style: str | None, platform: Platform) -> _Layer:
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
        return _Layer(values, origin, *_options(platform, values, origin))


@dataclass(frozen=True)
class _Layer:
    """The campaign-wide settings of one (style, platform). Shared by every Resolved that takes
    its options from here: nobody mutates them."""

    values: dict[str, Any]
    origin: dict[str, PathKey]
    options: dict[str, Any]
    option_at: dict[str, PathKey]


def _options(
    platform: Platform, values: dict[str, Any], origin: dict[str, PathKey]
) -> tuple[dict[str, Any], dict[str, PathKey]]:
    options = {k: values[k] for k in OPTION_FIELDS[platform] if values.get(k) is not None}
    return options, {k: origin[k] for k in options}


def resolve(campaign: Campaign, batch: Batch, index: int, platform: Platform) -> Resolved:
    """The settings of one batch × platform (a Resolver is faster for a whole campaign)."""
    return Resolver(campaign).resolve(batch, index, platform)


Layers = list[tuple[BaseModel | None, PathKey]]
_KEYS = {p: p.value for p in Platform}


_BATCH_FIELDS = frozenset({"template", "truncate", "caption", "handle", "premium", "first_comment"})
"""What a batch itself may set (its provider options live in its platform blocks)."""


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
