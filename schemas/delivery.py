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
from functools import cached_property

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
class ThreadPart:
    """A post of a thread after the delivery's caption, with its own media."""

    caption: str
    media: tuple[MediaRef, ...] = ()


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
    options: dict[str, object] = field(default_factory=dict)
    # The text limits of this platform (and account); derived, so not part of equality or hashes.
    limits: tuple[TextLimit, ...] = field(default=(), compare=False)
    # A first comment's, where the platform documents its own (else the caption's apply).
    comment_limits: tuple[TextLimit, ...] = field(default=(), compare=False)
    # The posts after the caption when the delivery is a thread (one create, one key for all of them).
    thread: tuple[ThreadPart, ...] = ()
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

    # Cached: a plan, its JSON and its hash each ask for it (a frozen dataclass keeps the value in
    # the instance's __dict__; equality and dataclasses.replace never see it).
    @cached_property
    def content_hash(self) -> str:
        content: dict[str, object] = {
            "caption": self.caption,
            "media": [m.digest for m in self.media],
            "options": self.options,
        }
        if self.thread:  # only when there is one: the hashes of every other delivery stay as they were
            content["thread"] = [
                {"caption": p.caption, "media": [m.digest for m in p.media]} for p in self.thread
            ]
        material = json.dumps(content, sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    @cached_property
    def schedule_hash(self) -> str:
        return hashlib.sha256((self.at.isoformat() if self.at else "now").encode()).hexdigest()

    def caption_length(self) -> CaptionLength | None:
        """The caption against its tightest limit (the highest length/limit ratio)."""
        return self.text_length(self.caption)

    def thread_lengths(self) -> tuple[CaptionLength | None, ...]:
        """Each thread part against its tightest limit, in order (the caption's is caption_length)."""
        return tuple(self.text_length(part.caption) for part in self.thread)

    def comment_length(self, text: str) -> CaptionLength | None:
        """The first comment against its tightest limit (the comment's own, else the caption's)."""
        return self.text_length(text, self.comment_limits or self.limits)

    def text_length(self, text: str, limits: tuple[TextLimit, ...] | None = None) -> CaptionLength | None:
        """Any text of this delivery (a thread part) against its tightest limit (of `limits`, else
        the caption's)."""
        from postdeck.schemas.counting import measure  # twitter-text loads only when asked

        limits = self.limits if limits is None else limits
        measured = [CaptionLength(measure(text, lim.unit), lim.value, lim.unit) for lim in limits]
        return max(measured, key=lambda m: m.length / m.limit, default=None)
