"""Video probing (issue 4: duration, frame rate, size without ffprobe) and the per-platform video limits
of platform_rules.yaml, on MP4 and MOV files written box by box (tests/mp4_boxes.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from postdeck.core.platform import Platform
from postdeck.errors import Location
from postdeck.schemas.media import MediaRef, resolve_media
from postdeck.schemas.media_probe import MediaInfo, _probe
from postdeck.schemas.rules import RULES_FILE, Limit, platform_rules
from postdeck.schemas.validation import check_file
from tests.mp4_boxes import moov_after, mp4


def probed(folder: Path, name: str, data: bytes) -> MediaInfo:
    (folder / name).write_bytes(data)
    return _probe(resolve_media(name, folder, location=Location("c.yaml"), field="media"))


# --- probing ----------------------------------------------------------------------------------------


def test_an_mp4s_duration_size_and_frame_rate_are_read(tmp_path: Path) -> None:
    info = probed(tmp_path, "clip.mp4", mp4(12.5, 1280, 720, fps=30))
    assert info.kind == "video" and info.content_type == "video/mp4"
    assert (info.duration, info.width, info.height, info.fps) == (12.5, 1280, 720, 30)
    assert info.problem is None


def test_a_mov_is_read_too(tmp_path: Path) -> None:
    info = probed(tmp_path, "clip.mov", mp4(3, 640, 480, fps=24, brand=b"qt  "))
    assert info.content_type == "video/quicktime"
    assert (info.duration, info.width, info.height, info.fps) == (3, 640, 480, 24)


def test_a_phone_portrait_video_is_measured_as_shown(tmp_path: Path) -> None:
    """Phones store 1920×1080 frames with a 90° rotation in the track header: 1080 wide as shown."""
    info = probed(tmp_path, "portrait.mp4", mp4(8, 1920, 1080, fps=59.94, rotated=True))
    assert (info.width, info.height, info.fps) == (1080, 1920, 59.94)


def test_a_moov_after_gigabytes_of_media_data_is_read_without_reading_them(tmp_path: Path) -> None:
    head, moov = moov_after(3 * 1024**3, 20, 1080, 1920)
    path = tmp_path / "camera.mp4"
    with path.open("wb") as handle:  # sparse: the 3 GiB of mdat take no disk and are never read
        handle.write(head)
        handle.seek(3 * 1024**3, 1)
        handle.write(moov)
    ref = MediaRef(source="camera.mp4", path=path, content_type="video/mp4", size=path.stat().st_size)
    info = _probe(ref)  # not resolve_media: hashing 3 GiB of zeros would be the slow part
    assert (info.duration, info.width, info.height, info.fps) == (20, 1080, 1920, 30)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ftyp-only.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)),
        ("empty.mp4", b""),
        ("cut.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x10\x00moov"),
        ("noise.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41" + bytes(range(256)) * 4),
    ],
)
def test_a_video_whose_header_cannot_be_read_gets_a_warning_not_a_crash(
    tmp_path: Path, name: str, data: bytes
) -> None:
    info = probed(tmp_path, name, data)
    assert info.duration is None and info.problem is not None
    assert info.problem.severity == "warning" and "not checked" in info.problem.message
    assert name in info.problem.message and info.problem.fix


def test_an_unreadable_video_is_a_located_warning_in_validation(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64))
    path = tmp_path / "c.yaml"
    path.write_text("name: c\nbatches:\n  - {id: a, caption: hi, platforms: [twitter], media: [clip.mp4]}\n")
    report = check_file(path)
    assert report.ok
    [warning] = report.warnings
    assert warning.location.line == 3 and warning.field == "batches[0].media[0]"
    assert "cannot read clip.mp4's duration" in warning.message and "re-export" in warning.fix


# --- per-platform limits ----------------------------------------------------------------------------

NEEDS = {  # what each platform needs besides a caption and media
    "pinterest": "pinterest: {board: '1'}",
    "tiktok": "tiktok: {privacy: SELF_ONLY}",
    "youtube": "youtube: {title: t, privacy: public}",
}


def findings(folder: Path, platform: str, video: bytes, options: str = "") -> tuple[list[str], list[str]]:
    """(errors, warnings) about the media of one post of `video` to `platform`, messages only."""
    (folder / "v.mp4").write_bytes(video)
    extra = ", ".join(x for x in (NEEDS.get(platform, ""), options) if x)
    path = folder / f"{platform}.yaml"
    path.write_text(
        f"name: c\nbatches:\n  - {{id: a, caption: hi, platforms: [{platform}], media: [v.mp4]"
        + (f", {extra}" if extra else "")
        + "}\n"
    )
    report = check_file(path)
    errors, warnings = (
        [f for f in found if "media" in f.field] for found in (report.errors, report.warnings)
    )
    for finding in errors + warnings:
        assert finding.location.line == 3 and finding.field == "batches[0].media[0]", str(finding)
        assert finding.fix, "every finding says what to change"
    return [e.message for e in errors], [w.message for w in warnings]


@pytest.mark.parametrize(
    ("platform", "video", "options", "error"),
    [
        ("twitter", mp4(150), "", "150 s (2 min 30 s) long; X allows at most 140 s (2 min 20 s)"),
        ("twitter", mp4(0.4), "", "0.4 s long; X needs at least 0.5 s"),
        ("twitter", mp4(10, fps=120), "", "120 fps; X allows at most 60 fps"),
        ("twitter", mp4(10, 1920, 1080), "", "1920 px wide; X allows at most 1280 px"),
        ("twitter", mp4(10, 720, 1280), "", "1280 px high; X allows at most 1024"),
        ("twitter", mp4(10, 16, 16), "", "16 px wide; X needs at least 32"),
        ("bluesky", mp4(200), "", "200 s (3 min 20 s) long; Bluesky allows at most 180 s (3 min)"),
        ("threads", mp4(301), "", "Threads allows at most 300 s (5 min)"),
        ("threads", mp4(10, fps=15), "", "15 fps; Threads needs at least 23"),
        ("threads", mp4(10, 2560, 1440), "", "2560 px wide; Threads allows at most 1920"),
        ("instagram", mp4(2), "", "2 s long; Instagram needs at least 3 s"),
        ("instagram", mp4(16 * 60), "", "Instagram allows at most 900 s (15 min)"),
        ("instagram", mp4(10, fps=20), "", "20 fps; Instagram needs at least 23"),
        ("instagram", mp4(10, fps=20), "instagram: {placement: reels}", "Instagram needs at least 23"),
        ("instagram", mp4(90), "instagram: {placement: stories}", "Instagram allows at most 60 s (1 min)"),
        ("facebook", mp4(5 * 3600), "", "Facebook allows at most 14400 s (240 min)"),
        ("facebook", mp4(120), "facebook: {placement: reels}", "Facebook allows at most 90 s (1 min 30 s)"),
        ("facebook", mp4(2), "facebook: {placement: reels}", "2 s long; Facebook needs at least 3 s"),
        (
            "facebook",
            mp4(10, fps=23.976),
            "facebook: {placement: reels}",
            "23.976 fps; Facebook needs at least 24",
        ),
        ("facebook", mp4(75), "facebook: {placement: stories}", "Facebook allows at most 60 s (1 min)"),
        ("linkedin", mp4(31 * 60), "", "LinkedIn allows at most 1800 s (30 min)"),
        ("linkedin", mp4(2), "", "LinkedIn needs at least 3 s"),
        ("tiktok", mp4(2), "", "2 s long; TikTok needs at least 3 s"),
        ("tiktok", mp4(10, 320, 240), "", "320 px wide; TikTok needs at least 360"),
        ("tiktok", mp4(10, 8192, 4320), "", "8192 px wide; TikTok allows at most 4096"),
        ("tiktok", mp4(10, fps=90), "", "90 fps; TikTok allows at most 60"),
        ("youtube", mp4(13 * 3600), "", "YouTube allows at most 43200 s (720 min)"),
        ("pinterest", mp4(3), "", "3 s long; Pinterest needs at least 4 s"),
        ("pinterest", mp4(16 * 60), "", "Pinterest allows at most 900 s (15 min)"),
    ],
)
def test_a_video_over_a_platform_limit_is_an_error_that_says_what_to_change(
    tmp_path: Path, platform: str, video: bytes, options: str, error: str
) -> None:
    errors, _ = findings(tmp_path, platform, video, options)
    assert any(error in e for e in errors), errors
    assert all("[" in e and "]" in e for e in errors), "every limit cites its source"


@pytest.mark.parametrize(
    ("platform", "video", "options"),
    [
        ("twitter", mp4(140, 1280, 720, fps=60), ""),
        ("twitter", mp4(0.5, 32, 32), ""),
        ("bluesky", mp4(180, 1920, 1080), ""),
        ("threads", mp4(300, 1080, 1920, fps=23.976, rotated=True), ""),  # stored 1920 wide, shown 1080
        ("instagram", mp4(15 * 60, 1080, 1920), ""),
        ("instagram", mp4(3, 1080, 1920, fps=60), "instagram: {placement: reels}"),
        ("instagram", mp4(60, 1080, 1920), "instagram: {placement: stories}"),
        ("facebook", mp4(3600, 1920, 1080, fps=23.976), ""),  # feed: no reels limits
        ("facebook", mp4(90, 1080, 1920, fps=24), "facebook: {placement: reels}"),
        ("linkedin", mp4(10 * 60, 1920, 1080), ""),
        ("tiktok", mp4(600, 1080, 1920, fps=30), ""),
        ("youtube", mp4(15 * 60, 3840, 2160, fps=120), ""),
        ("pinterest", mp4(4, 1000, 1500), ""),
    ],
)
def test_a_video_within_a_platforms_limits_passes_cleanly(
    tmp_path: Path, platform: str, video: bytes, options: str
) -> None:
    assert findings(tmp_path, platform, video, options) == ([], [])


@pytest.mark.parametrize(
    ("platform", "video", "warning"),
    [
        (
            "tiktok",
            mp4(700),
            "TikTok allows at most 600 s (10 min): the creator's max_video_post_duration_sec",
        ),
        ("youtube", mp4(20 * 60), "YouTube allows at most 900 s (15 min): unverified channels take 15 min"),
        ("linkedin", mp4(20 * 60), "LinkedIn allows at most 900 s (15 min): personal profiles"),
    ],
)
def test_limits_that_depend_on_the_account_only_warn(
    tmp_path: Path, platform: str, video: bytes, warning: str
) -> None:
    errors, warnings = findings(tmp_path, platform, video)
    assert errors == []
    assert any(warning in w for w in warnings), warnings


def test_a_video_past_the_hard_cap_gets_the_error_and_the_account_warning(tmp_path: Path) -> None:
    errors, warnings = findings(tmp_path, "youtube", mp4(13 * 3600))
    assert len(errors) == 1 and "43200 s" in errors[0]
    assert len(warnings) == 1 and "unverified channels" in warnings[0]


def test_one_video_on_several_platforms_is_probed_once_and_judged_per_platform(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(mp4(150, 1280, 720))  # 2.5 min: too long for X only
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nbatches:\n  - {id: a, caption: hi, platforms: [twitter, bluesky, threads], media: [v.mp4]}\n"
    )
    errors = [e.message for e in check_file(path).errors]
    assert len(errors) == 1 and errors[0].startswith("twitter: media[0]: 150 s")


def test_the_same_video_in_several_batches_is_reported_at_each_batchs_own_place(tmp_path: Path) -> None:
    """check_media works a (media, platform) pair out once; each batch still gets its own location."""
    (tmp_path / "v.mp4").write_bytes(mp4(150, 1280, 720))
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nbatches:\n"
        "  - {id: a, caption: one, platforms: [twitter], media: [v.mp4]}\n"
        "  - {id: b, caption: two, platforms: [bluesky]}\n"
        "  - {id: c, caption: three, platforms: [twitter], media: [v.mp4]}\n"
    )
    errors = check_file(path).errors
    assert [(e.field, e.location.line) for e in errors] == [
        ("batches[0].media[0]", 3),
        ("batches[2].media[0]", 5),
    ]
    assert errors[0].message == errors[1].message and errors[0].message.startswith("twitter: media[0]: 150 s")


# --- the rules file -----------------------------------------------------------------------------------


def test_every_platform_that_takes_video_has_a_duration_limit() -> None:
    rules = platform_rules()
    for platform in Platform:
        video = rules.of(platform).media.kinds.get("video")
        if video is not None:
            assert any(limit.measure == "duration" for limit in video.limits), platform


def test_a_limit_in_the_wrong_unit_is_refused() -> None:
    with pytest.raises(ValidationError, match="a duration limit is in seconds, not fps"):
        Limit(
            measure="duration",
            bound="max",
            value=60,
            unit="fps",
            source="X3",
            as_of="2026-06-01",
            confidence="high",
        )


def test_the_rules_file_refuses_an_unknown_measure(tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_FILE.read_text())
    data["platforms"]["twitter"]["media"]["kinds"]["video"]["limits"][0]["measure"] = "bitrate"
    broken = tmp_path / "rules.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="measure"):
        platform_rules(broken)


def test_without_the_video_extra_a_video_is_a_warning_that_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("hachoir", "hachoir.core", "hachoir.metadata", "hachoir.parser", "hachoir.parser.container"):
        monkeypatch.setitem(sys.modules, name, None)  # `import hachoir...` now raises ImportError
    info = probed(tmp_path, "clip.mp4", mp4(12.5, 1280, 720, fps=30))
    assert info.kind == "video" and info.duration is None
    assert info.problem is not None and info.problem.severity == "warning"
    assert "not checked" in info.problem.message and "postdeck[video]" in info.problem.fix
