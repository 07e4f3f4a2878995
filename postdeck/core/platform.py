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

# What people call a platform besides postdeck's name, in a CLI option, a CSV cell or the seed API.
ALIASES: dict[str, Platform] = {"x": Platform.TWITTER}


def platform_named(name: str) -> Platform:
    """A platform as a person types it: any case, spaces around, `x` for twitter. The ValueError names
    the choices (callers turn it into their own error)."""
    value = name.strip().lower()
    if value in ALIASES:
        return ALIASES[value]
    try:
        return Platform(value)
    except ValueError:
        raise ValueError(
            f"unknown platform '{name.strip()}': use one of {', '.join(Platform)} (or x)"
        ) from None
