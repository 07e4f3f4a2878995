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


# The fields the accounts and the batches add to a platform's block (shared by the nine platforms).
_HANDLE = Field(
    default=None,
    description="The account's handle. Campaigns naming the same handle share its posting caps, "
    "minimum spacing and duplicate-caption checks.",
)
_PREMIUM = Field(default=False, description="X Premium account: longer posts (25,000 weighted characters).")
_SPACING = Field(
    default=None,
    description="The least time between two posts to this account, e.g. 1h (overrides the "
    "campaign's min_spacing for this platform).",
)
_CAPTION = Field(default=None, min_length=1, description="This platform's caption (a Jinja template).")

# The blocks of the accounts and of the batches: each platform's settings, with a few fields more.
# (The block comes first among the bases so that its fields follow the platform's, as they always have.)


class _AccountBlock(_Strict):
    handle: str | None = _HANDLE
    min_spacing: Duration | None = _SPACING


class _BatchBlock(_Strict):
    caption: str | None = _CAPTION


class TwitterAccount(_AccountBlock, TwitterSettings):
    """X (Twitter). The account postdeck posts to."""

    premium: bool = _PREMIUM


class LinkedinAccount(_AccountBlock, LinkedinSettings):
    """LinkedIn. The account postdeck posts to."""


class InstagramAccount(_AccountBlock, InstagramSettings):
    """Instagram. The account postdeck posts to."""


class FacebookAccount(_AccountBlock, FacebookSettings):
    """Facebook Page. The account postdeck posts to."""


class TiktokAccount(_AccountBlock, TiktokSettings):
    """TikTok. The account postdeck posts to."""


class ThreadsAccount(_AccountBlock, ThreadsSettings):
    """Threads. The account postdeck posts to."""


class BlueskyAccount(_AccountBlock, BlueskySettings):
    """Bluesky. The account postdeck posts to."""


class YoutubeAccount(_AccountBlock, YoutubeSettings):
    """YouTube: the caption is the video's description. The account postdeck posts to."""


class PinterestAccount(_AccountBlock, PinterestSettings):
    """Pinterest: the caption is the Pin's description. The account postdeck posts to."""


class TwitterBatchSettings(_BatchBlock, TwitterSettings):
    """X (Twitter). Overrides for this batch."""


class LinkedinBatchSettings(_BatchBlock, LinkedinSettings):
    """LinkedIn. Overrides for this batch."""


class InstagramBatchSettings(_BatchBlock, InstagramSettings):
    """Instagram. Overrides for this batch."""


class FacebookBatchSettings(_BatchBlock, FacebookSettings):
    """Facebook Page. Overrides for this batch."""


class TiktokBatchSettings(_BatchBlock, TiktokSettings):
    """TikTok. Overrides for this batch."""


class ThreadsBatchSettings(_BatchBlock, ThreadsSettings):
    """Threads. Overrides for this batch."""


class BlueskyBatchSettings(_BatchBlock, BlueskySettings):
    """Bluesky. Overrides for this batch."""


class YoutubeBatchSettings(_BatchBlock, YoutubeSettings):
    """YouTube: the caption is the video's description. Overrides for this batch."""


class PinterestBatchSettings(_BatchBlock, PinterestSettings):
    """Pinterest: the caption is the Pin's description. Overrides for this batch."""


ACCOUNT: dict[Platform, type[PlatformSettings]] = {
    Platform.TWITTER: TwitterAccount,
    Platform.LINKEDIN: LinkedinAccount,
    Platform.INSTAGRAM: InstagramAccount,
    Platform.FACEBOOK: FacebookAccount,
    Platform.TIKTOK: TiktokAccount,
    Platform.THREADS: ThreadsAccount,
    Platform.BLUESKY: BlueskyAccount,
    Platform.YOUTUBE: YoutubeAccount,
    Platform.PINTEREST: PinterestAccount,
}
BATCH: dict[Platform, type[PlatformSettings]] = {
    Platform.TWITTER: TwitterBatchSettings,
    Platform.LINKEDIN: LinkedinBatchSettings,
    Platform.INSTAGRAM: InstagramBatchSettings,
    Platform.FACEBOOK: FacebookBatchSettings,
    Platform.TIKTOK: TiktokBatchSettings,
    Platform.THREADS: ThreadsBatchSettings,
    Platform.BLUESKY: BlueskyBatchSettings,
    Platform.YOUTUBE: YoutubeBatchSettings,
    Platform.PINTEREST: PinterestBatchSettings,
}

OPTION_FIELDS: dict[Platform, tuple[str, ...]] = {
    p: tuple(name for name in model.model_fields if name not in SETTINGS_FIELDS)
    for p, model in SETTINGS.items()
}
"""The provider options of each platform (what lands in Delivery.options)."""

# The batches' blocks under the shorter names the containers' annotations use.
TwitterBatch = TwitterBatchSettings
BlueskyBatch = BlueskyBatchSettings
ThreadsBatch = ThreadsBatchSettings
InstagramBatch = InstagramBatchSettings
FacebookBatch = FacebookBatchSettings
LinkedinBatch = LinkedinBatchSettings
TiktokBatch = TiktokBatchSettings
YoutubeBatch = YoutubeBatchSettings
PinterestBatch = PinterestBatchSettings
