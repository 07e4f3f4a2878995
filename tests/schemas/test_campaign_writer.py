"""Campaign files written from a list of messages load, render and schedule as the messages say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.campaign_writer import (
    CampaignDraft,
    CampaignWriteError,
    Message,
    campaign_yaml,
    read_messages,
    write_campaign,
)
from postdeck.core.platform import Platform
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign

START = datetime(2030, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, two days before summer time


def load(tmp_path: Path, draft: CampaignDraft):
    path = write_campaign(tmp_path / "campaigns" / f"{draft.name}.yaml", campaign_yaml(draft))
    return load_campaign(path)


def test_one_batch_per_message_spaced_by_the_cadence_in_wall_clock_time(tmp_path: Path) -> None:
    messages = [Message("Day 1: launch 🚀"), Message("Day 2: features"), Message("Day 3: stories")]
    draft = CampaignDraft(
        "spring", messages, every="1d", start=START, timezone="Europe/Berlin", platforms=[Platform.TWITTER]
    )
    deliveries = expand(load(tmp_path, draft))
    assert [d.caption for d in deliveries] == [m.caption for m in messages]
    assert [d.batch_id for d in deliveries] == ["post-01", "post-02", "post-03"]
    # 09:00 Berlin each day: UTC+1 before the switch on the 31st, UTC+2 after.
    assert [d.at for d in deliveries] == [
        datetime(2030, 3, 29, 8, tzinfo=UTC),
        datetime(2030, 3, 30, 8, tzinfo=UTC),
        datetime(2030, 3, 31, 7, tzinfo=UTC),
    ]


def test_template_syntax_in_a_message_is_posted_literally(tmp_path: Path) -> None:
    text = "Use {{ coupon }} and {% raw %} at checkout {# not a comment #}"
    draft = CampaignDraft("literal", [Message(text)], start=START, platforms=[Platform.BLUESKY])
    (delivery,) = expand(load(tmp_path, draft))
    assert delivery.caption == text


def test_multi_line_messages_keep_their_lines(tmp_path: Path) -> None:
    text = "First line\nSecond line"
    draft = CampaignDraft("lines", [Message(text)], start=START, platforms=[Platform.LINKEDIN])
    assert "|" in campaign_yaml(draft)  # block style: reads in review as it will be posted
    (delivery,) = expand(load(tmp_path, draft))
    assert delivery.caption == text


def test_default_platforms_are_the_text_ones(tmp_path: Path) -> None:
    draft = CampaignDraft("defaults", [Message("hi")], start=START)
    platforms = {d.platform for d in expand(load(tmp_path, draft))}
    assert platforms == {
        Platform.TWITTER,
        Platform.LINKEDIN,
        Platform.BLUESKY,
        Platform.THREADS,
        Platform.FACEBOOK,
    }


def test_every_hour_cadence(tmp_path: Path) -> None:
    draft = CampaignDraft(
        "hourly", [Message("a"), Message("b")], every="6h", start=START, platforms=[Platform.TWITTER]
    )
    first, second = expand(load(tmp_path, draft))
    assert second.at - first.at == timedelta(hours=6)


@pytest.mark.parametrize(
    "start",
    [
        datetime(2030, 3, 29, 8, 0, 42, tzinfo=UTC),  # `campaign new --start 1m` has seconds: keep them
        datetime(2030, 10, 27, 0, 30, tzinfo=UTC),  # the first 02:30 of the night the clocks go back
        datetime(2030, 10, 27, 1, 30, tzinfo=UTC),  # and the second
    ],
)
def test_the_start_is_kept_exactly(tmp_path: Path, start: datetime) -> None:
    draft = CampaignDraft(
        "exact", [Message("a")], start=start, timezone="Europe/Berlin", platforms=[Platform.TWITTER]
    )
    (delivery,) = expand(load(tmp_path, draft))
    assert delivery.at == start


def test_reading_messages(tmp_path: Path) -> None:
    lines = tmp_path / "m.txt"
    lines.write_text("one\n\ntwo\n")
    assert [m.caption for m in read_messages(lines)] == ["one", "two"]
    blocks = tmp_path / "b.txt"
    blocks.write_text("first\nstill first\n---\nsecond\n")
    assert [m.caption for m in read_messages(blocks)] == ["first\nstill first", "second"]
    structured = tmp_path / "m.yaml"
    structured.write_text("- plain\n- caption: with a photo\n  media: media/a.jpg\n")
    assert read_messages(structured) == [Message("plain"), Message("with a photo", ("media/a.jpg",))]
    empty = tmp_path / "e.txt"
    empty.write_text("\n\n")
    with pytest.raises(CampaignWriteError, match="holds no messages"):
        read_messages(empty)


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (CampaignDraft("Bad Name", [Message("x")], start=START), "cannot name a campaign"),
        (CampaignDraft("ok", [], start=START), "at least one message"),
        (CampaignDraft("ok", [Message("x")], every="daily", start=START), "not a duration"),
        (CampaignDraft("ok", [Message("x")], start=START, timezone="Mars/Olympus"), "unknown time zone"),
    ],
)
def test_refusals(draft: CampaignDraft, message: str) -> None:
    with pytest.raises(CampaignWriteError, match=message):
        campaign_yaml(draft)


def test_an_existing_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("keep me")
    with pytest.raises(CampaignWriteError, match="exists"):
        write_campaign(path, "new")
    assert path.read_text() == "keep me"
    write_campaign(path, "new", overwrite=True)
    assert path.read_text() == "new"
