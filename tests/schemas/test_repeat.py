"""Repeating batches in the campaign language: their occurrences, keys, times across daylight saving,
caption rotation, and the errors and calendar checks that see every occurrence."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from postdeck.core.keys import DeliveryKey
from postdeck.errors import CampaignErrors
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.repeat import step
from postdeck.schemas.validation import check_file

MEDIA = Path(__file__).parents[1] / "bad_campaigns" / "media" / "square.jpg"


def write(tmp_path: Path, batches: str, head: str = "name: c\ntimezone: UTC\n") -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"{head}batches:\n{batches}", encoding="utf-8")
    return path


def test_a_weekly_repeat_with_count_3_is_3_deliveries_per_platform_keyed_by_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - id: weekly\n    at: 2026-12-14 09:00\n    platforms: [bluesky, linkedin]\n"
        "    caption: 'Tip {{ occurrence }} of {{ occurrences }}'\n"
        "    repeat: {every: 1w, count: 3}\n"
        "  - {id: once, at: 2026-12-15 10:00, platforms: [bluesky], caption: hello}\n",
    )
    deliveries = expand(load_campaign(path))
    assert [(d.key, d.at, d.caption) for d in deliveries if d.platform == "bluesky"] == [
        ("c/weekly@2026-12-14/bluesky", datetime(2026, 12, 14, 9, tzinfo=UTC), "Tip 1 of 3"),
        ("c/weekly@2026-12-21/bluesky", datetime(2026, 12, 21, 9, tzinfo=UTC), "Tip 2 of 3"),
        ("c/weekly@2026-12-28/bluesky", datetime(2026, 12, 28, 9, tzinfo=UTC), "Tip 3 of 3"),
        ("c/once/bluesky", datetime(2026, 12, 15, 10, tzinfo=UTC), "hello"),
    ]
    assert [d.repeat for d in deliveries if d.platform == "linkedin"] == [
        "every 1w, 1 of 3",
        "every 1w, 2 of 3",
        "every 1w, 3 of 3",
    ]
    assert {d.horizon_days for d in deliveries if d.batch_id != "once"} == {60}
    once = next(d for d in deliveries if d.batch_id == "once")
    assert (once.repeat, once.horizon_days) == ("", None)
    for d in deliveries:  # each key parses back to its batch and date
        key = DeliveryKey.parse(d.key)
        assert str(key) == d.key and key.batch_id == d.batch_id
    assert DeliveryKey.parse("c/weekly@2026-12-21/bluesky").occurrence == date(2026, 12, 21)


def test_a_repeat_keeps_its_local_time_across_daylight_saving(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - id: weekly\n    at: 2027-03-21 09:00\n    platforms: [bluesky]\n    caption: 'Tip {{ occurrence }}'\n"
        "    repeat: {every: 1w, until: 2027-11-07}\n",
        head="name: c\ntimezone: Europe/Berlin\n",
    )
    deliveries = expand(load_campaign(path))
    utc_hours = {d.batch_id: d.at.hour for d in deliveries}
    assert utc_hours["weekly@2027-03-21"] == 8  # CET, UTC+1
    assert utc_hours["weekly@2027-03-28"] == 7  # the clocks went forward that night: CEST, UTC+2
    assert utc_hours["weekly@2027-10-24"] == 7
    assert utc_hours["weekly@2027-10-31"] == 8  # and back
    assert deliveries[-1].batch_id == "weekly@2027-11-07"  # `until` is inclusive
    assert {d.at.astimezone(load_campaign(path).campaign.zone).hour for d in deliveries} == {9}


def test_a_later_occurrence_in_the_spring_gap_is_read_leniently(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - id: daily\n    at: 2027-03-27 02:30\n    platforms: [bluesky]\n    caption: 'Day {{ occurrence }}'\n"
        "    repeat: {every: 1d, count: 2}\n",
        head="name: c\ntimezone: Europe/Berlin\n",
    )
    first, second = expand(load_campaign(path))
    assert first.at == datetime(2027, 3, 27, 1, 30, tzinfo=UTC)
    # 02:30 does not exist on the 28th: the shifted reading (03:30 CEST), the same as a cadence's.
    assert (second.batch_id, second.at) == ("daily@2027-03-28", datetime(2027, 3, 28, 1, 30, tzinfo=UTC))


def test_months_keep_the_day_or_take_the_last_of_a_shorter_month() -> None:
    start = datetime(2027, 1, 31, 9)
    assert [step(start, "1mo", n).date() for n in range(4)] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert step(start, "2w", 1) == datetime(2027, 2, 14, 9)
    assert step(datetime(2027, 11, 15), "3mo", 1) == datetime(2028, 2, 15)


def test_captions_rotate_in_turn_and_a_bad_one_is_located_in_the_rotation(tmp_path: Path) -> None:
    batch = (
        "  - id: evergreen\n    at: 2027-01-04 09:00\n    platforms: [bluesky]\n    caption: first\n"
        "    repeat:\n      every: 1w\n      count: 5\n      captions:\n        - second\n        - third\n"
    )
    deliveries = expand(load_campaign(write(tmp_path, batch)))
    assert [d.caption for d in deliveries] == ["first", "second", "third", "first", "second"]
    assert deliveries[1].repeat == "every 1w, 2 of 5, caption 2 of 3"
    report = check_file(write(tmp_path, batch.replace("- third", "- '{{ third'")))
    assert [(e.field, e.location.line) for e in report.errors] == [("batches[0].repeat.captions[1]", 13)]


def test_caption_variables_and_per_platform_captions_still_apply(tmp_path: Path) -> None:
    batch = (
        "  - id: weekly\n    at: 2027-01-04 09:00\n    platforms: [bluesky, linkedin]\n"
        "    caption: 'Week of {{ at.strftime(\"%d %b\") }}'\n"
        "    linkedin: {caption: 'LinkedIn {{ occurrence }}'}\n    repeat: {every: 1w, count: 2}\n"
    )
    deliveries = expand(load_campaign(write(tmp_path, batch)))
    assert [(d.platform.value, d.caption) for d in deliveries] == [
        ("bluesky", "Week of 04 Jan"),
        ("linkedin", "LinkedIn 1"),
        ("bluesky", "Week of 11 Jan"),
        ("linkedin", "LinkedIn 2"),
    ]


@pytest.mark.parametrize(
    ("repeat", "field", "message"),
    [
        ("{every: 1w}", "batches[0].repeat", "exactly one"),
        ("{every: 1w, count: 2, until: 2027-02-01}", "batches[0].repeat", "exactly one"),
        ("{every: 1h, count: 2}", "batches[0].repeat.every", "like 1d, 2w or 1mo"),
        ("{every: 1w, count: 0}", "batches[0].repeat.count", "greater than or equal to 1"),
        ("{every: 1w, until: 2026-12-31}", "batches[0].repeat", "no occurrence"),
        ("{every: 1d, until: 2030-12-31}", "batches[0].repeat", "more than 1000 occurrences"),
        ("{every: 1w, count: 2, captions: []}", None, ""),
    ],
)
def test_a_bad_rule_is_a_located_error(tmp_path: Path, repeat: str, field: str | None, message: str) -> None:
    path = write(
        tmp_path,
        f"  - {{id: w, at: 2027-01-04 09:00, platforms: [bluesky], caption: hi, repeat: {repeat}}}\n",
    )
    report = check_file(path)
    if field is None:
        assert report.ok, report.errors
        return
    assert [e.field for e in report.errors] == [field], report.errors
    assert message in str(report.errors[0]) and report.errors[0].location.line == 4


def test_a_repeat_needs_an_at(tmp_path: Path) -> None:
    path = write(tmp_path, "  - {id: w, platforms: [bluesky], caption: hi, repeat: {every: 1w, count: 2}}\n")
    with pytest.raises(CampaignErrors) as info:
        load_campaign(path)
    assert [e.field for e in info.value.errors] == ["batches[0].repeat"]
    assert "needs `at`" in str(info.value.errors[0])


def test_caps_count_every_occurrence_not_only_the_first_ones(tmp_path: Path) -> None:
    """50 Instagram posts on one day, and the 40th occurrence of a daily repeat lands on it: 51."""
    (tmp_path / "square.jpg").write_bytes(MEDIA.read_bytes())
    head = (
        "name: c\ntimezone: UTC\ndefaults: {platforms: [instagram]}\n"
        "cadence: {start: 2027-03-01 00:05, every: 20m}\n"
    )
    burst = "".join(f"  - {{id: b{i}, caption: 'post {i}', media: [square.jpg]}}\n" for i in range(50))
    daily = (
        "  - id: daily\n    at: 2027-01-21 12:00\n    caption: 'Day {{ occurrence }}'\n"
        "    media: [square.jpg]\n    repeat: {every: 1d, count: COUNT}\n"
    )
    ok = check_file(write(tmp_path, burst + daily.replace("COUNT", "39"), head))
    assert ok.ok, ok.errors  # the 39th occurrence is on 28 February
    report = check_file(write(tmp_path, burst + daily.replace("COUNT", "40"), head))
    assert len(report.errors) == 1 and "instagram: post 51 within 24h" in str(report.errors[0])


def test_duplicate_captions_are_checked_across_occurrences(tmp_path: Path) -> None:
    """X rejects a duplicate post: a repeat to X has to vary its caption (a rotation, or a variable)."""
    same = "  - {id: w, at: 2027-01-04 09:00, platforms: [twitter], caption: hi, repeat: {every: 1w, count: 2}}\n"
    report = check_file(write(tmp_path, same))
    assert len(report.errors) == 1 and "same caption as batch 'w@2027-01-04'" in str(report.errors[0])
    varied = same.replace("caption: hi", "caption: 'hi #{{ occurrence }}'")
    assert check_file(write(tmp_path, varied)).ok


def test_the_plan_shows_each_occurrence_with_its_rule_and_lists_the_later_ones(tmp_path: Path) -> None:
    from rich.console import Console

    from postdeck.commands.plan import plan_markdown, plan_table
    from postdeck.engine.plan import make_plan
    from postdeck.engine.plan_file import load_plan, plan_json, save_plan
    from postdeck.ledger.sqlite import SqliteLedger

    path = write(
        tmp_path,
        "  - id: weekly\n    at: 2027-01-04 09:00\n    platforms: [bluesky]\n    caption: 'Tip {{ occurrence }}'\n"
        "    repeat: {every: 1w, count: 12}\n",
        head="name: c\ntimezone: UTC\nhorizon_days: 14\n",
    )
    now = datetime(2027, 1, 1, tzinfo=UTC)
    plan = make_plan("c", expand(load_campaign(path)), SqliteLedger(tmp_path / "l.db"), now)
    assert [c.batch_id for c in plan.changes] == ["weekly@2027-01-04", "weekly@2027-01-11"]
    assert len(plan.later) == 10
    markdown = plan_markdown(plan, {})
    assert "| **create** | `weekly@2027-01-04` (every 1w, 1 of 12) | bluesky | 2027-01-04 09:00 |" in markdown
    assert "weekly@2027-01-18 … weekly@2027-03-22 (10 occurrences, 10 deliveries)" in markdown
    console = Console(width=200, record=True)
    console.print(plan_table(plan, {}))
    shown = console.export_text()
    assert "every 1w, 2 of 12" in shown and "10 later (beyond the horizon)" in shown
    document = json.loads("".join(plan_json(plan)))
    assert document["changes"][0]["repeat"] == "every 1w, 1 of 12"
    assert document["changes"][0]["delivery"]["horizon_days"] == 14
    assert document["later"][0] == "c/weekly@2027-01-18/bluesky"
    save_plan(plan, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json") == plan  # occurrences and the later ones come back
