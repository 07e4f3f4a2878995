"""What validation found: errors (the file is rejected) and warnings (worth a look, not fatal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from postdeck.core.platform import Platform
from postdeck.errors import CampaignError

Severity = Literal["error", "warning"]

PLATFORM_KEYS = {p: p.value for p in Platform}
"""Each platform's plain name (reading an enum's .value is slow in hot loops)."""

PLATFORM_NAMES = {
    Platform.TWITTER: "X",
    Platform.BLUESKY: "Bluesky",
    Platform.THREADS: "Threads",
    Platform.INSTAGRAM: "Instagram",
    Platform.FACEBOOK: "Facebook",
    Platform.LINKEDIN: "LinkedIn",
    Platform.TIKTOK: "TikTok",
    Platform.YOUTUBE: "YouTube",
    Platform.PINTEREST: "Pinterest",
}


@dataclass
class Findings:
    errors: list[CampaignError] = field(default_factory=list)
    warnings: list[CampaignError] = field(default_factory=list)

    def add(self, severity: Severity, finding: CampaignError) -> None:
        (self.errors if severity == "error" else self.warnings).append(finding)

    def extend(self, other: Findings) -> None:
        self.errors += other.errors
        self.warnings += other.warnings
