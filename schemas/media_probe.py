"""What a media file is: kind, type, size, pixel dimensions and, for videos, duration and frame rate.
Probed once per file.

filetype gave the content type from the bytes (media.py). Nothing here decodes pixels or frames:
- images: Pillow's Image.open reads the header only; a file too big to open safely (a decompression
  bomb) or one Pillow cannot read becomes a `Problem` that check_media.py reports at the media entry;
- videos: hachoir reads the container's header (MP4/MOV `moov`, Matroska/WebM `Info`, ...) without
  touching the media data; a video it cannot read gets a warning, never a crash.
Remote media (https URLs) are not fetched: validation stays offline, so only their kind (from the
URL's extension) is known.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from postdeck.schemas.media import MediaRef

if TYPE_CHECKING:
    from PIL import Image

_PROBES: dict[str, MediaInfo] = {}
_ORIENTATION = 0x0112  # the EXIF tag
_NO_VIDEO_EXTRA = "the `video` extra (hachoir, GPL-2.0) is not installed"
_VIDEO_FIX = "check that the file plays, or re-export it as MP4 (H.264) with the moov atom first"


@dataclass(frozen=True)
class Problem:
    """Why a file could not be (fully) probed, reported wherever the file is used."""

    severity: Literal["error", "warning"]
    message: str
    fix: str


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # image | gif | video | document | unknown
    content_type: str
    size: int | None = None  # bytes; None for remote media
    width: int | None = None  # as shown (EXIF orientation or the video track's rotation applied)
    height: int | None = None
    frames: int = 1
    duration: float | None = None  # seconds (videos)
    fps: float | None = None  # average frames per second (videos)
    problem: Problem | None = None

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
    info = MediaInfo(kind_of(ref.content_type), ref.content_type, ref.size)
    if ref.path is None:
        return info
    if info.kind in ("image", "gif"):
        return _probe_image(ref.path, info)
    if info.kind == "video":
        return _probe_video(ref.path, info)
    return info


# --- images -----------------------------------------------------------------------------------------


def _probe_image(path: Path, info: MediaInfo) -> MediaInfo:
    from PIL import Image  # only when there are local images

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)  # reported below, not printed
            with Image.open(path) as image:  # lazy: parses the header, leaves the pixels alone
                width, height = image.size
                frames = getattr(image, "n_frames", 1)
                if _orientation(image) in (5, 6, 7, 8):  # shown rotated by 90°
                    width, height = height, width
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        message = (
            f"{path.name} claims more than {limit:,} pixels: too big to open safely (a decompression bomb?)"
        )
        return replace(info, problem=Problem("error", message, "use a smaller image"))
    except Exception as exc:  # Pillow's plugins raise many types (OSError, SyntaxError, ...) on bad input
        message = f"{path.name} cannot be read as an image ({type(exc).__name__}: {exc})"
        return replace(info, problem=Problem("error", message, "re-export the file from an image editor"))
    found = replace(info, width=width, height=height, frames=frames)
    if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
        message = (
            f"{path.name} is {width}×{height} ({width * height:,} pixels), over the {Image.MAX_IMAGE_PIXELS:,} "
            "that image tools open without a decompression-bomb warning: providers may refuse it"
        )
        return replace(found, problem=Problem("warning", message, "scale the image down"))
    return found


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation from what Image.open already parsed. PngImageFile.getexif() would decode
    every pixel to look for an eXIf chunk after the image data; the base method reads the chunks before
    it, and JPEG (APP1), WebP and TIFF keep EXIF in their header anyway."""
    from PIL import Image

    return int(Image.Image.getexif(image).get(_ORIENTATION, 1))


# --- videos -----------------------------------------------------------------------------------------


def _probe_video(path: Path, info: MediaInfo) -> MediaInfo:
    try:
        facts = _video_facts(path)
    except ImportError:  # the optional `video` extra is not installed
        message = f"{path.name}'s duration, frame rate and size are not checked: {_NO_VIDEO_EXTRA}"
        return replace(info, problem=Problem("warning", message, "pip install 'postdeck[video]'"))
    except Exception as exc:  # hachoir raises its own and plain errors on truncated or odd containers
        facts, reason = {}, f"{type(exc).__name__}: {exc}"
    else:
        reason = "no duration in the container header"
    found = replace(info, **facts)
    if found.duration is None:
        message = f"cannot read {path.name}'s duration, frame rate or size ({reason}): not checked"
        return replace(found, problem=Problem("warning", message, _VIDEO_FIX))
    return found


def _video_facts(path: Path) -> dict[str, Any]:
    """duration, width, height and fps that hachoir finds in the container's header."""
    from hachoir.core import log
    from hachoir.metadata import extractMetadata
    from hachoir.parser import createParser
    from hachoir.parser.container import MP4File

    log.log.use_print = False  # hachoir prints parse warnings to stderr; a bad file is reported instead
    parser = createParser(str(path))
    if parser is None:
        raise ValueError("not a container hachoir knows")
    with parser:  # closes the file
        metadata = extractMetadata(parser)
        facts = _from_metadata(metadata) if metadata is not None else {}
        if isinstance(parser, MP4File):
            facts.update(_mp4_video_track(parser))
    return facts


def _from_metadata(metadata: Any) -> dict[str, Any]:
    """What hachoir's metadata extractor found, in the top level or its per-stream groups (Matroska)."""
    groups = [metadata, *(metadata.iterGroups() if hasattr(metadata, "iterGroups") else [])]
    duration, width, height, rate = (
        next((group.get(key) for group in groups if group.has(key)), None)
        for key in ("duration", "width", "height", "frame_rate")
    )
    facts: dict[str, Any] = {}
    if duration and duration.total_seconds() > 0:  # 0 is what a fragmented or unfinished MP4 says
        facts["duration"] = round(duration.total_seconds(), 3)
    if width and height:
        facts["width"], facts["height"] = int(width), int(height)
    if rate:
        facts["fps"] = round(float(rate), 3)
    return facts


def _mp4_video_track(parser: Any) -> dict[str, Any]:
    """Size as shown and average frame rate of the first video track: hachoir's MP4 metadata takes the
    size of whichever track has one and ignores the rotation matrix, and gives no frame rate."""
    track = next((t for t in _atoms(parser, "moov", "trak") if _handler(t) == "vide"), None)
    if track is None:
        return {}
    return {**_shown_size(_atom(track, "tkhd")), **_frame_rate(track)}


def _shown_size(header: Any) -> dict[str, int]:
    if header is None:
        return {}
    width, height = int(header["frame_size_width"].value), int(header["frame_size_height"].value)
    if not (width and height):
        return {}
    turned = abs(header["geom_b"].value) > 0.5  # a 90° or 270° rotation matrix: phones' portrait videos
    return {"width": height, "height": width} if turned else {"width": width, "height": height}


def _frame_rate(track: Any) -> dict[str, float]:
    """Frames (samples) over the track's own duration: the average rate, as ffprobe's avg_frame_rate."""
    media, sizes = _atom(track, "mdia", "mdhd"), _atom(track, "mdia", "minf", "stbl", "stsz")
    if media is None or sizes is None or not media["duration"].value:  # 0 in fragmented files
        return {}
    return {"fps": round(sizes["count"].value * media["time_scale"].value / media["duration"].value, 3)}


def _handler(track: Any) -> str | None:
    handler = _atom(track, "mdia", "hdlr")
    return handler["subtype"].value if handler is not None else None


def _atom(parent: Any, *path: str) -> Any:
    """The content of the first atom at `path` (tags) below `parent`, or None."""
    return next(_atoms(parent, *path), None)


def _atoms(parent: Any, *path: str) -> Iterator[Any]:
    """The contents of every atom at `path` below `parent`. hachoir parses an atom's content lazily,
    as a field named after its tag (`moov` → `movie`), so the media data is never read."""
    from hachoir.parser.container.mp4 import Atom

    *above, last = path
    for tag in above:
        parent = _atom(parent, tag)
        if parent is None:
            return
    name = Atom.tag_info[last][1]
    for atom in parent:
        if atom["tag"].value == last and name in atom:
            yield atom[name]
