"""Tiny MP4/MOV files written box by box (ISO/IEC 14496-12), for probing tests without ffmpeg.

Only the header boxes a prober reads are there: ftyp, moov (mvhd, and per track tkhd, mdia with mdhd,
hdlr and minf/stbl with stts and stsz), then a few bytes of mdat. Nothing can play them.
"""

from __future__ import annotations

import struct

IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)  # the 3×3 matrix, 16.16 and 2.30 fixed point
ROTATE_90 = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)  # how phones mark a portrait video
MOVIE_SCALE = 1000  # mvhd time units per second


def box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes, *, version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags), payload)


def _matrix(matrix: tuple[int, ...]) -> bytes:
    return struct.pack(">9i", *matrix)


def _mvhd(seconds: float) -> bytes:
    times = struct.pack(">IIII", 0, 0, MOVIE_SCALE, round(seconds * MOVIE_SCALE))
    rest = struct.pack(">IH", 0x10000, 0x100) + bytes(10) + _matrix(IDENTITY) + bytes(24)
    return full_box(b"mvhd", times + rest + struct.pack(">I", 3))


def track(
    handler: bytes,
    *,
    seconds: float,
    width: int = 0,
    height: int = 0,
    rate: float = 30,
    track_id: int = 1,
    matrix: tuple[int, ...] = IDENTITY,
) -> bytes:
    """One trak: `handler` b"vide" or b"soun"; `rate` samples (frames) per second."""
    timescale, delta = round(rate * 1000), 1000
    samples = round(seconds * rate)
    head = struct.pack(">IIIII", 0, 0, track_id, 0, round(seconds * MOVIE_SCALE)) + bytes(8)
    size = struct.pack(">II", width << 16, height << 16)
    tkhd = full_box(b"tkhd", head + struct.pack(">hhhh", 0, 0, 0, 0) + _matrix(matrix) + size, flags=3)
    mdhd = full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, timescale, samples * delta, 0x55C4, 0))
    hdlr = full_box(b"hdlr", struct.pack(">I4s12x", 0, handler) + b"postdeck test\x00")
    stbl = box(
        b"stbl",
        full_box(b"stsd", struct.pack(">I", 0)),
        full_box(b"stts", struct.pack(">III", 1, samples, delta)),
        full_box(b"stsz", struct.pack(">II", 100, samples)),  # every sample 100 bytes
    )
    header = full_box(b"vmhd", bytes(8), flags=1) if handler == b"vide" else full_box(b"smhd", bytes(4))
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", header, stbl)))


def mp4(
    seconds: float,
    width: int = 640,
    height: int = 360,
    fps: float = 30,
    *,
    brand: bytes = b"isom",
    rotated: bool = False,
    audio: bool = True,
) -> bytes:
    """A file that says: `seconds` long, a width × height video track at `fps` (stored turned by 90° if
    `rotated`), and first an audio track with no size (as encoders write them). brand b"qt  " is a MOV."""
    matrix = ROTATE_90 if rotated else IDENTITY
    video = track(b"vide", seconds=seconds, width=width, height=height, rate=fps, matrix=matrix)
    tracks = [track(b"soun", seconds=seconds, rate=48000 / 1024, track_id=2)] if audio else []
    compatible = brand if brand == b"qt  " else brand + b"mp41"  # as QuickTime and ffmpeg write them
    ftyp = box(b"ftyp", brand, struct.pack(">I", 0x200), compatible)
    return ftyp + box(b"moov", _mvhd(seconds), *tracks, video) + box(b"mdat", bytes(64))


def moov_after(mdat_bytes: int, seconds: float, width: int, height: int) -> tuple[bytes, bytes]:
    """(head, moov) of a file whose media data (`mdat_bytes` long, 64-bit size) comes before its moov,
    as cameras write them: write head, skip mdat_bytes (a sparse file), then write moov."""
    whole = mp4(seconds, width, height)
    ftyp_size = struct.unpack(">I", whole[:4])[0]
    moov_size = struct.unpack(">I", whole[ftyp_size : ftyp_size + 4])[0]
    head = whole[:ftyp_size] + struct.pack(">I4sQ", 1, b"mdat", 16 + mdat_bytes)
    return head, whole[ftyp_size : ftyp_size + moov_size]


def _visual_sample_entry(codec: bytes, width: int, height: int) -> bytes:
    """One stsd entry of a video track: its codec (`jpeg`, `avc1`, ...) and frame size."""
    body = bytes(6) + struct.pack(">H", 1)  # reserved, data_reference_index
    body += struct.pack(">HH4sII", 0, 0, bytes(4), 0, 0)  # version, revision, vendor, qualities
    body += struct.pack(">HHIIIH", width, height, 72 << 16, 72 << 16, 0, 1)  # size, 72 dpi, one frame
    body += bytes(32) + struct.pack(">hh", 24, -1)  # compressor name (empty), depth, no colour table
    return struct.pack(">I", 8 + len(body)) + codec + body


def _cover(picture: bytes, kind: int) -> bytes:
    """moov/udta/meta with iTunes-style cover art: ilst/covr/data (`kind` 13 JPEG, 14 PNG)."""
    handler = full_box(b"hdlr", struct.pack(">I4s12x", 0, b"mdir") + b"\x00")
    data = box(b"data", struct.pack(">II", kind, 0), picture)
    return box(b"udta", full_box(b"meta", handler + box(b"ilst", box(b"covr", data))))


def mp4_with_frame(
    frame: bytes | None,
    *,
    codec: bytes = b"jpeg",
    seconds: float = 4,
    width: int = 320,
    height: int = 180,
    fps: float = 25,
    rotated: bool = False,
    cover: bytes | None = None,
) -> bytes:
    """An MP4 whose video track (`codec`) has `frame` as its first sample, in mdat where stco points
    (the other samples are said to exist, as in mp4(), but are not there); `cover`: a JPEG cover art."""
    samples = round(seconds * fps)
    first = frame or bytes(100)

    def moov(offset: int) -> bytes:
        timescale, delta = round(fps * 1000), 1000
        head = struct.pack(">IIIII", 0, 0, 1, 0, round(seconds * MOVIE_SCALE)) + bytes(8)
        size = struct.pack(">II", width << 16, height << 16)
        matrix = _matrix(ROTATE_90 if rotated else IDENTITY)
        tkhd = full_box(b"tkhd", head + struct.pack(">hhhh", 0, 0, 0, 0) + matrix + size, flags=3)
        mdhd = full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, timescale, samples * delta, 0x55C4, 0))
        hdlr = full_box(b"hdlr", struct.pack(">I4s12x", 0, b"vide") + b"postdeck test\x00")
        sizes = struct.pack(">II", 0, samples) + struct.pack(
            f">{samples}I", len(first), *[100] * (samples - 1)
        )
        stbl = box(
            b"stbl",
            full_box(b"stsd", struct.pack(">I", 1) + _visual_sample_entry(codec, width, height)),
            full_box(b"stts", struct.pack(">III", 1, samples, delta)),
            full_box(b"stsc", struct.pack(">IIII", 1, 1, samples, 1)),  # one chunk holds every sample
            full_box(b"stsz", sizes),
            full_box(b"stco", struct.pack(">II", 1, offset)),
        )
        minf = box(b"minf", full_box(b"vmhd", bytes(8), flags=1), stbl)
        trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
        extra = [_cover(cover, 13)] if cover is not None else []
        return box(b"moov", _mvhd(seconds), trak, *extra)

    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isommp41")
    offset = len(ftyp) + len(moov(0)) + 8  # the first sample: just past mdat's header
    return ftyp + moov(offset) + box(b"mdat", first)
