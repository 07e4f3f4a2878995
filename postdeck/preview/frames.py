"""The first frame of a video whose frames need a decoder (H.264, HEVC, VP9, AV1, MPEG-4, ProRes),
with the optional `frames` extra: PyAV, whose wheels bundle FFmpeg. Optional for the reason the
`video` extra is: that FFmpeg build includes GPL parts (x264, x265), and postdeck is MIT.

Only the first frame is decoded, from at most MAX_PACKETS packets, and a frame larger than
MAX_PIXELS is refused before it is decoded. Nothing here raises on a bad file: the note says why.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

NO_FRAMES_EXTRA = "the `frames` extra (PyAV) is not installed: pip install 'postdeck[frames]'"
MAX_PACKETS = 600  # a first frame is a few packets in; a file that yields none by then is given up
MAX_PIXELS = 8192 * 8192  # 8K square: beyond any network's video limit


@dataclass(frozen=True)
class Frame:
    picture: bytes | None  # a JPEG of the first frame; None: none decoded
    note: str = ""  # when there is no picture: why, without the "no poster frame" prefix


def first_frame(path: Path) -> Frame:
    try:
        import av
    except ImportError:
        return Frame(None, NO_FRAMES_EXTRA)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = next(iter(container.streams.video), None)
            if stream is None:
                return Frame(None, "the file has no video track")
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_PIXELS:
                return Frame(None, f"its {width}×{height} frames are larger than a preview decodes")
            for count, packet in enumerate(container.demux(stream)):
                if count >= MAX_PACKETS:
                    break
                for frame in packet.decode():  # a flush packet (at the end) yields what is buffered
                    return Frame(_jpeg(frame.to_image()))
    except Exception as exc:  # FFmpeg's errors, and PyAV's own on odd containers: a note, never a crash
        reason = getattr(exc, "strerror", None) or str(exc)  # FFmpeg's words, without the file's full path
        return Frame(None, f"{path.name} cannot be decoded ({type(exc).__name__}: {reason})")
    return Frame(None, f"no frame of {path.name} could be decoded")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()
