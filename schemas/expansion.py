"""Render a loaded campaign into deliveries, keeping what validation needs to say where a problem is.

Per batch × platform: resolve the settings layers, render the caption (and the wrapper template
around it), shorten it when `truncate` is on (the caption inside the wrapper, so that the wrapper's
own text stays whole), render the provider options, attach media and time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.errors import CampaignError, Location
from postdeck.schemas.campaign import Batch
from postdeck.schemas.delivery import Delivery, TextLimit, ThreadPart
from postdeck.schemas.findings import PLATFORM_KEYS
from postdeck.schemas.loader import LoadedCampaign, sort_errors
from postdeck.schemas.media import MediaRef, resolve_media
from postdeck.schemas.render import Renderer, renderer_for
from postdeck.schemas.repeat import RepeatError, occurrences, rule_text
from postdeck.schemas.rules import platform_rules
from postdeck.schemas.schedule import campaign_times, time_key
from postdeck.schemas.settings import Resolved, Resolver
from postdeck.schemas.source import PathKey, dotted
from postdeck.schemas.truncate import truncate


@dataclass(slots=True)
class Prepared:
    """A delivery and where its parts were written. Read-only by convention (not frozen: see
    settings.Resolved)."""

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
    loaded: LoadedCampaign,
    *,
    only_batches: list[str] | None = None,
    renderers: dict[Path, Renderer] | None = None,
) -> tuple[list[Prepared], list[CampaignError]]:
    """Every delivery that could be rendered, and every problem met on the way.

    `renderers` (by templates folder) lets the files of one validation run share their renderer,
    its compiled templates and its outputs (one Renderer costs as much as rendering a small file).
    """
    campaign = loaded.campaign
    renderer = renderers.get(loaded.templates_folder) if renderers is not None else None
    if renderer is None:
        renderer = renderer_for(loaded.templates_folder)
        if renderers is not None:
            renderers[loaded.templates_folder] = renderer
    captions = _Captions(loaded, renderer)
    errors: list[CampaignError] = []
    prepared: list[Prepared] = []
    media_cache: dict[str, MediaRef] = {}
    wanted = set(only_batches) if only_batches else None
    times, time_errors = campaign_times(loaded)
    errors.extend(time_errors)
    resolver = Resolver(campaign)
    name, owner, zone = campaign.name, campaign.owner, campaign.zone
    for position, (index, batch) in enumerate(loaded.indexed_batches()):
        if wanted is not None and batch.id not in wanted:
            continue
        base: PathKey = ("batches", index)
        media = tuple(_media(loaded, batch.media, base, media_cache, errors))
        part_media = [
            tuple(_media(loaded, part.media, (*base, "thread", j), media_cache, errors))
            for j, part in enumerate(batch.thread or ())
        ]
        when = (*base, *time_key(batch))
        for slot in _slots(loaded, batch, index, times[position], errors):
            at = slot.at
            shared = {
                **campaign.vars,
                **batch.vars,
                "campaign": name,
                "batch": batch.id,
                "at": at.astimezone(zone) if at else None,
                **slot.variables,
            }
            captions.next_batch()
            for platform in campaign.platforms_of(batch):
                resolved = resolver.resolve(slot.batch, index, platform)
                if slot.caption_at is not None and resolved.caption_at == (*base, "caption"):
                    resolved.caption_at = slot.caption_at  # a caption of the rotation
                variables = {**shared, "platform": PLATFORM_KEYS[platform]}
                try:
                    caption, truncated = captions.caption(resolved, variables, platform)
                    options = _options(loaded, captions.renderer, resolved, variables, caption)
                    thread: tuple[ThreadPart, ...] = ()
                    if batch.thread:
                        parts = [
                            captions.part(
                                part.caption, (*base, "thread", j, "caption"), variables, resolved, platform
                            )
                            for j, part in enumerate(batch.thread)
                        ]
                        thread = tuple(
                            ThreadPart(text, m) for (text, _), m in zip(parts, part_media, strict=True)
                        )
                        truncated = truncated or any(shortened for _, shortened in parts)
                except CampaignError as exc:
                    errors.append(exc)
                    continue
                delivery = Delivery(
                    key=str(
                        DeliveryKey(name, slot.batch_id, PLATFORM_KEYS[platform], owner=owner)
                    ),  # a str formats faster; scoped by the owner, so two users' campaigns never share one
                    campaign=name,
                    batch_id=slot.batch_id,
                    platform=platform,
                    caption=caption,
                    media=media,
                    at=at,
                    owner=owner,
                    options=options,
                    limits=_text_limits(platform, resolved.premium),
                    comment_limits=_comment_limits(platform, resolved.premium)
                    if "first_comment" in options
                    else (),
                    thread=thread,
                    repeat=slot.rule,
                    horizon_days=campaign.horizon_days if slot.rule else None,
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


@dataclass(frozen=True, slots=True)
class _Slot:
    """One time a batch goes out: the batch itself, or one occurrence of its repeat."""

    batch_id: str
    at: datetime | None
    batch: Batch  # the batch, its caption replaced by the rotation's for this occurrence
    caption_at: PathKey | None = None  # where the rotation's caption was written
    rule: str = ""  # the repeat rule, as the plan shows it
    variables: dict[str, Any] = field(default_factory=dict)


def _slots(
    loaded: LoadedCampaign, batch: Batch, index: int, at: datetime | None, errors: list[CampaignError]
) -> list[_Slot]:
    repeat = batch.repeat
    if repeat is None or at is None:  # a repeat without `at` is a structure error, reported there
        return [_Slot(batch.id, at, batch)]
    key: PathKey = ("batches", index, "repeat")
    try:
        found = occurrences(batch.id, at, loaded.campaign.zone, repeat)
    except RepeatError as exc:
        errors.append(CampaignError(str(exc), location=loaded.source.location(key), field=dotted(key)))
        return []
    rotated = [batch] + [batch.model_copy(update={"caption": text}) for text in repeat.captions]
    return [
        _Slot(
            o.batch_id,
            o.at,
            rotated[o.caption],
            (*key, "captions", o.caption - 1) if o.caption else None,
            rule_text(repeat, o),
            {"occurrence": o.number, "occurrences": o.total},
        )
        for o in found
    ]


@cache
def _text_limits(platform: Platform, premium: bool) -> tuple[TextLimit, ...]:
    limits = platform_rules().of(platform).text_limits(premium=premium)
    return tuple(TextLimit(n.limit, n.unit, n.by) for n in limits if n.severity == "error")


@cache
def _comment_limits(platform: Platform, premium: bool) -> tuple[TextLimit, ...]:
    """A first comment's own limits, where documented; () where the caption's apply."""
    rules = platform_rules().of(platform)
    if not rules.comment:
        return ()
    return tuple(TextLimit(n.limit, n.unit, n.by) for n in rules.comment if n.severity == "error")


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


class _Captions:
    """Renders the captions of one campaign, batch by batch.

    A batch's platforms mostly share its caption and their style's wrapper; what does not read
    `platform` (and includes no other file, which might) renders once per batch, not per platform.
    Failures are not remembered: each platform reports its own, as before.
    """

    def __init__(self, loaded: LoadedCampaign, renderer: Renderer) -> None:
        self.source = loaded.source
        self.renderer = renderer
        self._bodies: dict[str, str] = {}  # this batch's: caption template -> rendered
        self._wrapped: dict[tuple[str, str], str] = {}  # (wrapper template, body) -> rendered
        self._where: dict[PathKey, tuple[Location, str]] = {}

    def next_batch(self) -> None:
        self._bodies.clear()
        self._wrapped.clear()

    def caption(self, resolved: Resolved, variables: dict[str, Any], platform: Platform) -> tuple[str, bool]:
        """The caption of one delivery, and whether `truncate` shortened it."""
        body = self._bodies.get(resolved.caption)
        if body is None:
            body = self._render(resolved.caption, resolved.caption_at, variables)
            if not _reads_platform(resolved.caption):
                self._bodies[resolved.caption] = body
        template, template_at = resolved.template, resolved.template_at
        wrap = None
        if template is not None and template_at is not None:
            wrap = partial(self._wrap, template, template_at, variables)
        text = body if wrap is None else wrap(body)
        if not resolved.truncate:
            return text, False
        # Truncate the body inside the wrapper, so that the wrapper's own text stays whole.
        shortened = truncate(body, platform_rules().of(platform).text_limits(premium=resolved.premium), wrap)
        return shortened, shortened != text

    def part(
        self, template: str, at: PathKey, variables: dict[str, Any], resolved: Resolved, platform: Platform
    ) -> tuple[str, bool]:
        """A thread part, and whether `truncate` shortened it: rendered like a caption, without the
        wrapper (that dresses the first post); under `truncate`, shortened to the platform's limits
        as the caption is (each part is a post of its own, held to the same limits)."""
        text = self._render(template, at, variables)
        if not resolved.truncate:
            return text, False
        shortened = truncate(text, platform_rules().of(platform).text_limits(premium=resolved.premium))
        return shortened, shortened != text

    def _wrap(self, template: str, at: PathKey, variables: dict[str, Any], caption: str) -> str:
        """The wrapper template rendered around `caption`."""
        key = (template, caption)
        text = self._wrapped.get(key)
        if text is None:
            text = self._render(template, at, {**variables, "caption": caption})
            if not _reads_platform(template):
                self._wrapped[key] = text
        return text

    def _render(self, template: str, at: PathKey, variables: dict[str, Any]) -> str:
        where = self._where.get(at)
        if where is None:  # a style's wrapper is rendered for many batches: look its place up once
            where = self._where[at] = (self.source.location(at), dotted(at))
        return self.renderer.render(template, variables, location=where[0], field=where[1])


_INCLUDES = re.compile(r"\{%[-+]?\s*(?:include|import|extends|from)\b")  # a tag that reads another file


def _reads_platform(template: str) -> bool:
    """Whether the template's output may depend on `platform`: Jinja reads a variable only by its
    name (the sandbox hides the context), unless another template file is pulled in."""
    return "platform" in template or ("{%" in template and _INCLUDES.search(template) is not None)


def _options(
    loaded: LoadedCampaign, renderer: Renderer, resolved: Resolved, variables: dict[str, Any], caption: str
) -> dict[str, Any]:
    """The provider options, rendered (their templates see the caption too)."""
    if not resolved.options:
        return {}
    variables = {**variables, "caption": caption}
    options: dict[str, Any] = {}
    for name, value in resolved.options.items():
        at = resolved.option_at[name]
        options[name] = (
            renderer.render(value, variables, location=loaded.source.location(at), field=dotted(at))
            if isinstance(value, str)
            else value
        )
    return options
