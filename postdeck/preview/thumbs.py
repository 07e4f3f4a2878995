"""Media thumbnails in the network's crop, written beside the page (thumbs/), made with Pillow.

The crop is the one platform_rules.yaml knows: the nearest of a kind's `aspects` (TikTok photos),
or the aspect clamped to `min_aspect`..`max_aspect` (Instagram's 4:5..1.91:1); otherwise the image
keeps its own shape. Remote media are not fetched (the preview stays offline), videos get no frame:
each is shown as a labelled placeholder. Thumbnail names come from the file's hash, never its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from postdeck.core.platform import Platform
from postdeck.schemas.findings import PLATFORM_NAMES
from postdeck.schemas.media import MediaRef
from postdeck.schemas.media_probe import probe
from postdeck.schemas.rules import platform_rules

SIZE = 360  # the longer side, in pixels


def crop_aspect(platform: Platform, aspect: float) -> float:
    """The aspect ratio `platform` shows an image of `aspect` in."""
    rules = platform_rules().of(platform).media.kinds.get("image")
    if rules is None:
        return aspect
    if rules.aspects:
        return min((a.value for a in rules.aspects), key=lambda a: abs(a - aspect))
    low = rules.min_aspect.value if rules.min_aspect else aspect
    high = rules.max_aspect.value if rules.max_aspect else aspect
    return min(max(aspect, low), high)


class Thumbnails:
    """Makes each (file, crop) once per site and remembers what it made."""

    def __init__(self, out: Path) -> None:
        self.folder = out / "thumbs"
        self._made: dict[tuple[str, float], str | None] = {}
        self._shown: dict[tuple[str, str, Platform], dict[str, Any]] = {}

    def media(self, ref: MediaRef, platform: Platform) -> dict[str, Any]:
        """What the page shows for one media entry: its name, kind, and a thumbnail if one was made."""
        key = (ref.digest, ref.filename, platform)
        if key not in self._shown:  # one file is often in every batch of a campaign
            self._shown[key] = self._media(ref, platform)
        return self._shown[key]

    def _media(self, ref: MediaRef, platform: Platform) -> dict[str, Any]:
        info = probe(ref)
        entry: dict[str, Any] = {"name": ref.filename, "kind": info.kind, "thumb": None, "crop": ""}
        if ref.path is None or info.kind != "image" or info.problem or not info.aspect:
            entry["alt"] = f"{info.kind} {ref.filename} (no preview)"
            return entry
        aspect = crop_aspect(platform, info.aspect)
        entry["crop"] = _ratio_name(aspect)
        entry["thumb"] = self._thumb(ref, aspect)
        cropped = abs(aspect - info.aspect) > 0.005
        how = f"cropped by {PLATFORM_NAMES[platform]} to {entry['crop']}" if cropped else entry["crop"]
        entry["alt"] = f"image {ref.filename} ({how})"
        return entry

    def _thumb(self, ref: MediaRef, aspect: float) -> str | None:
        key = (ref.digest, round(aspect, 4))
        if key not in self._made:
            self._made[key] = self._write(ref, aspect)
        return self._made[key]

    def _write(self, ref: MediaRef, aspect: float) -> str | None:
        assert ref.path is not None
        name = f"{(ref.sha256 or 'x')[:20]}-{round(aspect * 1000)}.jpg"
        target = self.folder / name
        if not target.exists():  # same bytes, same crop: the same thumbnail as last time
            try:
                with Image.open(ref.path) as image:
                    shown = ImageOps.exif_transpose(image).convert("RGB")
            except (OSError, Image.DecompressionBombError, ValueError):
                return None
            size = (SIZE, round(SIZE / aspect)) if aspect >= 1 else (round(SIZE * aspect), SIZE)
            self.folder.mkdir(parents=True, exist_ok=True)
            ImageOps.fit(shown, size).save(target, "JPEG", quality=80)
        return f"thumbs/{name}"


def _ratio_name(aspect: float) -> str:
    known = {0.5625: "9:16", 0.75: "3:4", 0.8: "4:5", 1.0: "1:1", 1.7778: "16:9", 1.91: "1.91:1"}
    for value, name in known.items():
        if abs(value - aspect) < 0.005:
            return name
    return f"{aspect:.2f}:1"
