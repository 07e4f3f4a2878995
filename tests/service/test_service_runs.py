"""Not only a publish is a run (issue 17): `postdeck post`, `retry` and `cancel`, and the Python API
behind them, write a campaign_runs row too (kind post, retry or cancel; the delivery's campaign; the
file they read, and its commit when git has it), and every delivery they send or cancel names it, so
`postdeck runs` and `history --commit` see what they did. Against the simulators over real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postdeck.ledger.records import CampaignRun
from postdeck.sandbox.sandbox import Sandbox
from postdeck.service import Selection, SocialPostingService
from tests.engine.test_review_gate import git
from tests.service.test_service_harness import USER, Sims, run_cli

pytest_plugins = ["tests.service.test_service_harness"]

SOON = datetime.now(UTC) + timedelta(days=2)
HEX64 = re.compile(r"[0-9a-f]{64}")


def only_run(ledger, campaign: str, kind: str) -> CampaignRun:
    found = [r for r in ledger.campaign_runs(campaign) if r.kind == kind]
    assert len(found) == 1, found
    return found[0]


def test_postdeck_post_is_a_run_and_its_deliveries_name_it(capsys, box, sims: Sims, ledger, workdir) -> None:
    result = run_cli(capsys, "post", "Hello from a run", "--to", "twitter,bluesky", "--sandbox", "--json")
    assert result.code == 0, result.err
    keys = result.json()["delivery_keys"]
    run = only_run(ledger, "adhoc", "post")
    assert (run.status, run.error, run.flow_run_id) == ("completed", None, None)
    assert run.summary == {"deliveries": 2, "unresolved": 0, "outcomes": {"posted": 2}}
    # The file the post is kept in (outside git here: no commit), and the hash of what it rendered.
    assert Path(run.source.campaign_path).is_file() and run.source.campaign_path.startswith(str(workdir))
    assert (run.source.commit_sha, run.source.dirty) == (None, False)
    assert HEX64.fullmatch(run.source.content_hash) and run.source.plan_hash is None
    assert {ledger.get(k).run_id for k in keys.values()} == {run.id}
    listed = run_cli(capsys, "runs", "--format", "json").json()
    assert [(r["kind"], r["campaign"], r["status"], r["outcomes"]) for r in listed] == [
        ("post", "adhoc", "completed", "2 posted")
    ]


def test_the_api_post_is_a_run_and_one_refused_before_sending_is_none(
    service: SocialPostingService, sims: Sims, ledger
) -> None:
    refused = service.create_post(USER, "far too long " * 40, ["twitter"])  # over X's 280
    assert not refused.success and ledger.campaign_runs() == []  # nothing sent, no run
    sims.pfm_configure(fail_platforms=["x"])
    result = service.create_post(USER, "one of two", ["twitter", "bluesky"])
    assert result.statuses == {"twitter": "failed", "bluesky": "posted"}
    run = only_run(ledger, "adhoc", "post")
    assert (run.status, run.user_id, run.error) == ("failed", USER, "2 deliveries: 1 failed, 1 posted")
    assert {ledger.get(k).run_id for k in result.delivery_keys.values()} == {run.id}


def test_a_retry_is_a_run_and_the_retried_delivery_names_it(service, sims: Sims, ledger) -> None:
    sims.pfm_configure(fail_platforms=["x"])
    first = service.create_post(USER, "second time lucky", ["twitter", "bluesky"])
    twitter, bluesky = first.delivery_keys["twitter"], first.delivery_keys["bluesky"]
    post = only_run(ledger, "adhoc", "post")
    sims.pfm_configure(fail_platforms=[])
    (report,) = service.retry(Selection(ids=(twitter,)))
    assert report.after == "posted"
    retry = only_run(ledger, "adhoc", "retry")
    assert (retry.status, retry.user_id, retry.summary["outcomes"]) == ("completed", USER, {"posted": 1})
    assert retry.source.campaign_path == post.source.campaign_path  # rebuilt from the post's file
    assert ledger.get(twitter).run_id == retry.id and ledger.get(bluesky).run_id == post.id
    # Nothing to retry any more: no run.
    (again,) = service.retry(Selection(ids=(twitter,)))
    assert again.action == "skipped" and len(ledger.campaign_runs()) == 2


def test_a_retry_late_reruns_is_a_run_that_keeps_the_deliverys_commit(
    service, sims: Sims, box: Sandbox, ledger
) -> None:
    sims.pfm_disconnect("twitter")  # twitter goes through LATE
    box.late.fail_platforms = {"twitter"}
    first = service.create_post(USER, "LATE, try again", ["twitter"])
    twitter = first.delivery_keys["twitter"]
    box.late.fail_platforms = set()
    (report,) = service.retry(Selection(ids=(twitter,)))
    assert report.after == "posted" and sims.late_stats()["create_calls"] == 1
    retry = only_run(ledger, "adhoc", "retry")
    assert (retry.status, retry.source.campaign_path) == ("completed", None)  # LATE re-ran it: no file read
    assert ledger.get(twitter).run_id == retry.id


def test_a_cancel_is_a_run_and_the_cancelled_deliveries_name_it(
    capsys, box, sims: Sims, ledger, workdir
) -> None:
    service = SocialPostingService(sandbox=True)
    result = service.create_post(USER, "never mind", ["twitter", "bluesky"], scheduled_for=SOON)
    keys = list(result.delivery_keys.values())
    post = only_run(ledger, "adhoc", "post")
    # Refused before any provider call (its post carries the other one too): no run.
    refused = run_cli(capsys, "cancel", keys[0], "--sandbox")
    assert refused.code == 1 and [r.kind for r in ledger.campaign_runs()] == ["post"]
    done = run_cli(capsys, "cancel", keys[0], "--with-siblings", "--sandbox")
    assert done.code == 0, done.err
    cancel = only_run(ledger, "adhoc", "cancel")
    assert (cancel.status, cancel.user_id, cancel.summary["outcomes"]) == (
        "completed",
        USER,
        {"cancelled": 2},
    )
    assert cancel.source == post.source.__class__()  # no file read, no commit
    assert {ledger.get(k).run_id for k in keys} == {cancel.id}
    # Nothing scheduled is left: nothing reaches a provider, no run.
    run_cli(capsys, "cancel", keys[0], "--sandbox")
    assert len(ledger.campaign_runs()) == 2


def test_a_campaign_batch_and_its_retry_name_the_files_commit_and_history_finds_them(
    capsys, box, sims: Sims, ledger, workdir
) -> None:
    git(workdir, "init", "-q", "-b", "main")
    (workdir / "campaigns/team.yaml").write_text(
        "name: team\ntimezone: UTC\nbatches:\n"
        "  - {id: hello, platforms: [twitter, bluesky], caption: From a reviewed file}\n"
    )
    git(workdir, "add", "campaigns")
    git(workdir, "commit", "-q", "-m", "team campaign")
    head = git(workdir, "rev-parse", "HEAD")
    service = SocialPostingService(sandbox=True)
    sims.pfm_configure(fail_platforms=["x"])
    result = service.publish_batch(None, "team", "hello")
    assert result.statuses == {"twitter": "failed", "bluesky": "posted"}
    post = only_run(ledger, "team", "post")
    path = "campaigns/team.yaml"  # as found under the campaigns folder
    assert (post.source.commit_sha, post.source.dirty, post.source.campaign_path) == (head, False, path)

    sims.pfm_configure(fail_platforms=[])
    retried = run_cli(capsys, "retry", "team/hello/twitter", "--sandbox")
    assert retried.code == 0, retried.err
    retry = only_run(ledger, "team", "retry")
    assert (retry.status, retry.source.commit_sha, retry.source.campaign_path) == ("completed", head, path)
    assert (ledger.get("team/hello/twitter").run_id, ledger.get("team/hello/twitter").commit_sha) == (
        retry.id,
        head,
    )
    shown = run_cli(capsys, "history", "--commit", head[:8], "--format", "json").json()
    assert sorted(r["id"] for r in shown) == ["team/hello/bluesky", "team/hello/twitter"]
    listed = run_cli(capsys, "runs", "--commit", head[:8], "--format", "json").json()
    assert [(r["kind"], r["commit"]) for r in listed] == [("retry", head[:8]), ("post", head[:8])]
