"""The campaign file: pydantic models, strict (unknown keys are errors), with the nine platforms.

Settings stack up from general to specific, the last one set wins:
`defaults` → `defaults.<platform>` → `accounts.<platform>` → the batch's style → `<style>.<platform>`
→ the batch → `batch.<platform>`. Checks that span several fields (duplicate batch ids, unknown
styles, ...) live in structure.py, so they are reported together with the field errors.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from postdeck.core.keys import owner_scope
from postdeck.core.platform import Platform
from postdeck.schemas.durations import Duration
from postdeck.schemas.platform_options import (
    BlueskyAccount,
    BlueskyBatch,
    BlueskySettings,
    FacebookAccount,
    FacebookBatch,
    FacebookSettings,
    InstagramAccount,
    InstagramBatch,
    InstagramSettings,
    LinkedinAccount,
    LinkedinBatch,
    LinkedinSettings,
    PinterestAccount,
    PinterestBatch,
    PinterestSettings,
    PlatformSettings,
    ThreadsAccount,
    ThreadsBatch,
    ThreadsSettings,
    TiktokAccount,
    TiktokBatch,
    TiktokSettings,
    TwitterAccount,
    TwitterBatch,
    TwitterSettings,
    YoutubeAccount,
    YoutubeBatch,
    YoutubeSettings,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
"""Lowercase letters, digits and dashes: safe in keys, URLs and Prefect names."""


LatePolicy = Literal["skip", "publish_now", "fail"]
Fold = Literal[0, 1]
_FOLD = (
    "Which of a local time that happens twice (the hour the clocks go back) is meant: 0 the first, "
    "1 the second. Without it (or an offset in the time) such a time is refused."
)

# YAML times as people write them: a date, or a date and time, with or without an offset. (JSON
# Schema's date-time format would reject the naive times the campaign's timezone applies to.)
_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$"
Moment = Annotated[datetime, WithJsonSchema({"type": "string", "pattern": _TIME_PATTERN})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _date_only_is_midnight(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


class PerPlatform(PlatformSettings):
    """Settings for every platform, then per platform (each platform's block wins over these)."""

    twitter: TwitterSettings | None = None
    bluesky: BlueskySettings | None = None
    threads: ThreadsSettings | None = None
    instagram: InstagramSettings | None = None
    facebook: FacebookSettings | None = None
    linkedin: LinkedinSettings | None = None
    tiktok: TiktokSettings | None = None
    youtube: YoutubeSettings | None = None
    pinterest: PinterestSettings | None = None


class Defaults(PerPlatform):
    """What a batch inherits when it does not say (per-network defaults)."""

    platforms: list[Platform] = Field(default_factory=list, description="Platforms every batch posts to.")
    style: Slug | None = Field(default=None, description="The style of batches that name none.")


class Style(PerPlatform):
    """A reusable look, named in `styles` and chosen by a batch's `style`."""


class Accounts(_Strict):
    """The account postdeck posts to on each platform, with its own defaults."""

    twitter: TwitterAccount | None = None
    bluesky: BlueskyAccount | None = None
    threads: ThreadsAccount | None = None
    instagram: InstagramAccount | None = None
    facebook: FacebookAccount | None = None
    linkedin: LinkedinAccount | None = None
    tiktok: TiktokAccount | None = None
    youtube: YoutubeAccount | None = None
    pinterest: PinterestAccount | None = None


class Cadence(_Strict):
    """Spaces the batches that have no `at`: the first at `start`, each next one `every` later."""

    start: Moment = Field(description="When the first batch without `at` goes out (campaign timezone).")
    every: Duration = Field(description="Time between batches, e.g. 1d, 6h, 90m, 1d12h.")
    fold: Fold | None = Field(default=None, description=_FOLD)

    _midnight = field_validator("start", mode="before")(_date_only_is_midnight)


REPEAT_EVERY_PATTERN = r"^[1-9][0-9]{0,2}(d|w|mo)$"
MAX_OCCURRENCES = 1000
"""A repeat is checked over all its occurrences (caps, duplicates): it has to end somewhere near."""


class Repeat(_Strict):
    """A batch posted again and again: the first time at its `at`, then every `every` (wall-clock
    time in the campaign's timezone, so 09:00 stays 09:00 across daylight saving), up to `count`
    occurrences or the last one on or before `until`. Each occurrence is a delivery of its own,
    keyed by the batch id and its local date (`weekly@2026-12-14`)."""

    every: Annotated[str, StringConstraints(pattern=REPEAT_EVERY_PATTERN)] = Field(
        description="Days (1d), weeks (2w) or calendar months (1mo: the same day of the month, or its "
        "last day when the month is shorter)."
    )
    count: int | None = Field(
        default=None, ge=1, le=MAX_OCCURRENCES, description="How many occurrences, the first included."
    )
    until: date | None = Field(
        default=None, description="The last day an occurrence may fall on (the campaign's timezone)."
    )
    captions: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list,
        description="Evergreen: the captions (Jinja templates) of the next occurrences in turn; the "
        "batch's `caption` is the first's, then these, then the batch's again.",
    )

    @model_validator(mode="after")
    def _one_end(self) -> Repeat:
        if (self.count is None) == (self.until is None):
            raise ValueError("a repeat ends by `count` or by `until`: give exactly one of them")
        return self


class ThreadPart(_Strict):
    """One post of a thread after the batch's caption: a reply to the one before."""

    caption: str = Field(min_length=1, description="A Jinja template (sandboxed), like the batch's caption.")
    media: list[str] = Field(
        default_factory=list,
        description="This part's own media: paths relative to the campaign file, or https URLs.",
    )


class Batch(_Strict):
    """One post of the calendar, sent to each of its platforms."""

    id: Slug = Field(description="Stable id, unique in the file: the ledger keys deliveries by it.")
    at: Moment | None = Field(
        default=None,
        description="When to publish. Naive times are in the campaign's timezone. Without it: the "
        "cadence's slot, or now.",
    )
    fold: Fold | None = Field(default=None, description=_FOLD)
    caption: str = Field(min_length=1, description="A Jinja template (sandboxed).")
    media: list[str] = Field(
        default_factory=list, description="Paths relative to the campaign file, or https URLs."
    )
    platforms: list[Platform] | None = Field(default=None, description="Overrides defaults.platforms.")
    style: Slug | None = Field(default=None, description="A style of `styles`; overrides defaults.style.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Template variables of this batch.")
    truncate: bool | None = Field(
        default=None, description="Shorten over-long captions and thread parts (every platform)."
    )
    late: LatePolicy | None = Field(default=None, description="Overrides the campaign's `late` policy.")
    repeat: Repeat | None = Field(default=None, description="Post this batch again and again (needs `at`).")
    thread: list[ThreadPart] | None = Field(
        default=None,
        min_length=1,
        description="Makes the batch a thread: the caption (with the batch's media) is its first post, "
        "these parts follow in order, each a reply to the one before. Published as one post, through a "
        "provider that can thread on every platform of the batch (Zernio/LATE: X, Threads, Bluesky).",
    )
    first_comment: str | None = Field(
        default=None,
        min_length=1,
        description="A comment posted under the post as it is published (a Jinja template), on every "
        "platform of the batch; only through a provider that can (Zernio/LATE: Facebook, Instagram, "
        "LinkedIn, YouTube). A platform block's first_comment wins over this.",
    )

    twitter: TwitterBatch | None = None
    bluesky: BlueskyBatch | None = None
    threads: ThreadsBatch | None = None
    instagram: InstagramBatch | None = None
    facebook: FacebookBatch | None = None
    linkedin: LinkedinBatch | None = None
    tiktok: TiktokBatch | None = None
    youtube: YoutubeBatch | None = None
    pinterest: PinterestBatch | None = None

    _midnight = field_validator("at", mode="before")(_date_only_is_midnight)


class Campaign(_Strict):
    """A campaign: a calendar of batches published to social platforms."""

    name: Slug = Field(description="The campaign's name; with batch ids it keys the ledger.")
    timezone: str = Field(default="UTC", description="IANA timezone for naive times, e.g. Europe/Berlin.")
    owner: str | None = Field(default=None, description="User whose stored provider keys are used.")
    late: LatePolicy = Field(
        default="fail",
        description="A batch whose time has passed when publishing runs: skip it, publish it now, "
        "or fail (the default).",
    )
    retry_failed: bool = Field(
        default=False,
        description="When a scheduled post fails at its provider, sync-post-status sends it again through "
        "the next provider in the chain (within retry_window_hours of its time).",
    )
    retry_window_hours: float = Field(
        default=6, gt=0, description="How long after its time a failed scheduled post may still be re-sent."
    )
    horizon_days: int = Field(
        default=60,
        ge=1,
        le=3660,
        description="How far ahead occurrences of repeating batches are planned and published; later "
        "ones are published as they come within it (by the scheduled sync).",
    )
    min_spacing: Duration | None = Field(
        default=None,
        description="The least time between two posts to one account, e.g. 30m or 2h, checked over every "
        "occurrence and across the campaigns validated together; `accounts.<platform>.min_spacing` wins "
        "for its platform. Off by default: no platform documents one (only caps per window).",
    )
    cadence: Cadence | None = None
    vars: dict[str, Any] = Field(default_factory=dict, description="Template variables of every batch.")
    defaults: Defaults = Field(default_factory=Defaults)
    accounts: Accounts = Field(default_factory=Accounts)
    styles: dict[Slug, Style] = Field(default_factory=dict, description="Named styles batches can use.")
    batches: list[Batch] = Field(min_length=1)

    @field_validator("owner")
    @classmethod
    def _owner_is_a_user_id(cls, value: str | None) -> str | None:
        owner_scope(
            value
        )  # it scopes the campaign's delivery keys (postdeck.core.keys): ValueError if it cannot
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
            raise ValueError(f"unknown timezone '{value}' (use an IANA name like Europe/Berlin)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def platforms_of(self, batch: Batch) -> list[Platform]:
        return list(batch.platforms if batch.platforms is not None else self.defaults.platforms)

    def style_of(self, batch: Batch) -> tuple[str, Style] | None:
        name = batch.style or self.defaults.style
        return (name, self.styles[name]) if name and name in self.styles else None
