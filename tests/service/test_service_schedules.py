"""Seed 002's schedule management through the Python API: list (schedules.list), retry
(schedules.retry) and delete (schedules.delete), against the simulators over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postdeck.core.status import DeliveryStatus
from postdeck.sandbox.sandbox import Sandbox
from postdeck.service import Selection, SocialPostingService
from tests.service.test_service_harness import USER, Sims

SOON = datetime.now(UTC) + timedelta(days=2)

pytest_plugins = ["tests.service.test_service_harness"]


def by_key(reports) -> dict[str, object]:
    return {r.key: r for r in reports}


# --- list ------------------------------------------------------------------------------------------


def test_deliveries_are_listed_with_filters_and_pages(service: SocialPostingService, sims: Sims) -> None:
    now = service.create_post(USER, "one", ["twitter", "bluesky"])
    later = service.create_post(USER, "two", ["linkedin"], scheduled_for=SOON)
    service.create_post("another-user", "three", ["twitter"])
    keys = [r.key for r in service.deliveries(USER)]
    assert sorted(keys) == sorted([*now.delivery_keys.values(), *later.delivery_keys.values()])
    assert [r.key for r in service.deliveries(USER, status="scheduled")] == [later.delivery_keys["linkedin"]]
    assert [r.key for r in service.deliveries(USER, platform="twitter")] == [now.delivery_keys["twitter"]]
    assert (
        len(service.deliveries(USER, per_page=2)) == 2
        and len(service.deliveries(USER, page=2, per_page=2)) == 1
    )
    assert [r.key for r in service.deliveries(ids=[now.delivery_keys["bluesky"]])] == [
        now.delivery_keys["bluesky"]
    ]
    assert service.deliveries(USER, since="1h") and not service.deliveries(USER, campaign="nope")
    # What the ledger lists is what the simulator holds.
    listed = {r.provider_post_id for r in service.deliveries(USER)}
    assert listed == {p["id"] for p in sims.pfm_posts() if p["caption"] != "three"}


# --- retry -----------------------------------------------------------------------------------------


def test_retry_sends_a_postforme_failure_again_as_a_new_post(service, sims: Sims, ledger) -> None:
    sims.pfm_configure(fail_platforms=["x"])  # the platform refuses the tweet
    first = service.create_post(USER, "second time lucky", ["twitter", "bluesky"])
    assert first.statuses == {"twitter": "failed", "bluesky": "posted"}
    twitter = first.delivery_keys["twitter"]
    assert "simulated failure" in ledger.get(twitter).error

    sims.pfm_configure(fail_platforms=[])
    (report,) = service.retry(Selection(ids=(twitter,)))
    assert (report.before, report.after, report.action) == ("failed", "posted", "retried")
    record = ledger.get(twitter)
    assert record.status == DeliveryStatus.POSTED and record.url == report.url
    posts = {p["id"]: p for p in sims.pfm_posts()}
    assert len(posts) == 2 and sims.pfm_platforms_of(posts[record.provider_post_id]) == {"x"}
    assert posts[record.provider_post_id]["caption"] == "second time lucky"
    # The bluesky delivery of the first post is left as it was.
    assert ledger.get(first.delivery_keys["bluesky"]).provider_post_id == first.post_id
    # Retrying again: it is posted now, so nothing is sent.
    (again,) = service.retry(Selection(ids=(twitter,)))
    assert again.action == "skipped" and sims.pfm_stats()["create_calls"] == 2


def test_retry_asks_late_to_rerun_its_post(service, sims: Sims, box: Sandbox, ledger) -> None:
    sims.pfm_disconnect("twitter")  # twitter goes through LATE
    box.late.fail_platforms = {"twitter"}
    first = service.create_post(USER, "LATE, try again", ["twitter"])
    twitter = first.delivery_keys["twitter"]
    assert first.statuses == {"twitter": "failed"} and ledger.get(twitter).provider == "late"

    box.late.fail_platforms = set()
    reports = service.retry(Selection(statuses=("failed",), platform="twitter", user_id=USER))
    assert [(r.key, r.after) for r in reports] == [(twitter, "posted")]
    (post,) = sims.late_posts()  # re-run in place: no second post
    assert post["_id"] == first.post_id and post["status"] == "published"
    assert sims.late_stats()["create_calls"] == 1
    record = ledger.get(twitter)
    assert record.status == DeliveryStatus.POSTED and record.url == post["platforms"][0]["platformPostUrl"]


def test_retry_reports_what_it_cannot_do(service, sims: Sims) -> None:
    posted = service.create_post(USER, "fine as it is", ["twitter"])
    reports = by_key(service.retry(Selection(ids=(posted.delivery_keys["twitter"], "no/such/delivery"))))
    assert reports[posted.delivery_keys["twitter"]].error.startswith("only failed deliveries are retried")
    assert reports["no/such/delivery"].error == "no such delivery in the ledger"
    assert sims.pfm_stats()["create_calls"] == 1


# --- cancel ----------------------------------------------------------------------------------------


def test_cancel_deletes_the_scheduled_post_and_records_it(service, sims: Sims, ledger) -> None:
    result = service.create_post(USER, "never mind", ["twitter", "bluesky"], scheduled_for=SOON)
    twitter, bluesky = result.delivery_keys["twitter"], result.delivery_keys["bluesky"]
    # One provider post carries both platforms: cancelling one alone would cancel the other.
    (refused,) = service.cancel(Selection(ids=(twitter,)))
    assert refused.action == "skipped" and bluesky in refused.error
    assert sims.pfm_post(result.post_id).status_code == 200

    reports = service.cancel(Selection(ids=(twitter,)), with_siblings=True)
    assert {(r.key, r.after) for r in reports} == {(twitter, "cancelled"), (bluesky, "cancelled")}
    assert sims.pfm_post(result.post_id).status_code == 404
    assert {ledger.get(k).status for k in (twitter, bluesky)} == {DeliveryStatus.CANCELLED}


def test_cancel_everything_but_the_excluded(service, sims: Sims, ledger) -> None:
    keep = service.create_post(USER, "keep me", ["linkedin"], scheduled_for=SOON)
    drop = service.create_post(USER, "drop me", ["threads"], scheduled_for=SOON)
    posted = service.create_post(USER, "already out", ["bluesky"])
    reports = service.cancel(
        Selection(statuses=("scheduled",), everything=True, exclude=(keep.delivery_keys["linkedin"],))
    )
    assert [(r.key, r.after) for r in reports] == [(drop.delivery_keys["threads"], "cancelled")]
    assert sims.pfm_post(keep.post_id).json()["status"] == "scheduled"
    assert sims.pfm_post(drop.post_id).status_code == 404
    assert ledger.get(posted.delivery_keys["bluesky"]).status == DeliveryStatus.POSTED


def test_cancel_older_than(service, sims: Sims) -> None:
    old = service.create_post(USER, "old", ["linkedin"], scheduled_for=SOON)
    reports = service.cancel(
        Selection(statuses=("scheduled",), older_than=datetime.now(UTC) - timedelta(days=7))
    )
    assert reports == []  # nothing is a week old
    reports = service.cancel(
        Selection(statuses=("scheduled",), older_than=datetime.now(UTC) + timedelta(seconds=1))
    )
    assert [r.key for r in reports] == [old.delivery_keys["linkedin"]]
    assert sims.pfm_post(old.post_id).status_code == 404


def test_a_post_published_meanwhile_is_recorded_not_cancelled(
    service, sims: Sims, box: Sandbox, ledger
) -> None:
    result = service.create_post(USER, "just in time", ["bluesky"], scheduled_for=SOON)
    box.postforme.set_now(SOON + timedelta(minutes=1))  # its time has come at the provider
    sims.pfm.post("/_sim/tick").raise_for_status()
    (report,) = service.cancel(Selection(ids=(result.delivery_keys["bluesky"],)))
    assert (report.action, report.after) == ("refreshed", "posted") and report.url
    assert ledger.get(result.delivery_keys["bluesky"]).status == DeliveryStatus.POSTED
    assert sims.pfm_post(result.post_id).json()["status"] == "processed"
