"""`postdeck retry` and `postdeck cancel` (seed 002's schedules.retry and schedules.delete with its
filters), against the simulators over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postdeck.core.status import DeliveryStatus
from tests.service.test_service_harness import USER, Sims, run_cli

pytest_plugins = ["tests.service.test_service_harness"]

LATER = datetime.now(UTC) + timedelta(days=3)


def test_retry_failed_deliveries_by_status(capsys, service, sims: Sims, ledger, workdir) -> None:
    sims.pfm_configure(fail_platforms=["threads", "bluesky"])
    first = service.create_post(USER, "shaky", ["threads"])
    second = service.create_post(USER, "shakier", ["bluesky"])
    sims.pfm_configure(fail_platforms=[])
    only_threads = run_cli(capsys, "retry", "--status", "failed", "--platform", "threads", "--sandbox")
    assert only_threads.code == 0, only_threads.err
    assert ledger.get(first.delivery_keys["threads"]).status == DeliveryStatus.POSTED
    assert ledger.get(second.delivery_keys["bluesky"]).status == DeliveryStatus.FAILED
    by_id = run_cli(capsys, "retry", second.delivery_keys["bluesky"], "--sandbox")
    assert by_id.code == 0 and ledger.get(second.delivery_keys["bluesky"]).status == DeliveryStatus.POSTED
    assert sorted(p["caption"] for p in sims.pfm_posts()) == ["shakier", "shakier", "shaky", "shaky"]
    nothing = run_cli(capsys, "retry", "--status", "failed", "--sandbox")
    assert nothing.code == 1 and "nothing matched" in nothing.err


def test_retry_that_fails_again_says_so(capsys, service, sims: Sims, ledger, workdir) -> None:
    sims.pfm_configure(fail_platforms=["threads"])
    result = service.create_post(USER, "stubborn", ["threads"])
    again = run_cli(capsys, "retry", result.delivery_keys["threads"], "--sandbox")
    assert again.code == 1 and "1 of 1 deliveries are not posted" in again.err
    assert ledger.get(result.delivery_keys["threads"]).status == DeliveryStatus.FAILED
    assert sims.pfm_stats()["create_calls"] == 2  # it was sent again, and refused again


def test_cancel_by_id_and_older_than(capsys, service, sims: Sims, ledger, workdir) -> None:
    one = service.create_post(USER, "one", ["linkedin"], scheduled_for=LATER)
    two = service.create_post(USER, "two", ["threads"], scheduled_for=LATER)
    by_id = run_cli(capsys, "cancel", one.delivery_keys["linkedin"], "--sandbox")
    assert by_id.code == 0, by_id.err
    assert sims.pfm_post(one.post_id).status_code == 404 and sims.pfm_post(two.post_id).status_code == 200
    assert run_cli(capsys, "cancel", "--older-than", "7d", "--sandbox").code == 1  # nothing that old
    old = run_cli(capsys, "cancel", "--older-than", "0m", "--sandbox")
    assert old.code == 0 and sims.pfm_post(two.post_id).status_code == 404
    assert ledger.get(two.delivery_keys["threads"]).status == DeliveryStatus.CANCELLED


def test_cancel_all_but_the_excluded(capsys, service, sims: Sims, ledger, workdir) -> None:
    keep = service.create_post(USER, "keep", ["linkedin"], scheduled_for=LATER)
    drop = service.create_post(USER, "drop", ["threads"], scheduled_for=LATER)
    result = run_cli(
        capsys, "cancel", "--all", "--exclude", keep.delivery_keys["linkedin"], "--yes", "--sandbox"
    )
    assert result.code == 0, result.err
    assert sims.pfm_post(keep.post_id).json()["status"] == "scheduled"
    assert sims.pfm_post(drop.post_id).status_code == 404
    assert ledger.get(keep.delivery_keys["linkedin"]).status == DeliveryStatus.SCHEDULED


def test_cancel_asks_before_all_and_needs_a_selection(capsys, service, sims: Sims, workdir) -> None:
    scheduled = service.create_post(USER, "safe", ["linkedin"], scheduled_for=LATER)
    declined = run_cli(capsys, "cancel", "--all", "--sandbox", stdin="n\n")
    assert declined.code != 0 and sims.pfm_post(scheduled.post_id).status_code == 200
    bare = run_cli(capsys, "cancel", "--sandbox")
    assert bare.code == 1 and "say what to cancel" in bare.err


def test_cancelling_part_of_a_post_needs_its_siblings(capsys, service, sims: Sims, ledger, workdir) -> None:
    result = service.create_post(USER, "together", ["twitter", "linkedin"], scheduled_for=LATER)
    twitter = result.delivery_keys["twitter"]
    refused = run_cli(capsys, "cancel", twitter, "--sandbox")
    assert refused.code == 1 and sims.pfm_post(result.post_id).status_code == 200
    both = run_cli(capsys, "cancel", twitter, "--with-siblings", "--sandbox")
    assert both.code == 0 and sims.pfm_post(result.post_id).status_code == 404
    assert ledger.get(result.delivery_keys["linkedin"]).status == DeliveryStatus.CANCELLED
