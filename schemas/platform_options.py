"""Per-platform settings blocks: how a caption is dressed for one platform, and the options its
provider needs (the names providers map: youtube title/privacy, tiktok privacy, pinterest
board/link, facebook page/placement, linkedin organization, instagram placement).

The same block appears at four levels (defaults, accounts, styles, batches); each level adds a
few fields of its own (an account's handle, a batch's caption).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from postdeck.core.platform import Platform
from postdeck.schemas.durations import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _id_to_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


NumericId = Annotated[
    str,
    BeforeValidator(_id_to_text),
    StringConstraints(pattern=r"^[0-9]{1,32}$"),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": "^[0-9]{1,32}$"}, {"type": "integer", "minimum": 0}]}
    ),
]  # YAML reads 1234 as a number; ids are kept as text

Placement = Literal["reels", "stories", "timeline"]
TikTokPrivacy = Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]

SETTINGS_FIELDS = frozenset({"template", "truncate"})
"""Fields that shape the caption; every other field of a block is a provider option."""


class PlatformSettings(_Strict):
    template: str | None = Field(
        default=None,
        description="Jinja template wrapping the caption, e.g. '🚨 {{ caption }} 🚨'; may "
        "{% include %} files of the campaign's templates/ folder.",
    )
    truncate: bool | None = Field(
        default=None,
        description="Shorten an over-long caption (and each part of a thread) to the platform's limit, "
        "on a word boundary with an ellipsis, counting the platform's own way. Off by default: too long "
        "is an error.",
    )
    first_comment: str | None = Field(
        default=None,
        min_length=1,
        description="A comment posted under the post as it is published (a Jinja template, checked like "
        "a caption). Only some providers can (Zernio/LATE on Facebook, Instagram, LinkedIn, YouTube): "
        "the post goes only through those.",
    )


class TwitterSettings(PlatformSettings):
    """X (Twitter)."""


class BlueskySettings(PlatformSettings):
    """Bluesky."""


class ThreadsSettings(PlatformSettings):
    """Threads."""


class InstagramSettings(PlatformSettings):
    """Instagram."""

    placement: Placement | None = Field(default=None, description="reels, stories or timeline.")


class FacebookSettings(PlatformSettings):
    """Facebook Page."""

    page: NumericId | None = Field(default=None, description="Facebook Page id.")
    placement: Placement | None = Field(default=None, description="reels, stories or timeline.")


class LinkedinSettings(PlatformSettings):
    """LinkedIn."""

    organization: Annotated[str, StringConstraints(pattern=r"^urn:li:organization:[0-9]+$")] | None = Field(
        default=None, description="Post as this organization, e.g. urn:li:organization:1234."
    )


class TiktokSettings(PlatformSettings):
    """TikTok."""

    privacy: TikTokPrivacy | None = Field(
        default=None, description="TikTok privacy level (required for TikTok posts)."
    )


class YoutubeSettings(PlatformSettings):
    """YouTube: the caption is the video's description."""

    title: str | None = Field(
        default=None, description="Video title, a Jinja template (required for YouTube posts)."
    )
    privacy: Literal["public", "private", "unlisted"] | None = Field(
        default=None, description="Video privacy (required for YouTube posts)."
    )


class PinterestSettings(PlatformSettings):
    """Pinterest: the caption is the Pin's description."""

    board: NumericId | None = Field(default=None, description="Board id (required for Pinterest posts).")
    link: str | None = Field(default=None, description="Destination link, an https URL (Jinja template).")


SETTINGS: dict[Platform, type[PlatformSettings]] = {
    Platform.TWITTER: TwitterSettings,
    Platform.BLUESKY: BlueskySettings,
    Platform.THREADS: ThreadsSettings,
    Platform.INSTAGRAM: InstagramSettings,
    Platform.FACEBOOK: FacebookSettings,
    Platform.LINKEDIN: LinkedinSettings,
    Platform.TIKTOK: TiktokSettings,
    Platform.YOUTUBE: YoutubeSettings,
    Platform.PINTEREST: PinterestSettings,
}


def _variant(platform: Platform, suffix: str, doc: str, **fields: Any) -> type[PlatformSettings]:
    base = SETTINGS[platform]
    name = base.__name__.removesuffix("Settings") + suffix
    return create_model(name, __base__=base, __doc__=f"{base.__doc__} {doc}", **fields)


_HANDLE = (
    str | None,
    Field(
        default=None,
        description="The account's handle. Campaigns naming the same handle share its posting caps, "
        "minimum spacing and duplicate-caption checks.",
    ),
)
_PREMIUM = (
    bool,
    Field(default=False, description="X Premium account: longer posts (25,000 weighted characters)."),
)
_SPACING = (
    Duration | None,
    Field(
        default=None,
        description="The least time between two posts to this account, e.g. 1h (overrides the "
        "campaign's min_spacing for this platform).",
    ),
)
_CAPTION = (
    str | None,
    Field(default=None, min_length=1, description="This platform's caption (a Jinja template)."),
)

ACCOUNT: dict[Platform, type[PlatformSettings]] = {
    p: _variant(p, "Account", "The account postdeck posts to.", handle=_HANDLE, min_spacing=_SPACING)
    if p != Platform.TWITTER
    else _variant(
        p, "Account", "The account postdeck posts to.", handle=_HANDLE, min_spacing=_SPACING, premium=_PREMIUM
    )
    for p in Platform
}
BATCH: dict[Platform, type[PlatformSettings]] = {
    p: _variant(p, "BatchSettings", "Overrides for this batch.", caption=_CAPTION) for p in Platform
}

OPTION_FIELDS: dict[Platform, tuple[str, ...]] = {
    p: tuple(name for name in model.model_fields if name not in SETTINGS_FIELDS)
    for p, model in SETTINGS.items()
}
"""The provider options of each platform (what lands in Delivery.options)."""

# Named aliases of the generated blocks, for the containers' annotations (and the JSON Schema).
TwitterAccount = ACCOUNT[Platform.TWITTER]
BlueskyAccount = ACCOUNT[Platform.BLUESKY]
ThreadsAccount = ACCOUNT[Platform.THREADS]
InstagramAccount = ACCOUNT[Platform.INSTAGRAM]
FacebookAccount = ACCOUNT[Platform.FACEBOOK]
LinkedinAccount = ACCOUNT[Platform.LINKEDIN]
TiktokAccount = ACCOUNT[Platform.TIKTOK]
YoutubeAccount = ACCOUNT[Platform.YOUTUBE]
PinterestAccount = ACCOUNT[Platform.PINTEREST]

TwitterBatch = BATCH[Platform.TWITTER]
BlueskyBatch = BATCH[Platform.BLUESKY]
ThreadsBatch = BATCH[Platform.THREADS]
InstagramBatch = BATCH[Platform.INSTAGRAM]
FacebookBatch = BATCH[Platform.FACEBOOK]
LinkedinBatch = BATCH[Platform.LINKEDIN]
TiktokBatch = BATCH[Platform.TIKTOK]
YoutubeBatch = BATCH[Platform.YOUTUBE]
PinterestBatch = BATCH[Platform.PINTEREST]
