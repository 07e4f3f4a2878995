"""Video in the preview (issue 20): a poster thumbnail where the optional `video` extra (hachoir) finds
a picture in the container (its cover art, or the first frame of a Motion JPEG or PNG track, which
Pillow decodes), otherwise a placeholder with the file's name, the duration if known and why there is
no picture. The MP4 files are written box by box (tests/mp4_boxes.py), their frames made by Pillow."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from postdeck.core.platform import Platform
from postdeck.errors import Location
from postdeck.preview.poster import find_poster
from postdeck.preview.thumbs import Thumbnails
from postdeck.schemas.media import MediaRef, resolve_media
from tests.mp4_boxes import mp4, mp4_with_frame

RED, GREEN = (220, 30, 30), (30, 200, 60)


def jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def media(folder: Path, name: str, data: bytes) -> MediaRef:
    (folder / name).write_bytes(data)
    return resolve_media(name, folder, location=Location("c.yaml"), field="media")


def shown(thumbs: Thumbnails, ref: MediaRef, platform: Platform = Platform.TWITTER) -> dict:
    return thumbs.media(ref, platform)


def colour_of(path: Path) -> tuple[int, int, int]:
    with Image.open(path) as image:
        return image.convert("RGB").getpixel((image.width // 2, image.height // 2))


def near(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) < 30 for x, y in zip(a, b, strict=True))


def test_a_motion_jpeg_video_gets_its_first_frame_as_a_poster(tmp_path: Path) -> None:
    ref = media(tmp_path, "clip.mp4", mp4_with_frame(jpeg((320, 180), RED), seconds=4))
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["kind"] == "video" and entry["thumb"] and entry["crop"] == "16:9"
    assert entry["duration"] == "0:04"
    poster = tmp_path / "site" / entry["thumb"]
    with Image.open(poster) as image:
        assert abs(image.width / image.height - 16 / 9) < 0.01 and max(image.size) == 360
    assert near(colour_of(poster), RED)  # the decoded frame, not a drawn placeholder
    assert entry["alt"] == "video clip.mp4 (poster: its first frame, 16:9, 0:04)"


def test_a_png_track_and_a_turned_phone_video_are_shown_as_played(tmp_path: Path) -> None:
    ref = media(tmp_path, "portrait.mov", mp4_with_frame(png((320, 180), GREEN), codec=b"png ", rotated=True))
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["crop"] == "9:16"  # stored 320×180, shown turned by 90°
    with Image.open(tmp_path / "site" / entry["thumb"]) as image:
        assert image.height > image.width
    assert near(colour_of(tmp_path / "site" / entry["thumb"]), GREEN)


def test_cover_art_is_the_poster_even_of_an_h264_video(tmp_path: Path) -> None:
    data = mp4_with_frame(None, codec=b"avc1", seconds=75, cover=jpeg((600, 600), GREEN))
    ref = media(tmp_path, "launch.mp4", data)
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] and entry["duration"] == "1:15"
    assert near(colour_of(tmp_path / "site" / entry["thumb"]), GREEN)
    assert "poster: its cover art" in entry["alt"]


def test_an_h264_video_without_the_frames_extra_is_a_placeholder_with_name_duration_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    ref = media(tmp_path, "teaser.mp4", mp4_with_frame(None, codec=b"avc1", seconds=12.5))
    poster = find_poster(ref.path)
    assert poster.picture is None and "H.264" in poster.note and "video decoder" in poster.note
    assert "pip install 'postdeck[frames]'" in poster.note
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] is None and not (tmp_path / "site" / "thumbs").exists()
    assert (entry["name"], entry["duration"]) == ("teaser.mp4", "0:12")
    assert entry["alt"] == f"video teaser.mp4 (0:12; {poster.note})"
    assert entry["note"] == poster.note


def test_an_h264_track_that_cannot_be_decoded_is_a_placeholder_saying_so(tmp_path: Path) -> None:
    ref = media(tmp_path, "teaser.mp4", mp4_with_frame(None, codec=b"avc1", seconds=12.5))  # no real frame
    poster = find_poster(ref.path)
    assert poster.picture is None and poster.note.startswith("no poster frame: its H.264 frames: ")
    assert "teaser.mp4 cannot be decoded" in poster.note and str(tmp_path) not in poster.note


def encoded(path: Path, codec: str, colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> Path:
    """A real video of three frames of one colour, encoded by the FFmpeg PyAV bundles."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_image(Image.new("RGB", size, colour))):
                out.mux(packet)
        for packet in stream.encode():  # the encoder's buffered frames
            out.mux(packet)
    return path


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        ("libx264", "clip.mp4"),
        ("libx265", "clip.mov"),
        ("libvpx-vp9", "clip.webm"),
        ("libsvtav1", "clip.mp4"),
    ],
)
def test_a_real_video_gets_its_first_frame_decoded_as_its_poster(
    tmp_path: Path, codec: str, name: str
) -> None:
    path = encoded(tmp_path / name, codec, GREEN)
    ref = resolve_media(name, tmp_path, location=Location("c.yaml"), field="media")
    poster = find_poster(path)
    assert poster.picture is not None and poster.source == "its first frame", poster.note
    with Image.open(io.BytesIO(poster.picture)) as picture:
        assert picture.size == (64, 48)
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] and near(colour_of(tmp_path / "site" / entry["thumb"]), GREEN)
    assert "poster: its first frame" in entry["alt"]


def test_a_frame_too_large_to_preview_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postdeck.preview import frames

    monkeypatch.setattr(frames, "MAX_PIXELS", 64 * 47)
    poster = find_poster(encoded(tmp_path / "big.mp4", "libx264", RED))
    assert poster.picture is None and "64×48 frames are larger than a preview decodes" in poster.note


def test_a_video_with_no_sample_description_says_so(tmp_path: Path) -> None:
    ref = media(tmp_path, "headers-only.mp4", mp4(3, 640, 360))  # no stsd entry, no frames
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] is None and entry["duration"] == "0:03" and "no poster" in entry["note"]


def test_without_the_video_extra_the_placeholder_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("hachoir", "hachoir.core", "hachoir.metadata", "hachoir.parser", "hachoir.parser.container"):
        monkeypatch.setitem(sys.modules, name, None)  # `import hachoir...` now raises ImportError
    monkeypatch.setitem(sys.modules, "av", None)  # nor the frames extra
    # seconds=7: bytes no other test probed, so the probe (cached by content) runs without the extra too
    ref = media(tmp_path, "clip.mp4", mp4_with_frame(jpeg((320, 180), RED), seconds=7))
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] is None and entry["duration"] is None
    assert "pip install 'postdeck[video]'" in entry["note"]
    assert entry["alt"] == f"video clip.mp4 ({entry['note']})"


def test_the_frames_extra_alone_still_finds_a_poster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("hachoir", "hachoir.core", "hachoir.metadata", "hachoir.parser", "hachoir.parser.container"):
        monkeypatch.setitem(sys.modules, name, None)
    poster = find_poster(encoded(tmp_path / "clip.mp4", "libx264", RED))
    assert poster.picture is not None and poster.source == "its first frame"


def test_a_remote_video_is_not_fetched(tmp_path: Path) -> None:
    ref = MediaRef(
        "https://cdn.example/teaser.mp4", url="https://cdn.example/teaser.mp4", content_type="video/mp4"
    )
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] is None and "not fetched" in entry["note"] and "no preview" in entry["alt"]


def test_a_truncated_or_lying_frame_is_a_placeholder_not_a_crash(tmp_path: Path) -> None:
    data = mp4_with_frame(jpeg((320, 180), RED))
    ref = media(tmp_path, "cut.mp4", data[: len(data) - 400])  # the frame's end is missing
    entry = shown(Thumbnails(tmp_path / "site"), ref)
    assert entry["thumb"] is None and "cannot be read" in entry["note"]
