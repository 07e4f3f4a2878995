"""`postdeck campaign new` (seed 002's create_campaign / create_quick_campaign): a file to review,
which then publishes (here through the service's publish_batch) at the cadence's times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign
from tests.service.test_service_harness import Sims, run_cli

pytest_plugins = ["tests.service.test_service_harness"]

MESSAGES = "Campaign Day 1: Launch announcement! 🚀\nCampaign Day 2: Product feature update!\n"


def test_campaign_new_writes_a_valid_campaign(capsys, workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    (workdir / "messages.txt").write_text(MESSAGES)
    result = run_cli(
        capsys,
        "campaign",
        "new",
        "launch-week",
        "--from-messages",
        "messages.txt",
        "--every",
        "1d",
        "--start",
        "tomorrow at 9am",
        "--to",
        "twitter,bluesky",
    )
    assert result.code == 0, result.err
    path = workdir / "campaigns" / "launch-week.yaml"
    assert f"wrote {Path('campaigns/launch-week.yaml')}" in result.out
    loaded = load_campaign(path)
    assert loaded.campaign.timezone == "Europe/Berlin"
    deliveries = expand(loaded)
    first = deliveries[0].at.astimezone(ZoneInfo("Europe/Berlin"))
    tomorrow = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=1)).date()
    assert (first.date(), first.hour, first.minute) == (tomorrow, 9, 0)
    assert {d.caption for d in deliveries} == set(MESSAGES.strip().splitlines())
    assert {d.platform.value for d in deliveries} == {"twitter", "bluesky"}
    again = run_cli(capsys, "campaign", "new", "launch-week", "--from-messages", "messages.txt")
    assert again.code == 1 and "exists" in again.err


def test_the_written_campaign_publishes_at_its_cadence(capsys, service, sims: Sims, workdir: Path) -> None:
    (workdir / "messages.txt").write_text(MESSAGES)
    result = run_cli(
        capsys,
        "campaign",
        "new",
        "quick",
        "--from-messages",
        "messages.txt",
        "--every",
        "12h",
        "--start",
        "2099-01-01T09:00",
        "--utc",
        "--to",
        "linkedin",
    )
    assert result.code == 0, result.err
    for number in (1, 2):
        published = service.publish_batch(None, "quick", number)
        assert published.success, published.error
    posts = sorted(sims.pfm_posts(), key=lambda p: p["scheduled_at"])
    assert [p["caption"] for p in posts] == MESSAGES.strip().splitlines()
    times = [datetime.fromisoformat(p["scheduled_at"].replace("Z", "+00:00")) for p in posts]
    assert times == [datetime(2099, 1, 1, 9, tzinfo=UTC), datetime(2099, 1, 1, 21, tzinfo=UTC)]


def test_campaign_new_reports_problems(capsys, workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    (workdir / "messages.txt").write_text("x" * 400 + "\n")
    result = run_cli(
        capsys, "campaign", "new", "too-long", "--from-messages", "messages.txt", "--to", "twitter"
    )
    assert result.code == 1 and "written but is not valid yet" in result.err
    assert (workdir / "campaigns" / "too-long.yaml").exists()  # kept for review
    bad = run_cli(capsys, "campaign", "new", "Bad Name", "--from-messages", "messages.txt")
    assert bad.code == 1 and "cannot name a campaign" in bad.err
