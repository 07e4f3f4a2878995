"""A delivery: one batch × platform, rendered, with its key and hashes.

A delivery is the unit of exactly-once. Its key (the string form of postdeck.core.keys.DeliveryKey)
names it for ever; its
content hash and schedule hash are kept apart so a plan can tell an edit from a reschedule.
(Kept apart from deliveries.py, which expands a campaign into these, so that expansion.py can build
them without importing its own caller.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from postdeck.core.platform import Platform
from postdeck.schemas.media import MediaRef


@dataclass(frozen=True)
class TextLimit:
    """One limit a caption is held to, in a unit of counting.py (by: the platform or a provider)."""

    value: int
    unit: str
    by: str = "platform"


@dataclass(frozen=True)
class CaptionLength:
    """A caption's length against its tightest limit, e.g. 212 of 280 x_weighted."""

    length: int
    limit: int
    unit: str

    @property
    def fits(self) -> bool:
        return self.length <= self.limit


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
    # The text limits of this platform (and account); derived, so not part of equality or hashes.
    limits: tuple[TextLimit, ...] = field(default=(), compare=False)
    # An occurrence of a repeating batch: its rule as the plan shows it, and how far ahead the
    # campaign plans occurrences (None: not an occurrence).
    repeat: str = ""
    horizon_days: int | None = None

    def beyond_horizon(self, now: datetime) -> bool:
        """An occurrence too far ahead of `now` to be planned yet (the scheduled sync publishes it later)."""
        return (
            self.horizon_days is not None
            and self.at is not None
            and self.at > now + timedelta(days=self.horizon_days)
        )

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

    def caption_length(self) -> CaptionLength | None:
        """The caption against its tightest limit (the highest length/limit ratio)."""
        from postdeck.schemas.counting import measure  # twitter-text loads only when asked

        measured = [
            CaptionLength(measure(self.caption, lim.unit), lim.value, lim.unit) for lim in self.limits
        ]
        return max(measured, key=lambda m: m.length / m.limit, default=None)
