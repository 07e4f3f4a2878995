"""Desired state wins: a batch the file has again (a removal reverted in git) or still has (cancelled
from the CLI) is created again, once, under its delivery key's next generation; a cancel pinned with
`postdeck cancel --keep-cancelled` stays. Real git repositories, the Prefect API, the simulators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox
from tests.engine.test_review_gate import git, publish
from tests.service.test_service_harness import Sims, run_cli

pytest_plugins = ["tests.service.test_service_harness"]  # sims: the simulators over their HTTP API
pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """campaigns/drift.yaml with two batches scheduled three days ahead (`back` first), committed on main."""
    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    root = tmp_path / "team"
    (root / "campaigns").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "campaigns/drift.yaml").write_text(
        f"name: drift\ntimezone: UTC\nbatches:\n"
        f"  - {{id: back, at: '{later}', platforms: [bluesky], caption: 'Removed, then put back'}}\n"
        f"  - {{id: keep, at: '{later}', platforms: [bluesky], caption: 'Stays all along'}}\n"
    )
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "drift campaign")
    monkeypatch.chdir(root)
    return root


CAMPAIGN = Path("campaigns/drift.yaml")


def planned(capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, tuple[str, str]]:
    result = run_cli(capsys, "plan", str(CAMPAIGN), "--format", "json", *options)
    assert result.code == 0, result.err
    return {c["key"]: (c["action"], c["reason"]) for c in result.json()["changes"]}


def sent(state) -> list[tuple[str, str, str]]:
    return [(r["key"], r["action"], r["status"]) for r in state.result()]


def test_a_reverted_removal_creates_the_batch_again_once(
    box: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(CAMPAIGN).is_completed()
    text = CAMPAIGN.read_text()
    CAMPAIGN.write_text("\n".join(line for line in text.splitlines() if "id: back" not in line) + "\n")
    git(repo, "commit", "-qam", "drop the back batch")
    assert sent(publish(CAMPAIGN)) == [
        ("drift/keep/bluesky", "unchanged", "scheduled"),
        ("drift/back/bluesky", "cancel", "cancelled"),
    ]
    removal = SqliteLedger().campaign_runs("drift")[0]  # the cancel names the run and commit that made it
    cancelled = SqliteLedger().get("drift/back/bluesky")
    assert (cancelled.run_id, cancelled.commit_sha) == (removal.id, git(repo, "rev-parse", "HEAD"))
    git(repo, "revert", "--no-edit", "HEAD")
    creates_before = box.postforme.create_calls

    assert planned(capsys)["drift/back/bluesky#1"] == (
        "create",
        "its batch was removed, then put back: created again as generation 1",
    )
    state = publish(CAMPAIGN)
    assert sent(state) == [  # in the campaign's order: the new generation where its batch is
        ("drift/back/bluesky#1", "sent", "scheduled"),
        ("drift/keep/bluesky", "unchanged", "scheduled"),
    ]
    assert box.postforme.create_calls == creates_before + 1
    again = SqliteLedger().get("drift/back/bluesky#1")
    assert again.commit_sha == git(repo, "rev-parse", "HEAD")  # recorded: the revert commit sent it
    assert SqliteLedger().get("drift/back/bluesky").status == "cancelled"  # the old generation stays
    assert {p["caption"] for p in box.postforme.posts.values()} == {
        "Stays all along",
        "Removed, then put back",
    }

    assert publish(CAMPAIGN).is_completed()  # a second publish sends nothing
    assert box.postforme.create_calls == creates_before + 1
    assert planned(capsys)["drift/back/bluesky#1"] == ("unchanged", "scheduled")


def test_a_cli_cancel_is_drift_that_publish_resolves_in_the_files_favour(
    box: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(CAMPAIGN).is_completed()
    cancelled = run_cli(capsys, "cancel", "drift/back/bluesky", "--sandbox")
    assert cancelled.code == 0, cancelled.err
    action, reason = planned(capsys)["drift/back/bluesky#1"]
    assert action == "drift" and "cancelled outside the file (postdeck cancel)" in reason
    assert "--keep-cancelled" in reason
    dry = publish(CAMPAIGN, dry_run=True)
    assert dry.is_completed() and ("drift/back/bluesky#1", "drift", "cancelled") in sent(dry)

    creates_before = box.postforme.create_calls
    assert ("drift/back/bluesky#1", "sent", "scheduled") in sent(publish(CAMPAIGN))
    assert publish(CAMPAIGN).is_completed()
    assert box.postforme.create_calls == creates_before + 1  # once


def test_a_pinned_cancel_stays_cancelled(
    box: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(CAMPAIGN).is_completed()
    pinned = run_cli(capsys, "cancel", "drift/back/bluesky", "--sandbox", "--keep-cancelled")
    assert pinned.code == 0, pinned.err
    assert SqliteLedger().get("drift/back/bluesky").keep_cancelled
    run_cli(capsys, "cancel", "drift/keep/bluesky", "--sandbox")  # not pinned at first...
    again = run_cli(capsys, "cancel", "drift/keep/bluesky", "--sandbox", "--keep-cancelled")
    assert again.code == 0 and "kept" in again.out  # ...then pinned, already cancelled
    assert SqliteLedger().get("drift/keep/bluesky").keep_cancelled
    plan = planned(capsys)
    assert plan == {
        "drift/keep/bluesky": ("unchanged", "cancelled, and kept so (postdeck cancel --keep-cancelled)"),
        "drift/back/bluesky": ("unchanged", "cancelled, and kept so (postdeck cancel --keep-cancelled)"),
    }
    creates_before = box.postforme.create_calls
    assert publish(CAMPAIGN).is_completed()
    assert box.postforme.create_calls == creates_before and box.postforme.posts == {}


def test_plan_refresh_shows_a_post_deleted_at_the_simulator_as_drift(
    box: Sandbox, sims: Sims, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(CAMPAIGN).is_completed()
    gone = SqliteLedger().get("drift/back/bluesky")
    assert sims.pfm.delete(f"/v1/social-posts/{gone.provider_post_id}").is_success  # as a dashboard would
    assert planned(capsys)["drift/back/bluesky"] == ("unchanged", "scheduled")  # the ledger alone cannot tell

    plan = planned(capsys, "--refresh", "--sandbox")
    assert plan["drift/back/bluesky"] == (
        "drift",
        f"deleted at postforme (post {gone.provider_post_id}): the ledger still has it scheduled",
    )
    assert plan["drift/keep/bluesky"] == ("unchanged", "scheduled")
    table = run_cli(capsys, "plan", str(CAMPAIGN), "--refresh", "--sandbox", "--detailed-exitcode")
    assert table.code == 2 and "drift" in table.out


def test_plan_refresh_shows_a_caption_edited_at_postforme_as_drift(
    box: Sandbox, sims: Sims, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(CAMPAIGN).is_completed()
    edited = SqliteLedger().get("drift/keep/bluesky")
    post = sims.pfm_post(edited.provider_post_id).json()
    dashboard_edit = {  # what the dashboard sends: the whole post again, with the new words
        "caption": "Edited on the dashboard",
        "social_accounts": [a["id"] for a in post["social_accounts"]],
        "external_id": post["external_id"],
        "scheduled_at": post["scheduled_at"],
    }
    assert sims.pfm.put(f"/v1/social-posts/{edited.provider_post_id}", json=dashboard_edit).is_success
    assert planned(capsys)["drift/keep/bluesky"] == ("unchanged", "scheduled")  # the ledger alone cannot tell

    plan = planned(capsys, "--refresh", "--sandbox")
    assert plan["drift/keep/bluesky"] == (
        "drift",
        "caption edited at postforme: it says 'Edited on the dashboard', not the recorded 'Stays all along'",
    )
    assert plan["drift/back/bluesky"] == ("unchanged", "scheduled")  # its words are as recorded
    table = run_cli(capsys, "plan", str(CAMPAIGN), "--refresh", "--sandbox", "--detailed-exitcode")
    assert table.code == 2 and "drift" in table.out


def test_plan_refresh_shows_a_caption_edited_at_late_as_drift(
    box: Sandbox, sims: Sims, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sims.pfm_disconnect("bluesky")  # both go through LATE
    assert publish(CAMPAIGN).is_completed()
    edited = SqliteLedger().get("drift/back/bluesky")
    assert edited.provider == "late"
    assert sims.late.put(
        f"/v1/posts/{edited.provider_post_id}", json={"content": "Rewritten at LATE"}
    ).is_success
    plan = planned(capsys, "--refresh", "--sandbox")
    assert plan["drift/back/bluesky"] == (
        "drift",
        "caption edited at late: it says 'Rewritten at LATE', not the recorded 'Removed, then put back'",
    )
    assert plan["drift/keep/bluesky"] == ("unchanged", "scheduled")


def test_preview_refresh_shows_a_post_deleted_at_the_simulator_as_a_drift_card(
    box: Sandbox, sims: Sims, repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tests.preview.test_preview_site import page_data

    assert publish(CAMPAIGN).is_completed()
    gone = SqliteLedger().get("drift/back/bluesky")
    assert sims.pfm.delete(f"/v1/social-posts/{gone.provider_post_id}").is_success  # as a dashboard would

    def cards(*options: str) -> dict[str, tuple[str, str, str]]:
        out = tmp_path / f"site{len(options)}"
        result = run_cli(capsys, "preview", str(CAMPAIGN), "--out", str(out), *options)
        assert result.code == 0, result.err
        return {
            c["key"]: (c["action"], c["status"], c["reason"]) for c in page_data(out / "index.html")["cards"]
        }

    assert cards()["drift/back/bluesky"][0] == "unchanged"  # the ledger alone cannot tell
    refreshed = cards("--refresh", "--sandbox")
    assert refreshed["drift/back/bluesky"] == (
        "drift",
        "scheduled",
        f"deleted at postforme (post {gone.provider_post_id}): the ledger still has it scheduled",
    )
    assert refreshed["drift/keep/bluesky"][:2] == ("unchanged", "scheduled")
