"""Render a loaded campaign into deliveries, keeping what validation needs to say where a problem is.

Per batch × platform: resolve the settings layers, render the caption (and the wrapper template
around it), shorten it when `truncate` is on, render the provider options, attach media and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from postdeck.errors import CampaignError, Location
from postdeck.providers.base import Platform
from postdeck.schemas.deliveries import Delivery, TextLimit, delivery_key
from postdeck.schemas.findings import PLATFORM_KEYS
from postdeck.schemas.loader import LoadedCampaign, sort_errors
from postdeck.schemas.media import MediaRef, resolve_media
from postdeck.schemas.render import Renderer, renderer_for
from postdeck.schemas.rules import platform_rules
from postdeck.schemas.schedule import batch_times, time_key
from postdeck.schemas.settings import Resolved, Resolver
from postdeck.schemas.source import PathKey, dotted
from postdeck.schemas.truncate import truncate


@dataclass(frozen=True)
class Prepared:
    """A delivery and where its parts were written."""

    delivery: Delivery
    loaded: LoadedCampaign
    batch_index: int  # in the file
    position: int  # in loaded.campaign.batches
    resolved: Resolved
    truncated: bool = False
    time_key: PathKey = ()  # where the batch's time was written (its `at`, else its id)

    @property
    def account(self) -> tuple[str, str, str]:
        """Who receives the post: (owner, platform, handle). Caps and duplicates count per account."""
        return (self.delivery.owner or "", PLATFORM_KEYS[self.delivery.platform], self.resolved.handle or "")

    def location(self, key: PathKey) -> Location:
        return self.loaded.source.location(key)

    def error(self, key: PathKey, message: str, fix: str = "") -> CampaignError:
        return CampaignError(message, location=self.location(key), field=dotted(key), fix=fix)

    @property
    def batch_key(self) -> PathKey:
        return ("batches", self.batch_index)

    @property
    def platform_key(self) -> PathKey:
        """The batch's mention of this platform (its platforms entry, or its id)."""
        batch = self.loaded.source.data["batches"][self.batch_index]
        platforms = batch.get("platforms")
        if isinstance(platforms, list) and self.delivery.platform.value in platforms:
            return (*self.batch_key, "platforms", platforms.index(self.delivery.platform.value))
        return (*self.batch_key, "id")


def expand_all(
    loaded: LoadedCampaign, *, only_batches: list[str] | None = None
) -> tuple[list[Prepared], list[CampaignError]]:
    """Every delivery that could be rendered, and every problem met on the way."""
    campaign = loaded.campaign
    renderer = renderer_for(loaded.templates_folder)
    errors: list[CampaignError] = []
    prepared: list[Prepared] = []
    media_cache: dict[str, MediaRef] = {}
    wanted = set(only_batches) if only_batches else None
    times = batch_times(campaign)
    resolver = Resolver(campaign)
    for position, (index, batch) in enumerate(loaded.indexed_batches()):
        if wanted is not None and batch.id not in wanted:
            continue
        base: PathKey = ("batches", index)
        media = _media(loaded, batch.media, base, media_cache, errors)
        at = times[position]
        when = (*base, *time_key(batch))
        shared = {
            **campaign.vars,
            **batch.vars,
            "campaign": campaign.name,
            "batch": batch.id,
            "at": at.astimezone(campaign.zone) if at else None,
        }
        for platform in campaign.platforms_of(batch):
            resolved = resolver.resolve(batch, index, platform)
            variables = {**shared, "platform": PLATFORM_KEYS[platform]}
            try:
                caption, truncated = _caption(loaded, renderer, resolved, variables, platform)
                options = _options(loaded, renderer, resolved, {**variables, "caption": caption})
            except CampaignError as exc:
                errors.append(exc)
                continue
            delivery = Delivery(
                key=delivery_key(campaign.name, batch.id, platform),
                campaign=campaign.name,
                batch_id=batch.id,
                platform=platform,
                caption=caption,
                media=tuple(media),
                at=at,
                owner=campaign.owner,
                options=options,
                limits=_text_limits(platform, resolved.premium),
            )
            prepared.append(Prepared(delivery, loaded, index, position, resolved, truncated, when))
    if wanted:
        for batch_id in sorted(wanted - {b.id for b in campaign.batches}):
            errors.append(
                CampaignError(
                    f"no batch with id '{batch_id}'",
                    location=loaded.source.location(("batches",)),
                    field="batches",
                    fix="name batches that exist in the file",
                )
            )
    return prepared, sort_errors(errors)


@cache
def _text_limits(platform: Platform, premium: bool) -> tuple[TextLimit, ...]:
    limits = platform_rules().of(platform).text_limits(premium=premium)
    return tuple(TextLimit(n.limit, n.unit, n.by) for n in limits if n.severity == "error")


def _media(
    loaded: LoadedCampaign,
    entries: list[str],
    base: PathKey,
    cache: dict[str, MediaRef],
    errors: list[CampaignError],
) -> list[MediaRef]:
    media: list[MediaRef] = []
    for m_index, entry in enumerate(entries):
        key = (*base, "media", m_index)
        try:
            if entry not in cache:
                cache[entry] = resolve_media(
                    entry, loaded.folder, location=loaded.source.location(key), field=dotted(key)
                )
            media.append(cache[entry])
        except CampaignError as exc:
            errors.append(exc)
    return media


def _caption(
    loaded: LoadedCampaign,
    renderer: Renderer,
    resolved: Resolved,
    variables: dict[str, Any],
    platform: Platform,
) -> tuple[str, bool]:
    source = loaded.source
    text = renderer.render(
        resolved.caption,
        variables,
        location=source.location(resolved.caption_at),
        field=dotted(resolved.caption_at),
    )
    if resolved.template is not None and resolved.template_at is not None:
        text = renderer.render(
            resolved.template,
            {**variables, "caption": text},
            location=source.location(resolved.template_at),
            field=dotted(resolved.template_at),
        )
    if not resolved.truncate:
        return text, False
    shortened = truncate(text, platform_rules().of(platform).text_limits(premium=resolved.premium))
    return shortened, shortened != text


def _options(
    loaded: LoadedCampaign, renderer: Renderer, resolved: Resolved, variables: dict[str, Any]
) -> dict[str, Any]:
    if not resolved.options:
        return {}
    options: dict[str, Any] = {}
    for name, value in resolved.options.items():
        at = resolved.option_at[name]
        options[name] = (
            renderer.render(value, variables, location=loaded.source.location(at), field=dotted(at))
            if isinstance(value, str)
            else value
        )
    return options
