"""The platform rules data file (platform_rules.yaml), read into typed, validated objects.

The models forbid unknown keys, so a typo in the data file fails loudly instead of switching a
rule off. Loaded once per process.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from postdeck.core.platform import Platform
from postdeck.schemas.durations import parse_duration

RULES_FILE = Path(__file__).with_name("platform_rules.yaml")

Unit = Literal[
    "x_weighted",
    "graphemes",
    "utf8_bytes",
    "utf16",
    "threads",
    "chars",
    "bytes",
    "items",
    "pixels",
    "ratio",
    "posts",
    "replies",
    "hashtags",
    "mentions",
    "cashtags",
    "links",
    "seconds",
    "fps",
]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Number(_Data):
    """One number of the rules, with where it comes from and how sure we are."""

    value: float
    unit: Unit
    source: str
    as_of: date
    confidence: Literal["high", "medium", "low"]
    by: str = "platform"  # `platform` rejects; a provider name silently alters (also an error)
    severity: Literal["error", "warning"] = "error"
    note: str = ""

    @property
    def limit(self) -> int:
        return int(self.value)

    @property
    def cited(self) -> str:
        return f"{self.source}, {self.as_of.isoformat()}"


class Cap(Number):
    """At most `value` posts (or replies) per account in any `window`. What a thread counts for is
    the platform's: `every_post` (each of its posts, the first and every reply: X, Bluesky),
    `first_post` (one, whatever its replies: Threads' posts), `replies` (its replies only: Threads'
    replies cap, in unit `replies`)."""

    window: str
    placement: str | None = None  # the cap applies to this placement only
    counts: Literal["every_post", "first_post", "replies"] = "every_post"

    @field_validator("window")
    @classmethod
    def _window_is_a_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _replies_are_counted_in_replies(self) -> Cap:
        if (self.unit == "replies") != (self.counts == "replies"):
            raise ValueError("a cap of replies has unit `replies` and counts `replies` (and only it)")
        if self.unit not in ("posts", "replies"):
            raise ValueError(f"a cap counts posts or replies, not {self.unit}")
        return self

    def weight(self, replies: int) -> int:
        """What one delivery with `replies` thread parts after its first post counts for."""
        if self.counts == "every_post":
            return 1 + replies
        return 1 if self.counts == "first_post" else replies

    @property
    def span(self) -> timedelta:
        return parse_duration(self.window)


Measure = Literal["duration", "fps", "width", "height"]
MEASURE_UNITS: dict[str, str] = {"duration": "seconds", "fps": "fps", "width": "pixels", "height": "pixels"}


class Limit(Number):
    """A minimum or maximum of what a media file measures (a video's duration, frame rate, shown size)."""

    measure: Measure
    bound: Literal["min", "max"]

    @model_validator(mode="after")
    def _unit_fits_the_measure(self) -> Limit:
        if self.unit != MEASURE_UNITS[self.measure]:
            raise ValueError(f"a {self.measure} limit is in {MEASURE_UNITS[self.measure]}, not {self.unit}")
        return self


class KindRules(_Data):
    formats: list[str]
    max_items: Number | None = None
    max_bytes: Number | None = None
    max_pixels: Number | None = None
    min_aspect: Number | None = None
    max_aspect: Number | None = None
    aspects: list[Number] = Field(default_factory=list)  # the only aspect ratios kept uncropped
    limits: list[Limit] = Field(default_factory=list)  # durations, frame rates, sizes


class MediaRules(_Data):
    required: bool
    mixing: bool
    max_items: Number | None = None
    same_aspect_ratio: bool = False
    kinds: dict[str, KindRules]


class Placement(_Data):
    kinds: list[str]
    max_items: Number | None = None
    caption_shown: bool = True
    limits: list[Limit] | None = None  # given: these replace the kinds' limits for this placement


class OptionRule(_Data):
    required: bool = False
    provider_values: dict[str, list[str]] = Field(default_factory=dict)  # what each provider keeps as is
    note: str = ""
    max_length: Number | None = None


class Feature(_Data):
    """Something only some providers publish on a platform (a thread, a first comment)."""

    providers: list[str]
    source: str
    as_of: date
    note: str = ""


FeatureName = Literal["thread", "first_comment"]


class Forbidden(_Data):
    chars: str
    source: str
    as_of: date
    by: str = "platform"


class Rewrites(_Data):
    by: str
    source: str
    as_of: date
    checks: list[Literal["whitespace", "duplicate_hashtags"]]


class PlatformRules(_Data):
    features: dict[FeatureName, Feature] = Field(default_factory=dict)
    text: list[Number]
    text_premium: list[Number] = Field(default_factory=list)
    entities: dict[Literal["hashtags", "mentions", "cashtags", "links"], list[Number]] = Field(
        default_factory=dict
    )
    duplicate_captions: bool = False
    forbidden_chars: Forbidden | None = None
    title: list[Number] = Field(default_factory=list)
    title_forbidden_chars: Forbidden | None = None
    rewrites: Rewrites | None = None
    links_in_caption: Literal["warning"] | None = None
    options: dict[str, OptionRule] = Field(default_factory=dict)
    media: MediaRules
    placements: dict[str, Placement] = Field(default_factory=dict)
    caps: list[Cap] = Field(default_factory=list)
    # A first comment's own text limits; empty: none is documented, so the caption's apply.
    comment: list[Number] = Field(default_factory=list)
    # The least time between two posts to one account, where the platform documents one (seconds).
    min_spacing: Number | None = None

    @field_validator("min_spacing")
    @classmethod
    def _spacing_in_seconds(cls, value: Number | None) -> Number | None:
        if value is not None and (value.unit != "seconds" or value.value <= 0):
            raise ValueError("min_spacing is a positive number of seconds")
        return value

    def text_limits(self, *, premium: bool = False) -> list[Number]:
        return self.text_premium if premium and self.text_premium else self.text

    def comment_limits(self, *, premium: bool = False) -> list[Number]:
        """A first comment's limits: its own where documented, else the caption's."""
        return self.comment or self.text_limits(premium=premium)


class Rules(_Data):
    chain: list[str]
    platforms: dict[Platform, PlatformRules]

    def of(self, platform: Platform) -> PlatformRules:
        return self.platforms[platform]


@cache
def platform_rules(path: Path = RULES_FILE) -> Rules:
    """The rules, read once. Every platform must be present."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    rules = Rules.model_validate(data)
    missing = set(Platform) - set(rules.platforms)
    if missing:
        raise ValueError(f"{path.name}: no rules for {', '.join(sorted(missing))}")
    return rules


PROVIDER_NAMES = {"postforme": "Post for Me", "late": "Zernio (LATE)", "platform": "the platform"}
