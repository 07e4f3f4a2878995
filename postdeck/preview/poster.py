"""A video's poster for the preview, found with the optional `video` extra (hachoir), which reads an
MP4 or MOV file's boxes without decoding anything:

- the cover art the file carries (iTunes-style `moov/udta/meta/ilst/covr`, JPEG or PNG), else
- the first frame of its video track when that track's frames are pictures Pillow reads: Motion JPEG
  (`jpeg`, `mjpa`) or PNG (`png `), located through the sample tables (stco/co64, stsz).

- otherwise its first frame decoded with the `frames` extra (PyAV: frames.py), for the codecs that need a
  decoder (H.264, HEVC, VP9, AV1, ...) and for containers other than MP4 and MOV (WebM, Matroska).

Without what a video needs, it gets a placeholder, its `note` saying why and what to install. Nothing
here raises on a bad file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postdeck.preview.frames import NO_FRAMES_EXTRA, first_frame
from postdeck.schemas.media_probe import _atom, _atoms, _handler

MAX_PICTURE_BYTES = 32 * 1024 * 1024  # a poster larger than this is not read (a lying sample table)
_PICTURE_CODECS = {b"jpeg": "Motion JPEG", b"mjpa": "Motion JPEG", b"png ": "PNG"}
_DECODER_CODECS = {
    b"avc1": "H.264", b"avc3": "H.264", b"hvc1": "HEVC", b"hev1": "HEVC", b"vp09": "VP9", b"av01": "AV1",
    b"mp4v": "MPEG-4 Part 2", b"apcn": "ProRes", b"apch": "ProRes", b"apcs": "ProRes", b"apco": "ProRes",
}  # fmt: skip
_COVER_TYPES = (13, 14)  # the `data` atom's type: JPEG, PNG
_NO_EXTRA = "no poster frame: the `video` extra (hachoir) is not installed: pip install 'postdeck[video]'"


@dataclass(frozen=True)
class Poster:
    picture: bytes | None  # an encoded picture (JPEG or PNG) for Pillow; None: none found
    source: str = ""  # "its cover art" or "its first frame"
    turn: int = 0  # degrees clockwise the track is shown turned by (phones' portrait videos: 90)
    note: str = ""  # when there is no picture: why


def find_poster(path: Path) -> Poster:
    try:
        from hachoir.core import log
        from hachoir.parser import createParser
        from hachoir.parser.container import MP4File
    except ImportError:
        decoded = first_frame(path)  # the frames extra alone (the track's turn is not known then)
        return Poster(decoded.picture, "its first frame") if decoded.picture else Poster(None, note=_NO_EXTRA)
    log.log.use_print = False  # a bad file is reported in the note, not printed on stderr
    try:
        parser = createParser(str(path))
        if parser is None or not isinstance(parser, MP4File):
            if parser is not None:
                parser.close()
            return _decoded(path, "")
        with parser:
            return _from_mp4(parser, path)
    except Exception as exc:  # hachoir raises its own and plain errors on truncated or odd containers
        return Poster(None, note=f"no poster frame: {path.name} cannot be read ({type(exc).__name__}: {exc})")


def _from_mp4(parser: Any, path: Path) -> Poster:
    track = next((t for t in _atoms(parser, "moov", "trak") if _handler(t) == "vide"), None)
    turn = _turn(_atom(track, "tkhd")) if track is not None else 0
    cover = _cover(parser)
    if cover is not None:
        return Poster(cover, "its cover art")  # a picture of its own: not turned with the track
    if track is None:
        return Poster(None, note="no poster frame: the file has no video track")
    table = _atom(track, "mdia", "minf", "stbl")
    description = _atom(table, "stsd") if table is not None else None
    if description is None or description["count"].value < 1:
        return Poster(None, note="no poster frame: its video track describes no frames")
    codec = description["sample_entry[0]"]["format"].value
    if codec not in _PICTURE_CODECS:
        return _decoded(path, _DECODER_CODECS.get(codec, codec.decode("latin-1").strip() or "unnamed"), turn)
    frame = _first_sample(table, path)
    return Poster(frame, "its first frame", turn) if frame else Poster(None, note=_unread(path))


def _decoded(path: Path, codec: str, turn: int = 0) -> Poster:
    """The first frame decoded by the frames extra; `codec`: the MP4 track's, "" for another container."""
    decoded = first_frame(path)
    if decoded.picture is not None:
        return Poster(decoded.picture, "its first frame", turn)
    if decoded.note != NO_FRAMES_EXTRA:
        return Poster(None, note=f"no poster frame: {f'its {codec} frames: ' if codec else ''}{decoded.note}")
    needs = f"its {codec} frames need a video decoder" if codec else "a file other than MP4 or MOV needs one"
    return Poster(None, note=f"no poster frame: {needs}: {NO_FRAMES_EXTRA}")


def _first_sample(table: Any, path: Path) -> bytes | None:
    """The bytes of the track's first sample: at the first chunk's offset, the first size of stsz."""
    offsets = _atom(table, "stco") or _atom(table, "co64")
    sizes = _atom(table, "stsz")
    if offsets is None or sizes is None or not offsets["count"].value or not sizes["count"].value:
        return None
    offset = offsets["chunk_offset[0]"].value
    size = sizes["uniform_size"].value or sizes["sample_size[0]"].value
    if not 0 < size <= MAX_PICTURE_BYTES:
        return None
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(size)
    return data if len(data) == size else None


def _cover(parser: Any) -> bytes | None:
    meta = _atom(parser, "moov", "udta", "meta")
    if meta is None or "tags" not in meta:
        return None
    items = _atom(meta["tags"], "ilst")
    covers = _atom(items, "covr") if items is not None else None
    for atom in covers or ():
        if atom["tag"].value != "data" or "data" not in atom or atom["data"].size // 8 > MAX_PICTURE_BYTES:
            continue
        data = atom["data"].value  # type (4 bytes), locale (4 bytes), the picture
        if int.from_bytes(data[:4], "big") in _COVER_TYPES:
            return bytes(data[8:])
    return None


def _turn(header: Any) -> int:
    """The track matrix's rotation, in degrees clockwise as shown: 0, 90, 180 or 270."""
    if header is None:
        return 0
    a, b = header["geom_a"].value, header["geom_b"].value
    return round(math.degrees(math.atan2(b, a)) / 90) % 4 * 90


def _unread(path: Path) -> str:
    return f"no poster frame: {path.name}'s first frame cannot be read (the file ends before it, or its sample table is wrong)"
