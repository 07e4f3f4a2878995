"""Media thumbnails in the network's crop, written beside the page (thumbs/), made with Pillow.

The crop is the one platform_rules.yaml knows for the kind: the nearest of its `aspects` (TikTok
photos), or the aspect clamped to `min_aspect`..`max_aspect` (Instagram's 4:5..1.91:1 for images);
otherwise the media keeps its own shape. A video's thumbnail is its poster (poster.py: cover art, or
the first frame Pillow can decode, found with the optional `video` extra). Remote media are not
fetched (the preview stays offline); they, and videos without a poster, are labelled placeholders
with the file's name, a video's duration if known, and why. Thumbnail names come from the file's
hash, never its name.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from postdeck.core.platform import Platform
from postdeck.preview.poster import Poster, find_poster
from postdeck.schemas.findings import PLATFORM_NAMES
from postdeck.schemas.media import MediaRef
from postdeck.schemas.media_probe import MediaInfo, probe
from postdeck.schemas.rules import platform_rules

SIZE = 360  # the longer side, in pixels


_TURNS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
Opener = Callable[[], Image.Image]  # the picture to crop, decoded (raises OSError and the like)


def crop_aspect(platform: Platform, aspect: float, kind: str = "image") -> float:
    """The aspect ratio `platform` shows media of `kind` ("image", "video") of `aspect` in."""
    rules = platform_rules().of(platform).media.kinds.get(kind)
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
        self._posters: dict[str, Poster] = {}
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
        if info.kind == "video":
            return self._video(ref, platform, info, entry)
        if ref.path is None or info.kind != "image" or info.problem or not info.aspect:
            entry["alt"] = f"{info.kind} {ref.filename} (no preview)"
            return entry
        path = ref.path
        aspect = crop_aspect(platform, info.aspect)
        entry["crop"] = _ratio_name(aspect)
        entry["thumb"] = self._thumb(ref, aspect, lambda: Image.open(path))
        cropped = abs(aspect - info.aspect) > 0.005
        how = f"cropped by {PLATFORM_NAMES[platform]} to {entry['crop']}" if cropped else entry["crop"]
        entry["alt"] = f"image {ref.filename} ({how})"
        return entry

    def _video(
        self, ref: MediaRef, platform: Platform, info: MediaInfo, entry: dict[str, Any]
    ) -> dict[str, Any]:
        """The poster in the network's crop, or a placeholder saying why there is none."""
        entry["duration"] = _clock(info.duration) if info.duration else None
        known = f"{entry['duration']}; " if entry["duration"] else ""
        if ref.path is None:
            entry["note"] = "not fetched: the preview stays offline"
            entry["alt"] = f"video {ref.filename} (no preview: {known}{entry['note']})"
            return entry
        poster = self._poster(ref)
        shown = self._poster_thumb(ref, platform, poster) if poster.picture is not None else None
        if shown is None:
            entry["note"] = poster.note or f"no poster frame: {ref.filename}'s picture cannot be decoded"
            entry["alt"] = f"video {ref.filename} ({known}{entry['note']})"
            return entry
        entry["thumb"], entry["crop"] = shown
        timing = f", {entry['duration']}" if entry["duration"] else ""
        entry["alt"] = f"video {ref.filename} (poster: {poster.source}, {entry['crop']}{timing})"
        return entry

    def _poster_thumb(self, ref: MediaRef, platform: Platform, poster: Poster) -> tuple[str, str] | None:
        """(thumbnail, crop name) of the poster, in the crop `platform` shows the video in."""
        assert poster.picture is not None
        opened = _poster_opener(poster.picture, poster.turn)
        try:  # the poster's own shape (cover art is often square), as the video is shown
            with opened() as image:
                aspect = crop_aspect(platform, image.width / image.height, "video")
        except (OSError, Image.DecompressionBombError, ValueError, SyntaxError, ZeroDivisionError):
            return None
        thumb = self._thumb(ref, aspect, opened)
        return (thumb, _ratio_name(aspect)) if thumb else None

    def _poster(self, ref: MediaRef) -> Poster:
        """Read once per file per site (every platform of a batch shows the same video)."""
        if ref.digest not in self._posters:
            assert ref.path is not None
            self._posters[ref.digest] = find_poster(ref.path)
        return self._posters[ref.digest]

    def _thumb(self, ref: MediaRef, aspect: float, opened: Opener) -> str | None:
        key = (ref.digest, round(aspect, 4))
        if key not in self._made:
            self._made[key] = self._write(ref, aspect, opened)
        return self._made[key]

    def _write(self, ref: MediaRef, aspect: float, opened: Opener) -> str | None:
        name = f"{(ref.sha256 or 'x')[:20]}-{round(aspect * 1000)}.jpg"
        target = self.folder / name
        if not target.exists():  # same bytes, same crop: the same thumbnail as last time
            try:
                with opened() as image:
                    shown = ImageOps.exif_transpose(image).convert("RGB")
            except (OSError, Image.DecompressionBombError, ValueError, SyntaxError):
                return None
            size = (SIZE, round(SIZE / aspect)) if aspect >= 1 else (round(SIZE * aspect), SIZE)
            self.folder.mkdir(parents=True, exist_ok=True)
            ImageOps.fit(shown, size).save(target, "JPEG", quality=80)
        return f"thumbs/{name}"


def _poster_opener(picture: bytes, turn: int) -> Opener:
    def opened() -> Image.Image:
        image = Image.open(io.BytesIO(picture))
        if turn not in _TURNS:
            return image
        with image:
            return image.transpose(_TURNS[turn])

    return opened


def _clock(seconds: float) -> str:
    """12.5 → "0:12", 75 → "1:15", 3725 → "1:02:05" (whole seconds, as players show them)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _ratio_name(aspect: float) -> str:
    known = {0.5625: "9:16", 0.75: "3:4", 0.8: "4:5", 1.0: "1:1", 1.7778: "16:9", 1.91: "1.91:1"}
    for value, name in known.items():
        if abs(value - aspect) < 0.005:
            return name
    return f"{aspect:.2f}:1"
