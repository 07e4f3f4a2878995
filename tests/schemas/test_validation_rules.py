"""The platform rules data file drives validation: limits, caps across files, media probing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from postdeck.core.platform import Platform
from postdeck.schemas import media_probe
from postdeck.schemas.rules import RULES_FILE, platform_rules
from postdeck.schemas.validation import check_file, check_files

CORPUS_MEDIA = Path(__file__).parents[1] / "bad_campaigns" / "media"
NEEDS = {  # what each platform needs besides a caption, so that only the caption is under test
    Platform.INSTAGRAM: "media: [square.jpg]",
    Platform.PINTEREST: "media: [square.jpg], pinterest: {board: '1'}",
    Platform.TIKTOK: "media: [square.jpg], tiktok: {privacy: SELF_ONLY}",
    Platform.YOUTUBE: "media: [clip.mp4], youtube: {title: t, privacy: public}",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("square.jpg", "clip.mp4", "wide.jpg"):
        shutil.copy(CORPUS_MEDIA / name, tmp_path / name)
    return tmp_path


def caption_errors(folder: Path, platform: Platform, length: int) -> list[str]:
    extra = NEEDS.get(platform, "")
    path = folder / f"{platform.value}-{length}.yaml"
    path.write_text(
        f"name: c\nbatches:\n  - {{id: a, platforms: [{platform.value}], caption: \"{{{{ 'a' * {length} }}}}\""
        + (f", {extra}" if extra else "")
        + "}\n"
    )
    report = check_file(path)
    return [str(e) for e in report.errors]


@pytest.mark.parametrize("platform", list(Platform))
def test_each_platform_takes_exactly_its_tightest_text_limit(folder: Path, platform: Platform) -> None:
    rules = platform_rules()
    limits = [
        n for n in rules.of(platform).text if n.severity == "error" and n.by in ("platform", *rules.chain)
    ]
    tightest = min(n.limit for n in limits)  # ASCII letters measure the same in every unit
    assert caption_errors(folder, platform, tightest) == []
    [error] = caption_errors(folder, platform, tightest + 1)
    assert f"{tightest + 1}" in error and f"{tightest}" in error


def test_pinterest_warns_past_the_ui_limit_and_fails_past_the_api_limit(folder: Path) -> None:
    path = folder / "p.yaml"
    path.write_text(
        "name: c\nbatches:\n  - {id: a, platforms: [pinterest], caption: \"{{ 'a' * 600 }}\", "
        "media: [square.jpg], pinterest: {board: '1'}}\n"
    )
    report = check_file(path)
    assert report.ok
    [warning] = report.warnings
    assert "600 UTF-16 units; Pinterest allows 500" in str(warning)


def test_the_rules_file_refuses_a_number_without_its_source(tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_FILE.read_text())
    del data["platforms"]["twitter"]["text"][0]["source"]
    broken = tmp_path / "rules.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="source"):
        platform_rules(broken)


def test_every_number_in_the_rules_file_is_cited() -> None:
    def numbers(node: object) -> list[dict]:
        if isinstance(node, dict):
            found = [node] if "value" in node else []
            return found + [n for value in node.values() for n in numbers(value)]
        if isinstance(node, list):
            return [n for item in node for n in numbers(item)]
        return []

    found = numbers(yaml.safe_load(RULES_FILE.read_text()))
    assert len(found) > 60
    for number in found:
        assert {"value", "unit", "source", "as_of", "confidence"} <= set(number), number


def test_caps_and_duplicates_count_across_files_for_a_shared_account(folder: Path) -> None:
    def campaign(name: str, start: str) -> Path:
        batches = "".join(
            f"  - {{id: p{i}, caption: '{name} diary {i}', media: [square.jpg]}}\n" for i in range(8)
        )
        path = folder / f"{name}.yaml"
        path.write_text(
            f"name: {name}\ncadence: {{start: '{start}', every: 1h}}\n"
            "defaults: {platforms: [tiktok], tiktok: {privacy: SELF_ONLY}}\n"
            "accounts: {tiktok: {handle: northside}}\n"
            f"batches:\n{batches}"
        )
        return path

    first, second = campaign("one", "2030-05-01 08:00"), campaign("two", "2030-05-01 08:30")
    assert check_file(first).ok and check_file(second).ok  # 8 a day each: fine alone
    reports = check_files([first, second])
    errors = [str(e) for r in reports for e in r.errors]
    assert len(errors) == 1 and "post 16 within 24h" in errors[0] and errors[0].startswith(str(second))


def test_each_media_file_is_probed_once(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = media_probe._probe
    monkeypatch.setattr(media_probe, "_PROBES", {})
    monkeypatch.setattr(media_probe, "_probe", lambda ref: calls.append(ref.source) or original(ref))
    path = folder / "c.yaml"
    batches = "".join(f"  - {{id: b{i}, caption: 'post {i}', media: [wide.jpg]}}\n" for i in range(5))
    path.write_text(
        "name: c\ndefaults: {platforms: [twitter, bluesky, threads, linkedin, facebook]}\n"
        f"batches:\n{batches}"
    )
    assert check_file(path).ok
    assert calls == ["wide.jpg"]


def test_remote_media_is_not_fetched_but_its_kind_is_checked(folder: Path) -> None:
    path = folder / "c.yaml"
    path.write_text(
        "name: c\nbatches:\n"
        "  - {id: a, caption: hi, platforms: [youtube], media: ['https://cdn.example.com/a.jpg'],"
        " youtube: {title: t, privacy: public}}\n"
        "  - {id: b, caption: hi, platforms: [bluesky], media: ['https://cdn.example.com/a']}\n"
    )
    report = check_file(path)
    assert ["YouTube takes video; media[0] is an image" in str(e) for e in report.errors] == [True]
    assert any("without a known file extension" in str(w) for w in report.warnings)


def test_instagram_links_warn_and_stories_warn_that_the_caption_is_not_shown(folder: Path) -> None:
    path = folder / "c.yaml"
    path.write_text(
        "name: c\nbatches:\n"
        "  - {id: a, caption: 'see https://northside.example', platforms: [instagram], media: [square.jpg],"
        " instagram: {placement: stories}}\n"
    )
    report = check_file(path)
    assert report.ok
    warnings = " ".join(str(w) for w in report.warnings)
    assert "not clickable" in warnings and "show no caption" in warnings


def test_worker_processes_report_exactly_what_one_process_reports(tmp_path: Path) -> None:
    corpus = Path(__file__).parents[1] / "bad_campaigns"
    files = sorted(
        p for p in corpus.glob("*.yaml") if "big-" not in p.read_text() and "huge-" not in p.read_text()
    )
    one = check_files(files, jobs=1)
    two = check_files(files, jobs=2)
    assert [str(r.path) for r in two] == [str(r.path) for r in one]
    assert [[str(e) for e in r.errors] for r in two] == [[str(e) for e in r.errors] for r in one]
    assert [[str(w) for w in r.warnings] for r in two] == [[str(w) for w in r.warnings] for r in one]
    assert sum(len(r.errors) for r in two) >= len(files)


def test_require_valid_raises_every_error_for_publishing(folder: Path) -> None:
    from postdeck.errors import CampaignErrors
    from postdeck.schemas.validation import require_valid

    path = folder / "c.yaml"
    path.write_text("name: c\nbatches:\n  - {id: a, caption: hi, platforms: [instagram, tiktok]}\n")
    with pytest.raises(CampaignErrors) as info:
        require_valid(path)
    assert {e.message.split(":")[0] for e in info.value.errors} == {"instagram", "tiktok"}
    assert len(info.value.errors) == 3  # Instagram and TikTok need media; TikTok a privacy level
    path.write_text("name: c\nbatches:\n  - {id: a, caption: hi, platforms: [bluesky]}\n")
    assert require_valid(path).prepared[0].delivery.caption == "hi"
