"""`postdeck history` (seed 002's schedules.list: status, network, page, per page, one id), as a
table, JSON or CSV; what it lists is what the simulators hold."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from postdeck.service import SocialPostingService
from tests.service.test_service_harness import USER, Sims, run_cli

pytest_plugins = ["tests.service.test_service_harness"]

LATER = datetime.now(UTC) + timedelta(days=3)


def seed_posts(service: SocialPostingService, sims: Sims) -> dict[str, str]:
    sims.pfm_configure(fail_platforms=["threads"])
    now = service.create_post(USER, "now", ["twitter", "threads"])
    later = service.create_post(USER, "later", ["linkedin"], scheduled_for=LATER)
    campaign = service.create_post("other", "tracked", ["twitter"], campaign_id="launch-week")
    return {
        "posted": now.delivery_keys["twitter"],
        "failed": now.delivery_keys["threads"],
        "scheduled": later.delivery_keys["linkedin"],
        "campaign": campaign.delivery_keys["twitter"],
    }


def history(capsys, *args: str) -> list[dict]:
    result = run_cli(capsys, "history", "--format", "json", *args)
    assert result.code == 0, result.err
    return result.json()


def test_history_filters(capsys, service, sims: Sims, workdir) -> None:
    keys = seed_posts(service, sims)
    assert {r["id"] for r in history(capsys)} == set(keys.values())
    assert [r["id"] for r in history(capsys, "--status", "failed")] == [keys["failed"]]
    both = history(capsys, "--status", "failed", "--status", "scheduled")
    assert {r["id"] for r in both} == {keys["failed"], keys["scheduled"]}
    assert {r["id"] for r in history(capsys, "--platform", "twitter")} == {keys["posted"], keys["campaign"]}
    assert [r["id"] for r in history(capsys, "--campaign", "launch-week")] == [keys["campaign"]]
    assert {r["id"] for r in history(capsys, "--user", USER)} == {
        keys["posted"],
        keys["failed"],
        keys["scheduled"],
    }
    assert len(history(capsys, "--since", "7d")) == 4 and history(capsys, "--since", "2099-01-01") == []
    failed = history(capsys, "--status", "failed")[0]
    assert "simulated failure" in failed["error"] and failed["platform"] == "threads"


def test_history_by_id_and_by_provider_post(capsys, service, sims: Sims, workdir) -> None:
    # Seed 002's schedules.list(schedule_id=...) and (group_id=...): one delivery, or one post's.
    keys = seed_posts(service, sims)
    assert [r["id"] for r in history(capsys, "--id", keys["scheduled"])] == [keys["scheduled"]]
    post_id = history(capsys, "--id", keys["posted"])[0]["provider_post_id"]
    assert {r["id"] for r in history(capsys, "--post", post_id)} == {keys["posted"], keys["failed"]}
    assert len(sims.pfm_post(post_id).json()["social_accounts"]) == 2  # the provider post carries both


def test_history_matches_the_simulator(capsys, service, sims: Sims, workdir) -> None:
    keys = seed_posts(service, sims)
    rows = {r["id"]: r for r in history(capsys)}
    posts = {p["id"]: p for p in sims.pfm_posts()}
    for key in keys.values():
        assert rows[key]["provider_post_id"] in posts
    scheduled = rows[keys["scheduled"]]
    assert posts[scheduled["provider_post_id"]]["status"] == "scheduled"
    assert datetime.fromisoformat(scheduled["scheduled_for"]) == LATER


def test_history_pages(capsys, service, sims: Sims, workdir) -> None:
    seed_posts(service, sims)
    everything = [r["id"] for r in history(capsys)]
    first = [r["id"] for r in history(capsys, "--per-page", "3")]
    second = [r["id"] for r in history(capsys, "--per-page", "3", "--page", "2")]
    assert first + second == everything and len(second) == 1


def test_history_as_csv_and_table(capsys, service, sims: Sims, workdir) -> None:
    keys = seed_posts(service, sims)
    result = run_cli(capsys, "history", "--format", "csv", "--status", "scheduled")
    (row,) = list(csv.DictReader(io.StringIO(result.out)))
    assert row["id"] == keys["scheduled"] and row["status"] == "scheduled"
    table = run_cli(capsys, "history", "--status", "posted")
    assert table.code == 0 and "posted" in table.out and "deliveries, page 1" in table.out


def test_history_errors(capsys, workdir) -> None:
    assert "unknown status sent" in run_cli(capsys, "history", "--status", "sent").err
    assert "--format xml" in run_cli(capsys, "history", "--format", "xml").err
    assert "cannot tell when" in run_cli(capsys, "history", "--since", "the dawn of time").err
    # Not 13 January read day-first: an ISO-looking date is ISO or an error naming it.
    assert (
        "'2026-13-01' is not a valid ISO 8601 date" in run_cli(capsys, "history", "--since", "2026-13-01").err
    )
