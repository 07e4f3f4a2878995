from __future__ import annotations

from pathlib import Path

import pytest

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(CampaignError) as info:
        expand(load_campaign(path))
    exc = info.value
    return [str(e) for e in (exc.errors if isinstance(exc, CampaignErrors) else [exc])]


def test_example_campaign_expands_to_one_delivery_per_batch_and_platform() -> None:
    deliveries = expand(load_campaign(REPO / "campaigns/example.yaml"))
    keys = [d.key for d in deliveries]
    assert "example/announce/instagram" in keys
    assert len(keys) == len(set(keys)) == 18
    announce = next(d for d in deliveries if d.key == "example/announce/twitter")
    assert announce.caption.startswith("Spring Roast is here")
    assert announce.media[0].content_type == "image/jpeg" and len(announce.media[0].sha256) == 64
    linkedin = next(d for d in deliveries if d.key == "example/behind-the-scenes/linkedin")
    twitter = next(d for d in deliveries if d.key == "example/behind-the-scenes/twitter")
    assert "importer partners" in linkedin.caption and "importer partners" not in twitter.caption


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nbatches: [\n  - id: a\n")
    [message] = errors_of(path)
    assert message.startswith(f"{path}:") and "malformed YAML" in message


def test_unknown_platform_and_unknown_field_are_reported_together_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n  - id: a\n    caption: hi\n    platforms: [twitter, myspace]\n    colour: red\n",
    )
    messages = errors_of(path)
    assert any(m.startswith(f"{path}:5:") and "myspace" in m for m in messages)
    assert any(m.startswith(f"{path}:6:") and "colour" in m and "unknown field" in m for m in messages)


def test_a_platform_listed_twice_is_located_at_its_own_place_in_the_list(tmp_path: Path) -> None:
    """A non-text item before it (itself an error) must not shift where the repeat is said to be."""
    path = write(
        tmp_path,
        "name: c\nbatches:\n  - id: a\n    caption: hi\n    platforms:\n      - {x: 1}\n"
        "      - bluesky\n      - bluesky\n",
    )
    twice = [m for m in errors_of(path) if "listed twice" in m]
    assert len(twice) == 1 and twice[0].startswith(f"{path}:8:"), twice
    assert "batches[0].platforms[2]" in twice[0]


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "name: c\nname: d\nbatches:\n  - {id: a, caption: hi, platforms: [twitter]}\n")
    [message] = errors_of(path)
    assert f"{path}:2:1" in message and "duplicate key 'name'" in message


def test_undefined_template_variable_points_at_the_caption(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n  - id: a\n    platforms: [twitter, bluesky]\n"
        "    caption: 'hello {{ nobody }}'\n",
    )
    [message] = errors_of(path)  # reported once, not once per platform
    assert f"{path}:5:" in message and "'nobody' is undefined" in message


def test_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n  - id: a\n    platforms: [twitter]\n"
        "    caption: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n",
    )
    [message] = errors_of(path)
    assert "not allowed" in message or "unsafe" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("../secret.png", "leaves the campaign folder"),
        ("missing.png", "media file not found"),
        ("http://cdn.example.com/a.png", "must be https"),
        ("https://127.0.0.1/a.png", "private, loopback or link-local"),
        ("https://169.254.169.254/latest", "private, loopback or link-local"),
        ("https://localhost/a.png", "local host"),
    ],
)
def test_unsafe_or_missing_media_is_rejected(tmp_path: Path, entry: str, expected: str) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    path = write(
        folder,
        f"name: c\nbatches:\n  - id: a\n    caption: hi\n    platforms: [twitter]\n    media: ['{entry}']\n",
    )
    [message] = errors_of(path)
    assert expected in message and f"{path}:6:" in message


def test_symlink_escaping_the_folder_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    (tmp_path / "outside.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    path = write(
        folder,
        "name: c\nbatches:\n  - id: a\n    caption: hi\n    platforms: [twitter]\n    media: [link.jpg]\n",
    )
    [message] = errors_of(path)
    assert "leaves the campaign folder" in message


def test_naive_times_use_the_campaign_timezone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\ntimezone: Europe/Berlin\nbatches:\n"
        "  - {id: a, caption: hi, platforms: [twitter], at: '2030-06-01 09:00'}\n",
    )
    [delivery] = expand(load_campaign(path))
    assert delivery.at is not None and delivery.at.isoformat() == "2030-06-01T07:00:00+00:00"


def test_content_and_schedule_hashes_are_separate(tmp_path: Path) -> None:
    base = "name: c\nbatches:\n  - {id: a, caption: %s, platforms: [twitter], at: '%s'}\n"
    [one] = expand(load_campaign(write(tmp_path, base % ("hi", "2030-06-01 09:00"), "1.yaml")))
    [moved] = expand(load_campaign(write(tmp_path, base % ("hi", "2030-06-02 09:00"), "2.yaml")))
    [edited] = expand(load_campaign(write(tmp_path, base % ("hello", "2030-06-01 09:00"), "3.yaml")))
    assert one.content_hash == moved.content_hash and one.schedule_hash != moved.schedule_hash
    assert one.schedule_hash == edited.schedule_hash and one.content_hash != edited.content_hash


def test_core_schema_tags_and_plain_times_still_load(tmp_path: Path) -> None:
    # The tags refused are the others (tests/bad_campaigns/70-75): these are the core schema's.
    path = write(
        tmp_path,
        "name: !!str tagged\n"
        "batches:\n"
        "  - id: a\n"
        "    at: 2030-06-01\n"  # a time read from plain text, without a tag
        "    caption: '{{ n }} {{ s }}'\n"
        "    vars: {n: !!int '7', s: !!str 123, f: !!float '1.5', b: !!bool 'true', z: !!null ''}\n"
        "    platforms: !!seq [bluesky]\n",
    )
    (delivery,) = expand(load_campaign(path))
    assert delivery.key == "tagged/a/bluesky" and delivery.caption == "7 123"


def test_a_refused_tag_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: bad\nbatches:\n  - id: a\n    caption: !!binary aGVsbG8=\n    platforms: [bluesky]\n"
    )
    with pytest.raises(CampaignErrors) as info:
        load_campaign(path)
    (error,) = info.value.errors
    assert (error.location.path, error.location.line, error.field) == (str(path), 4, "batches[0].caption")
    assert "`!!binary`" in error.message


@pytest.mark.parametrize(
    ("structural", "at"),
    [
        ("colour: red\n", "colour: unknown field"),  # an unknown top-level field
        ("timezone: Mars/Base\n", "unknown timezone 'Mars/Base'"),
        ("late: sometimes\n", "'sometimes' is not one of"),
        ("retry_window_hours: soon\n", "retry_window_hours"),
    ],
)
def test_content_errors_come_with_the_structural_ones_in_one_pass(
    tmp_path: Path, structural: str, at: str
) -> None:
    """validate reports the rest of the file's errors (a caption too long, an undefined variable, a
    wrong batch) in the same run as a structural one, not after it is fixed."""
    from postdeck.schemas.validation import check_file

    path = write(
        tmp_path,
        "name: c\n" + structural + "batches:\n"
        "  - {id: a, caption: hi, platforms: [bluesky], colour: red}\n"
        f"  - {{id: b, caption: {'x' * 400}, platforms: [bluesky]}}\n"
        "  - {id: c, caption: '{{ missing }}', platforms: [bluesky]}\n",
    )
    report = check_file(path)
    messages = [str(e) for e in report.errors]
    assert not report.ok and len(messages) == 4, messages
    assert at in messages[0] and "batches[0].colour: unknown field" in messages[1]
    assert "400 graphemes" in messages[2] and "'missing' is undefined" in messages[3]
    with pytest.raises(CampaignErrors):  # a partial campaign is for reporting only: never loaded
        load_campaign(path)


def test_yaml_errors_in_one_batch_do_not_hide_the_others(tmp_path: Path) -> None:
    from postdeck.schemas.validation import check_file

    path = write(
        tmp_path,
        "name: c\nbatches:\n"
        "  - {id: a, caption: hi, caption: again, platforms: [bluesky]}\n"  # a duplicate key
        "  - {id: b, caption: !!binary aGVsbG8=, platforms: [bluesky]}\n"  # a refused tag
        "  - {id: c, caption: !foo hi, platforms: [myspace]}\n"  # a tag and a wrong platform
        f"  - {{id: d, caption: {'x' * 400}, platforms: [bluesky]}}\n",  # content: too long
    )
    messages = [str(e) for e in check_file(path).errors]
    assert len(messages) == 5, messages
    assert "batches[0].caption: duplicate key 'caption'" in messages[0]
    assert "batches[1].caption: YAML tag `!!binary`" in messages[1]
    assert "batches[2].caption: YAML tag `!foo`" in messages[2] and "'myspace'" in messages[3]
    assert "batches[3].caption" in messages[4] and "400 graphemes" in messages[4]
    with pytest.raises(CampaignErrors):
        load_campaign(path)
    # Outside the batches, a value left out shapes every delivery: only the YAML error is reported.
    other = write(
        tmp_path,
        "name: c\ndefaults: {platforms: !!set {bluesky}}\nbatches:\n  - {id: a, caption: hi}\n",
        "d.yaml",
    )
    (error,) = check_file(other).errors
    assert "defaults.platforms: YAML tag `!!set`" in str(error)
