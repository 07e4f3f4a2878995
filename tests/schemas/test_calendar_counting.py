"""The calendar rules count what the platforms count: each post of a thread toward X's and Bluesky's
caps, a Threads thread as one post and its replies toward the replies cap; X's duplicate check sees
thread parts; `truncate` shortens each part; a first comment is held to the comment limits where the
rules have them; and a minimum spacing between two posts to one account, over every occurrence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.rules import RULES_FILE, platform_rules
from postdeck.schemas.validation import check_file, check_files


def write(folder: Path, text: str, name: str = "c.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    return [str(e) for e in check_file(path).errors]


def threads(platform: str, parts: list[int], *, at: str = "2030-05-01 09:00") -> str:
    """One thread per item of `parts` (that many replies each), all at one time, every text distinct."""
    lines = ["name: c", "batches:"]
    for b, count in enumerate(parts):
        lines += [
            f"  - id: t{b}",
            f"    at: '{at}'",
            f"    platforms: [{platform}]",
            f"    caption: 'thread {b}'",
        ]
        lines.append("    thread:")
        lines += [f"      - caption: 'thread {b} part {p}'" for p in range(count)]
    return "\n".join(lines) + "\n"


# ---- caps count every post of a thread where the platform does ---------------------------------


def test_an_x_thread_counts_each_of_its_posts_toward_the_15_minute_cap(tmp_path: Path) -> None:
    # 25 threads of 4 posts are 100 posts: X's cap exactly; one more reply breaks it.
    assert errors_of(write(tmp_path, threads("twitter", [3] * 25))) == []
    [error] = errors_of(write(tmp_path, threads("twitter", [3] * 24 + [4])))
    assert "twitter: post 101 within 15m for this account" in error
    assert "a thread counts each of its posts" in error and "X allows 100 [X5, 2026-07-24]" in error


def test_a_bluesky_thread_counts_each_of_its_records(tmp_path: Path) -> None:
    # 1,666 creates an hour: 17 threads of 99 replies are 1,700 records.
    [error] = errors_of(write(tmp_path, threads("bluesky", [99] * 17)))
    assert "bluesky: post 1700 within 1h" in error


def test_a_threads_thread_is_one_post_and_its_parts_count_toward_the_replies_cap(tmp_path: Path) -> None:
    # Threads: 250 posts and 1,000 replies per 24 h [T2]; a thread's parts are replies.
    assert errors_of(write(tmp_path, threads("threads", [100] * 10))) == []  # 10 posts, 1,000 replies
    [error] = errors_of(write(tmp_path, threads("threads", [91] * 11)))  # 11 posts, 1,001 replies
    assert "threads: reply 1001 within 24h for this account" in error
    assert "Threads allows 1000 replies [T2, 2025-12-22]" in error


# ---- X's duplicate check sees thread parts -------------------------------------------------------


def test_a_thread_part_repeating_another_posts_caption_is_a_duplicate_on_x(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n"
        "  - {id: a, at: '2030-05-01 09:00', platforms: [twitter], caption: 'Bags ship Monday'}\n"
        "  - id: b\n    at: '2030-05-02 09:00'\n    platforms: [twitter]\n    caption: 'How we roast'\n"
        "    thread:\n      - caption: 'The green coffee'\n      - caption: 'bags  ship monday'\n",
    )
    [error] = check_file(path).errors
    assert error.location.line == 10 and error.field == "batches[1].thread[1].caption"
    assert "same text as batch 'a'" in error.message and "X rejects duplicate posts" in error.message


def test_two_equal_parts_of_one_thread_are_duplicates_on_x_but_not_on_bluesky(tmp_path: Path) -> None:
    text = (
        "name: c\nbatches:\n"
        "  - id: b\n    at: '2030-05-02 09:00'\n    platforms: [{p}]\n    caption: 'How we roast'\n"
        "    thread:\n      - caption: 'More soon'\n      - caption: 'More soon'\n"
    )
    [error] = check_file(write(tmp_path, text.format(p="twitter"))).errors
    assert error.location.line == 9 and "same text as part 1 of batch 'b'" in error.message
    assert check_file(write(tmp_path, text.format(p="bluesky"))).ok


def test_a_part_like_an_earlier_thread_part_of_another_campaign_is_a_duplicate(tmp_path: Path) -> None:
    def campaign(name: str, at: str) -> Path:
        return write(
            tmp_path,
            f"name: {name}\naccounts: {{twitter: {{handle: roastery}}}}\nbatches:\n"
            f"  - id: t\n    at: '{at}'\n    platforms: [twitter]\n    caption: '{name} says hi'\n"
            "    thread:\n      - caption: 'Shop: https://example.com'\n",
            f"{name}.yaml",
        )

    one, two = campaign("one", "2030-05-01 09:00"), campaign("two", "2030-05-02 09:00")
    assert check_file(one).ok and check_file(two).ok
    errors = [e for r in check_files([one, two]) for e in r.errors]
    assert [(e.location.path, e.field) for e in errors] == [(str(two), "batches[0].thread[0].caption")]


# ---- truncate shortens each part -----------------------------------------------------------------


def test_truncate_shortens_every_part_of_a_thread_to_the_platforms_limit(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n"
        "  - id: t\n    at: '2030-05-01 09:00'\n    platforms: [twitter, bluesky]\n    truncate: true\n"
        "    caption: 'Short start'\n"
        "    thread:\n      - caption: \"{{ 'word ' * 100 }}\"\n      - caption: 'short end'\n",
    )
    assert check_file(path).ok
    by_platform = {d.platform.value: d for d in expand(load_campaign(path))}
    x, bluesky = by_platform["twitter"].thread, by_platform["bluesky"].thread
    assert x[0].caption.endswith("word…") and len(x[0].caption) <= 280
    assert bluesky[0].caption.endswith("word…") and 280 < len(bluesky[0].caption) <= 300
    assert x[1].caption == bluesky[1].caption == "short end"  # what fits is left alone


def test_without_truncate_an_over_long_part_is_an_error_that_says_how_to_fix_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n"
        "  - id: t\n    at: '2030-05-01 09:00'\n    platforms: [twitter]\n    caption: 'Short start'\n"
        "    thread:\n      - caption: \"{{ 'word ' * 100 }}\"\n",
    )
    [error] = check_file(path).errors
    assert error.field == "batches[0].thread[0].caption" and "set `truncate: true`" in error.fix


# ---- first comments: the comment limits where the rules have them ---------------------------------


def rules_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, **fields: object) -> None:
    """Validation with platform_rules.yaml changed: `fields` added to one platform's rules."""
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    data["platforms"][platform].update(fields)
    changed = tmp_path / "rules.yaml"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")
    rules = platform_rules(changed)
    monkeypatch.setattr("postdeck.schemas.validation.platform_rules", lambda path=RULES_FILE: rules)


TEST_NUMBER = {"source": "TEST", "as_of": "2026-01-01", "confidence": "low"}


@pytest.fixture
def comment_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules with a first-comment limit of 50 UTF-16 units on LinkedIn (none is documented)."""
    rules_with(tmp_path, monkeypatch, "linkedin", comment=[{"value": 50, "unit": "utf16", **TEST_NUMBER}])


def comment_campaign(folder: Path, length: int) -> Path:
    return write(
        folder,
        "name: c\nbatches:\n"
        "  - id: a\n    at: '2030-05-01 09:00'\n    platforms: [linkedin]\n    caption: hello\n"
        f"    first_comment: \"{{{{ 'a' * {length} }}}}\"\n",
    )


@pytest.mark.usefixtures("comment_rules")
def test_a_first_comment_is_held_to_the_comment_limit_where_the_rules_give_one(tmp_path: Path) -> None:
    assert errors_of(comment_campaign(tmp_path, 50)) == []
    [error] = check_file(comment_campaign(tmp_path, 51)).errors
    assert error.location.line == 7 and error.field == "batches[0].first_comment"
    assert "first comment is 51 UTF-16 units; LinkedIn allows 50 [TEST, 2026-01-01]" in error.message


def test_where_no_comment_limit_is_documented_the_caption_limits_apply(tmp_path: Path) -> None:
    rules = platform_rules()
    for platform in ("facebook", "instagram", "linkedin", "youtube"):
        assert rules.platforms[platform].comment == []  # the reference documents none (platforms.md)
        assert "first_comment" in rules.platforms[platform].features
    assert errors_of(comment_campaign(tmp_path, 3000)) == []
    [error] = errors_of(comment_campaign(tmp_path, 3001))
    assert "first comment is 3001 UTF-16 units; LinkedIn allows 3000" in error


# ---- a minimum spacing between two posts to one account ------------------------------------------

SPACED = """\
name: c
timezone: UTC
{settings}batches:
  - id: weekly
    at: '2030-03-04 10:00'
    platforms: [twitter, linkedin]
    caption: 'Tip {{{{ occurrence }}}}'
    repeat: {{every: 1w, count: 4}}
  - id: launch
    at: '{launch}'
    platforms: [twitter]
    caption: Launch day
"""


def test_no_minimum_spacing_by_default(tmp_path: Path) -> None:
    assert errors_of(write(tmp_path, SPACED.format(settings="", launch="2030-03-18 10:01"))) == []


def test_the_campaigns_min_spacing_is_checked_over_every_occurrence_and_names_both(tmp_path: Path) -> None:
    path = write(tmp_path, SPACED.format(settings="min_spacing: 30m\n", launch="2030-03-18 10:20"))
    [error] = check_file(path).errors
    assert error.location.line == 11 and error.field == "batches[1].at"  # at the later post's time
    assert error.message == (
        "twitter: batch 'launch' (2030-03-18T10:20:00+00:00) goes out 20 minutes after batch "
        f"'weekly@2030-03-18' (2030-03-18T10:00:00+00:00, {path}:6:9) to the same account; "
        "campaign 'c' asks for 30 minutes between two posts to one account (min_spacing)"
    )
    assert "at least 30 minutes apart" in error.fix
    # LinkedIn gets only the weekly tip: its occurrences are a week apart.
    assert (
        errors_of(write(tmp_path, SPACED.format(settings="min_spacing: 30m\n", launch="2030-03-18 10:30")))
        == []
    )


def test_an_accounts_min_spacing_overrides_the_campaigns_for_its_platform(tmp_path: Path) -> None:
    settings = "min_spacing: 2h\naccounts: {twitter: {min_spacing: 10m}}\n"
    assert errors_of(write(tmp_path, SPACED.format(settings=settings, launch="2030-03-18 10:20"))) == []
    settings = "accounts: {twitter: {min_spacing: 1d}}\n"
    [error] = errors_of(write(tmp_path, SPACED.format(settings=settings, launch="2030-03-19 09:00")))
    assert "goes out 23 hours after batch 'weekly@2030-03-18'" in error
    assert (
        "campaign 'c' asks for 1 day between two posts to its X account (accounts.twitter.min_spacing)"
        in error
    )


def test_a_pair_of_batches_too_close_in_many_occurrences_is_one_error(tmp_path: Path) -> None:
    text = (
        SPACED.format(settings="min_spacing: 1h\n", launch="2030-03-04 10:30")
        .replace(
            "  - id: launch\n    at: '2030-03-04 10:30'",
            "  - id: launch\n    at: '2030-03-04 10:30'\n    repeat: {every: 1w, count: 3}",
        )
        .replace("caption: Launch day", "caption: 'Launch {{ occurrence }}'")
    )
    [error] = errors_of(write(tmp_path, text))
    assert "batch 'launch@2030-03-04'" in error and "'weekly@2030-03-04'" in error
    assert "(and 2 more times)" in error


def test_spacing_counts_across_files_for_a_shared_account(tmp_path: Path) -> None:
    def campaign(name: str, at: str, settings: str = "") -> Path:
        return write(
            tmp_path,
            f"name: {name}\n{settings}accounts: {{twitter: {{handle: roastery}}}}\nbatches:\n"
            f"  - {{id: a, at: '{at}', platforms: [twitter], caption: '{name} news'}}\n",
            f"{name}.yaml",
        )

    one = campaign("one", "2030-05-01 09:00", "min_spacing: 1h\n")
    two = campaign("two", "2030-05-01 09:45")  # sets none: the stricter of the two applies
    errors = [e for r in check_files([one, two]) for e in r.errors]
    assert [e.location.path for e in errors] == [str(two)]
    assert "goes out 45 minutes after batch 'a'" in errors[0].message


def test_two_posts_now_to_one_account_break_a_min_spacing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nmin_spacing: 5m\nbatches:\n"
        "  - {id: a, platforms: [bluesky], caption: first}\n"
        "  - {id: b, platforms: [bluesky], caption: second}\n",
    )
    [error] = errors_of(path)
    assert "batch 'b' (now) goes out with batch 'a' (now" in error


def test_a_platform_rules_min_spacing_applies_without_a_campaign_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules_with(tmp_path, monkeypatch, "twitter", min_spacing={"value": 600, "unit": "seconds", **TEST_NUMBER})
    [error] = errors_of(write(tmp_path, SPACED.format(settings="", launch="2030-03-18 10:05")))
    assert "X needs 10 minutes between two posts to one account [TEST, 2026-01-01]" in error


def test_the_reference_documents_no_minimum_spacing_for_any_platform() -> None:
    assert all(p.min_spacing is None for p in platform_rules().platforms.values())


def test_a_thread_part_is_checked_as_a_delivery_of_its_own_text_and_media(tmp_path: Path) -> None:
    import dataclasses

    from postdeck.schemas.check_features import extra_texts

    path = write(
        tmp_path,
        "name: c\nbatches:\n"
        "  - id: t\n    at: '2030-05-01 09:00'\n    platforms: [twitter]\n    caption: 'First post'\n"
        "    thread:\n      - caption: 'Second post'\n",
    )
    [item] = [p for p in check_file(path).prepared]
    [part] = list(extra_texts(item))
    expected = dataclasses.replace(item.delivery, caption="Second post", media=(), options={}, thread=())
    assert part.delivery == expected and part.delivery.content_hash == expected.content_hash
    assert part.resolved.caption_at == ("batches", 0, "thread", 0, "caption") and part.resolved.options == {}
