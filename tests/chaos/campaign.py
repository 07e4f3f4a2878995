"""The chaos campaign: 250 batches × 4 platforms = 1,000 deliveries, each with a caption of its own.

Instagram needs an image, so every batch carries the same local one: it is uploaded once per
provider (the ledger's media cache) and every create after that only refers to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from postdeck.core.keys import DeliveryKey

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "campaigns" / "media" / "spring-roast.jpg"
NAME = "chaos"
PLATFORMS = ("twitter", "linkedin", "bluesky", "instagram")


def caption(index: int) -> str:
    return f"Chaos batch {index:03d} from Northside Roasters"


def batch_id(index: int) -> str:
    return f"b{index:03d}"


def write_campaign(folder: Path, batches: int) -> Path:
    """A valid campaign file in `folder` (with its media), published now (no `at`, no cadence)."""
    (folder / "media").mkdir(parents=True, exist_ok=True)
    shutil.copy(IMAGE, folder / "media" / "roast.jpg")
    lines = [
        f"name: {NAME}",
        "timezone: UTC",
        "vars: {brand: Northside Roasters}",
        f"defaults: {{platforms: [{', '.join(PLATFORMS)}]}}",
        "batches:",
    ]
    for i in range(batches):
        text = caption(i).replace("Northside Roasters", "{{ brand }}")
        lines += [f"  - id: {batch_id(i)}", f'    caption: "{text}"', "    media: [media/roast.jpg]"]
    path = folder / f"{NAME}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_keys(batches: int) -> dict[str, tuple[str, str]]:
    """Every delivery key of the campaign → (caption, platform) the simulators will show it under."""
    return {
        str(DeliveryKey(NAME, batch_id(i), platform)): (caption(i), platform)
        for i in range(batches)
        for platform in PLATFORMS
    }
