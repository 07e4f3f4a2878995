"""Seed 000's Python API on postdeck: SocialPostingService, the provider classes, PostResult.

    from postdeck.service import SocialPostingService, PostForMeProvider, LateProvider, PostResult

See docs/seed-operations.md for every seed operation and its postdeck API and command.
"""

from __future__ import annotations

from postdeck.service.results import AccountInfo, PostResult
from postdeck.service.seed_providers import LateProvider, PostForMeProvider, SocialPostingProvider
from postdeck.service.selection import Selection
from postdeck.service.service import SocialPostingService

__all__ = [
    "AccountInfo",
    "LateProvider",
    "PostForMeProvider",
    "PostResult",
    "Selection",
    "SocialPostingProvider",
    "SocialPostingService",
]
