"""The platforms postdeck posts to, by postdeck's (and the seed's) names."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    """The nine platforms of the seed, by postdeck's (and the seed's) names."""

    TWITTER = "twitter"
    LINKEDIN = "linkedin"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    TIKTOK = "tiktok"
    THREADS = "threads"
    BLUESKY = "bluesky"
    YOUTUBE = "youtube"
    PINTEREST = "pinterest"


ALL_PLATFORMS: tuple[Platform, ...] = tuple(Platform)
