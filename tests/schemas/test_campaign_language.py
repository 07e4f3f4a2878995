"""The campaign language: layered defaults, styles, per-platform overrides, cadence, includes,
truncate, options, NFC, and every error of a file at once."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postdeck.core.platform import Platform
from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.validation import check_file


def write(folder: Path, text: str, name: str = "c.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def deliveries(folder: Path, text: str) -> dict[str, Delivery]:
    return {d.key.split("/", 1)[1]: d for d in expand(load_campaign(write(folder, text)))}


def messages(path: Path) -> list[str]:
    return [str(e) for e in check_file(path).errors]


def test_settings_stack_from_network_defaults_to_the_batch(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path,
        """
        name: c
        defaults:
          platforms: [twitter, bluesky, linkedin]
          template: "[all] {{ caption }}"
          bluesky: {template: "[bluesky default] {{ caption }}"}
          linkedin: {organization: "urn:li:organization:1"}
        accounts:
          bluesky: {template: "[bluesky account] {{ caption }}"}
          linkedin: {organization: "urn:li:organization:2"}
        styles:
          loud:
            template: "[loud] {{ caption }}!"
            twitter: {template: "[loud on x] {{ caption }}"}
        batches:
          - id: plain
            caption: hello
          - id: styled
            style: loud
            caption: hello
            linkedin: {organization: "urn:li:organization:3", caption: "hello, network"}
        """,
    )
    assert found["plain/twitter"].caption == "[all] hello"
    assert found["plain/bluesky"].caption == "[bluesky account] hello"  # account beats network default
    assert found["plain/linkedin"].options == {"organization": "urn:li:organization:2"}
    assert found["styled/twitter"].caption == "[loud on x] hello"  # style's platform block beats its default
    assert found["styled/bluesky"].caption == "[loud] hello!"  # the style beats the account
    assert found["styled/linkedin"].caption == "[loud] hello, network!"  # per-platform caption override
    assert found["styled/linkedin"].options == {"organization": "urn:li:organization:3"}


def test_a_batch_can_switch_a_template_off_with_null(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path,
        """
        name: c
        defaults: {platforms: [bluesky], template: "📢 {{ caption }}"}
        batches:
          - {id: a, caption: hi}
          - {id: b, caption: hi, bluesky: {template: null}}
        """,
    )
    assert (found["a/bluesky"].caption, found["b/bluesky"].caption) == ("📢 hi", "hi")


def test_campaign_and_batch_vars_and_the_built_in_ones(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path,
        """
        name: c
        timezone: Europe/Berlin
        vars: {brand: Northside, city: Leith}
        batches:
          - id: a
            at: 2030-06-01 09:00
            platforms: [bluesky]
            vars: {city: Edinburgh}
            caption: "{{ brand }} in {{ city }} on {{ platform }} ({{ campaign }}/{{ batch }}) at {{ at.strftime('%H:%M %Z') }}"
        """,
    )
    assert found["a/bluesky"].caption == "Northside in Edinburgh on bluesky (c/a) at 09:00 CEST"


def test_cadence_spaces_batches_in_wall_clock_time_across_daylight_saving(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path,
        """
        name: c
        timezone: Europe/Berlin
        cadence: {start: 2030-03-30 09:00, every: 1d}
        defaults: {platforms: [bluesky]}
        batches:
          - {id: one, caption: one}
          - {id: fixed, caption: fixed, at: 2030-05-01 12:00}
          - {id: two, caption: two}
        """,
    )
    assert found["one/bluesky"].at == datetime(2030, 3, 30, 8, 0, tzinfo=UTC)  # CET, UTC+1
    assert found["two/bluesky"].at == datetime(2030, 3, 31, 7, 0, tzinfo=UTC)  # CEST, UTC+2: still 09:00
    assert found["fixed/bluesky"].at == datetime(2030, 5, 1, 10, 0, tzinfo=UTC)


def test_output_is_nfc(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path, 'name: c\nbatches:\n  - {id: a, platforms: [bluesky], caption: "cafe\\u0301"}\n'
    )
    assert found["a/bluesky"].caption == "café" and len(found["a/bluesky"].caption) == 4


def test_includes_come_from_the_templates_folder(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/sign.j2").write_text("— {{ brand }}{% include 'inner.j2' %}\n")
    (tmp_path / "templates/inner.j2").write_text(" ☕")
    found = deliveries(
        tmp_path,
        """
        name: c
        vars: {brand: Northside}
        defaults: {platforms: [bluesky], template: "{{ caption }} {% include 'sign.j2' %}"}
        batches:
          - {id: a, caption: hello}
        """,
    )
    assert found["a/bluesky"].caption == "hello — Northside ☕"


def test_an_include_symlinked_out_of_the_templates_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "secret.txt").write_text("the recipe")
    os.symlink(tmp_path / "secret.txt", tmp_path / "templates/leak.j2")
    path = write(
        tmp_path,
        "name: c\nbatches:\n  - {id: a, platforms: [bluesky], caption: \"{% include 'leak.j2' %}\"}\n",
    )
    [message] = messages(path)
    assert "leaves the templates folder" in message and f"{path}:3:" in message


def test_truncate_shortens_to_each_platforms_own_count(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path,
        """
        name: c
        defaults: {platforms: [twitter, bluesky, linkedin], truncate: true}
        batches:
          - id: a
            caption: "{{ '日本語のテキスト ' * 40 }}"
        """,
    )
    from postdeck.schemas import counting

    twitter, bluesky, linkedin = (found[f"a/{p}"].caption for p in ("twitter", "bluesky", "linkedin"))
    assert twitter.endswith("…") and counting.x_weighted(twitter) <= 280
    assert bluesky.endswith("…") and counting.graphemes(bluesky) <= 300 and len(bluesky) > len(twitter)
    assert not linkedin.endswith("…")  # 360 UTF-16 units fit LinkedIn's 3,000


def test_options_reach_the_delivery_rendered(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64))
    found = deliveries(
        tmp_path,
        """
        name: c
        vars: {roast: Spring Roast}
        defaults:
          youtube: {privacy: unlisted}
          tiktok: {privacy: SELF_ONLY}
        batches:
          - id: a
            caption: hi
            media: [clip.mp4]
            platforms: [youtube, tiktok]
            youtube: {title: "{{ roast }} in 3 minutes"}
        """,
    )
    assert found["a/youtube"].options == {"title": "Spring Roast in 3 minutes", "privacy": "unlisted"}
    assert found["a/tiktok"].options == {"privacy": "SELF_ONLY"}
    assert found["a/youtube"].limits and found["a/youtube"].caption_length().unit == "utf16"


def test_premium_x_accounts_get_the_long_limit(tmp_path: Path) -> None:
    text = """
        name: c
        accounts: {twitter: {premium: %s}}
        batches:
          - {id: a, platforms: [twitter], caption: "{{ 'word ' * 100 }}"}
        """
    assert any("X allows 280" in m for m in messages(write(tmp_path, text % "false", "a.yaml")))
    # 500 weighted: fine for X Premium, but Post for Me still cuts premium posts at 2,200 UTF-16 units.
    assert messages(write(tmp_path, text % "true", "b.yaml")) == []


def test_field_errors_and_model_level_errors_come_in_one_report(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: c
        defaults: {platforms: [bluesky]}
        batches:
          - {id: a, caption: hello, colour: red}
          - {id: a, caption: hello again}
          - {id: b, caption: "{{ 'x' * 400 }}", style: nope}
          - {id: c, caption: "fine"}
        """,
    )
    found = messages(path)
    assert any(":4:" in m and "colour" in m and "unknown field" in m for m in found)
    assert any(":5:" in m and "duplicate batch id 'a'" in m for m in found)
    assert any(":6:" in m and "unknown style 'nope'" in m for m in found)
    # The invalid batch is set aside; the valid ones are still rendered and checked.
    report = check_file(path)
    assert {p.delivery.batch_id for p in report.prepared} == {"a", "b", "c"}
    assert any(":6:" in m and "400 graphemes" in m for m in found)
    lines = [e.location.line for e in report.errors]
    assert lines == sorted(lines)


def test_a_too_long_caption_in_a_valid_batch_is_reported_beside_a_typo_elsewhere(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: c
        defaults: {platforms: [bluesky]}
        batches:
          - {id: a, caption: hello, captoin: typo}
          - {id: b, caption: "{{ 'x' * 400 }}"}
        """,
    )
    found = messages(path)
    assert len(found) == 2
    assert ":4:" in found[0] and "captoin" in found[0]
    assert ":5:" in found[1] and "400 graphemes" in found[1]


def test_load_campaign_stays_strict(tmp_path: Path) -> None:
    path = write(tmp_path, "name: c\nbatches:\n  - {id: a, caption: hi, platforms: [bluesky], x: 1}\n")
    with pytest.raises(CampaignErrors) as info:
        load_campaign(path)
    assert "unknown field" in str(info.value)


def test_every_platform_has_options_or_none(tmp_path: Path) -> None:
    from postdeck.schemas.platform_options import OPTION_FIELDS

    # first_comment is every platform's (validate refuses it where no provider can post one)
    assert OPTION_FIELDS[Platform.YOUTUBE] == ("first_comment", "title", "privacy")
    assert OPTION_FIELDS[Platform.TIKTOK] == ("first_comment", "privacy")
    assert OPTION_FIELDS[Platform.PINTEREST] == ("first_comment", "board", "link")
    assert OPTION_FIELDS[Platform.FACEBOOK] == ("first_comment", "page", "placement")
    assert OPTION_FIELDS[Platform.LINKEDIN] == ("first_comment", "organization")
    assert OPTION_FIELDS[Platform.INSTAGRAM] == ("first_comment", "placement")
    assert OPTION_FIELDS[Platform.TWITTER] == ("first_comment",)


def test_campaign_error_is_raised_by_expand_for_render_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: c\nbatches:\n  - {id: a, caption: '{{ nope }}', platforms: [bluesky, twitter]}\n"
    )
    with pytest.raises(CampaignError) as info:
        expand(load_campaign(path))
    assert str(info.value).count("'nope' is undefined") == 1  # once, not once per platform


def test_an_edited_include_is_picked_up_by_the_next_expansion(tmp_path: Path) -> None:
    """A Prefect worker expands campaigns for many runs in one process: no stale renders."""
    (tmp_path / "templates").mkdir()
    footer = tmp_path / "templates/footer.j2"
    footer.write_text("v1")
    text = "name: c\nbatches:\n  - {id: a, platforms: [bluesky], caption: \"hi {% include 'footer.j2' %}\"}\n"
    assert deliveries(tmp_path, text)["a/bluesky"].caption == "hi v1"
    footer.write_text("v2, longer")
    assert deliveries(tmp_path, text)["a/bluesky"].caption == "hi v2, longer"
