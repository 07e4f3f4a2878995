"""What a media file is: kind, type, size and (for images) pixel dimensions. Probed once per file.

filetype gave the content type from the bytes (media.py); Pillow reads an image's header for its
size without decoding the pixels. Remote media (https URLs) are not fetched: validation stays
offline, so only their kind (from the URL's extension) is known.
"""

from __future__ import annotations

from dataclasses import dataclass

from postdeck.schemas.media import MediaRef

_PROBES: dict[str, MediaInfo] = {}
_ORIENTATION = 0x0112  # the EXIF tag


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # image | gif | video | document | unknown
    content_type: str
    size: int | None = None  # bytes; None for remote media
    width: int | None = None
    height: int | None = None
    frames: int = 1

    @property
    def aspect(self) -> float | None:
        return self.width / self.height if self.width and self.height else None

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None


def kind_of(content_type: str) -> str:
    if content_type == "image/gif":
        return "gif"
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("video/"):
        return "video"
    if content_type in ("application/pdf", "application/msword") or "officedocument" in content_type:
        return "document"
    return "unknown"


def probe(ref: MediaRef) -> MediaInfo:
    """The media's facts, read at most once per file content (or URL) in this process."""
    key = ref.digest
    if key not in _PROBES:
        _PROBES[key] = _probe(ref)
    return _PROBES[key]


def _probe(ref: MediaRef) -> MediaInfo:
    kind = kind_of(ref.content_type)
    if ref.path is None or kind not in ("image", "gif"):
        return MediaInfo(kind, ref.content_type, ref.size)
    from PIL import Image, UnidentifiedImageError  # only when there are local images

    try:
        with Image.open(ref.path) as image:
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
            if image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):  # shown rotated by 90°
                width, height = height, width
    except (UnidentifiedImageError, OSError, ValueError):
        return MediaInfo(kind, ref.content_type, ref.size)
    return MediaInfo(kind, ref.content_type, ref.size, width, height, frames)
