"""Expand a campaign into deliveries: one per batch × platform, rendered, with keys and hashes.

A delivery is the unit of exactly-once. Its key names it for ever (campaign/batch/platform); its
content hash and schedule hash are kept apart so a plan can tell an edit from a reschedule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.providers.base import Platform
from postdeck.schemas.loader import LoadedCampaign
from postdeck.schemas.media import MediaRef, resolve_media
from postdeck.schemas.render import render_caption


def delivery_key(campaign: str, batch_id: str, platform: Platform | str, account: str | None = None) -> str:
    key = f"{campaign}/{batch_id}/{platform}"
    return f"{key}@{account}" if account else key


def post_key(campaign: str, batch_id: str, keys: list[str]) -> str:
    """The key one provider post carries: the hash of the campaign, the batch and its delivery keys."""
    material = json.dumps([campaign, batch_id, sorted(keys)])
    return "pd_" + hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Delivery:
    key: str
    campaign: str
    batch_id: str
    platform: Platform
    caption: str
    media: tuple[MediaRef, ...]
    at: datetime | None  # aware, UTC; None means publish now
    owner: str | None = None
    options: dict = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        material = json.dumps(
            {"caption": self.caption, "media": [m.digest for m in self.media], "options": self.options},
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()

    @property
    def schedule_hash(self) -> str:
        return hashlib.sha256((self.at.isoformat() if self.at else "now").encode()).hexdigest()


def expand(loaded: LoadedCampaign, *, only_batches: list[str] | None = None) -> list[Delivery]:
    """Render every batch × platform. Reports every problem of the file at once."""
    campaign = loaded.campaign
    errors: list[CampaignError] = []
    deliveries: list[Delivery] = []
    media_cache: dict[str, MediaRef] = {}  # each file is read and hashed once
    wanted = set(only_batches) if only_batches else None
    for index, batch in enumerate(campaign.batches):
        if wanted is not None and batch.id not in wanted:
            continue
        base = ("batches", index)
        media: list[MediaRef] = []
        for m_index, entry in enumerate(batch.media):
            try:
                if entry not in media_cache:
                    media_cache[entry] = resolve_media(
                        entry,
                        loaded.folder,
                        location=loaded.source.location((*base, "media", m_index)),
                        field=f"batches[{index}].media[{m_index}]",
                    )
                media.append(media_cache[entry])
            except CampaignError as exc:
                errors.append(exc)
        at = None
        if batch.at is not None:
            local = batch.at if batch.at.tzinfo else batch.at.replace(tzinfo=campaign.zone)
            at = local.astimezone(UTC)
        for platform in campaign.platforms_of(batch):
            variables = {
                **campaign.vars,
                **batch.vars,
                "campaign": campaign.name,
                "batch": batch.id,
                "platform": platform.value,
            }
            try:
                caption = render_caption(
                    batch.caption,
                    variables,
                    location=loaded.source.location((*base, "caption")),
                    field=f"batches[{index}].caption",
                )
            except CampaignError as exc:
                errors.append(exc)
                continue
            deliveries.append(
                Delivery(
                    key=delivery_key(campaign.name, batch.id, platform),
                    campaign=campaign.name,
                    batch_id=batch.id,
                    platform=platform,
                    caption=caption,
                    media=tuple(media),
                    at=at,
                    owner=campaign.owner,
                )
            )
    if wanted:
        unknown = wanted - {b.id for b in campaign.batches}
        for batch_id in sorted(unknown):
            errors.append(
                CampaignError(f"no batch with id '{batch_id}'", location=loaded.source.location(("batches",)))
            )
    if errors:
        raise CampaignErrors(_unique(errors))
    return deliveries


def _unique(errors: list[CampaignError]) -> list[CampaignError]:
    """The same template error repeats once per platform: report it once."""
    seen: set[str] = set()
    out = []
    for error in errors:
        if str(error) not in seen:
            seen.add(str(error))
            out.append(error)
    return out
