"""Every publish is a recorded run: the commit it published (dirty or not, none outside git), the
file, the hashes of what it rendered and planned, its Prefect flow run, its end and counts; every
delivery it sends names the run and the commit. Real git repositories, the Prefect API, the simulators."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox
from tests.engine.test_review_gate import CAMPAIGN, git, publish, team_repo

pytestmark = pytest.mark.usefixtures("prefect_api")
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return team_repo(tmp_path)


def test_a_publish_is_one_run_and_each_delivery_names_its_run_and_commit(box: Sandbox, repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    state = publish(repo / "campaigns/gate.yaml")
    assert state.is_completed()
    [run] = SqliteLedger().campaign_runs("gate")
    assert (run.status, run.error, run.flow_run_id) == (
        "completed",
        None,
        str(state.state_details.flow_run_id),
    )
    assert (run.source.commit_sha, run.source.dirty) == (head, False)
    assert run.source.campaign_path == str(repo / "campaigns/gate.yaml")
    assert HEX64.fullmatch(run.source.content_hash) and HEX64.fullmatch(run.source.plan_hash)
    assert run.summary == {"deliveries": 1, "unresolved": 0, "outcomes": {"posted": 1}, "plan": {"create": 1}}
    assert run.started_at <= run.finished_at
    delivery = SqliteLedger().get("gate/hello/bluesky")
    assert (delivery.status, delivery.run_id, delivery.commit_sha) == ("posted", run.id, head)


def test_a_second_publish_is_a_run_of_its_own_and_the_delivery_keeps_the_run_that_sent_it(
    box: Sandbox, repo: Path
) -> None:
    assert publish(repo / "campaigns/gate.yaml").is_completed()
    assert publish(repo / "campaigns/gate.yaml").is_completed()
    second, first = SqliteLedger().campaign_runs("gate")  # newest first
    assert second.summary["outcomes"] == {"unchanged": 1} and second.summary["plan"] == {"unchanged": 1}
    assert first.source.content_hash == second.source.content_hash  # the same content, rendered again
    assert first.source.plan_hash != second.source.plan_hash  # but another plan
    assert SqliteLedger().get("gate/hello/bluesky").run_id == first.id
    assert box.postforme.create_calls == 1


def test_a_dirty_publish_is_recorded_dirty(box: Sandbox, repo: Path) -> None:
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Quick local fix"))
    assert publish(repo / "campaigns/gate.yaml", allow_dirty=True).is_completed()
    [run] = SqliteLedger().campaign_runs("gate")
    assert (run.source.commit_sha, run.source.dirty) == (git(repo, "rev-parse", "HEAD"), True)


def test_a_run_with_a_refused_delivery_ends_failed_with_its_counts(box: Sandbox, repo: Path) -> None:
    from postdeck.sandbox.faults import FaultPlan, FaultRule

    refuse = FaultRule(kind="partial", platforms=("bluesky",), reason="content", ops=None, count=1)
    box.postforme.faults.set_plan(FaultPlan(seed=1, rules=(refuse,)))
    assert publish(repo / "campaigns/gate.yaml").is_failed()
    [run] = SqliteLedger().campaign_runs("gate")
    assert (run.status, run.error) == ("failed", "1 delivery: 1 failed")
    assert run.summary["unresolved"] == 1
    assert SqliteLedger().get("gate/hello/bluesky").run_id == run.id  # a failure names its run too


def test_a_file_outside_git_is_a_run_without_a_commit(box: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "loose" / "gate.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN.format(caption="No repository here"))
    assert publish(path).is_completed()
    [run] = SqliteLedger().campaign_runs("gate")
    assert (run.source.commit_sha, run.source.dirty, run.status) == (None, False, "completed")
    assert SqliteLedger().get("gate/hello/bluesky").commit_sha is None


def test_a_dry_run_records_no_run(box: Sandbox, repo: Path) -> None:
    assert publish(repo / "campaigns/gate.yaml", dry_run=True).is_completed()
    assert SqliteLedger().campaign_runs("gate") == []


def test_history_shows_the_commit_and_filters_by_it_and_runs_lists_the_runs(
    box: Sandbox, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.service.test_service_harness import run_cli

    first = git(repo, "rev-parse", "HEAD")
    assert publish(repo / "campaigns/gate.yaml").is_completed()
    with (repo / "campaigns/gate.yaml").open("a") as out:
        out.write("  - {id: again, platforms: [bluesky], caption: 'Second words'}\n")
    git(repo, "commit", "-qam", "a second batch")
    second = git(repo, "rev-parse", "HEAD")
    assert publish(repo / "campaigns/gate.yaml").is_completed()

    shown = run_cli(capsys, "history", "--format", "json").json()
    assert {(r["id"], r["commit"]) for r in shown} == {
        ("gate/hello/bluesky", first[:8]),
        ("gate/again/bluesky", second[:8]),
    }
    only = run_cli(capsys, "history", "--commit", first[:6].upper(), "--format", "json").json()
    assert [r["id"] for r in only] == ["gate/hello/bluesky"]
    csv_lines = run_cli(capsys, "history", "--format", "csv").out.splitlines()
    assert "commit" in csv_lines[0].split(",") and any(first[:8] in line for line in csv_lines[1:])
    refused = run_cli(capsys, "history", "--commit", "main")
    assert refused.code == 1 and "hex digits" in refused.err

    listed = run_cli(capsys, "runs", "--format", "json").json()
    assert [(r["commit_sha"], r["status"], r["outcomes"]) for r in listed] == [
        (second, "completed", "1 posted, 1 unchanged"),
        (first, "completed", "1 posted"),
    ]
    assert [
        r["commit"] for r in run_cli(capsys, "runs", "--commit", first[:8], "--format", "json").json()
    ] == [first[:8]]
    table = run_cli(capsys, "runs", "--campaign", "gate")
    assert table.code == 0 and "runs, newest first" in table.out
    csv_lines = run_cli(capsys, "runs", "--campaign", "gate", "--format", "csv").out.splitlines()
    assert csv_lines[0].split(",") == [
        "started_at",
        "campaign",
        "kind",
        "commit",
        "status",
        "last_alive",
        "deliveries",
        "outcomes",
        "flow_run_id",
        "id",
    ]
    assert second[:8] in csv_lines[1] and first[:8] in csv_lines[2]
    assert "(none)" in run_cli(capsys, "runs", "--campaign", "nothing-here").out


# --- refused publishes: no row left `running` ----------------------------------------------------


def _refuse_dirty(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Words nobody reviewed"))
    return {}


def _refuse_missing_ref(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    return {"ref": "no-such-branch"}


def _refuse_invalid(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="x" * 400))  # over Bluesky's 300
    git(repo, "commit", "-qam", "too long for bluesky")
    return {}


def _refuse_stale_plan(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    from postdeck.cli import main

    saved = repo.parent / "gate.plan.json"  # outside the tree: the plan file does not make it dirty
    monkeypatch.setattr("sys.argv", ["postdeck", "plan", "campaigns/gate.yaml", "--out", str(saved)])
    try:
        main()
    except SystemExit as exc:
        assert not exc.code
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Changed after the plan"))
    git(repo, "commit", "-qam", "changed since the plan")
    return {"plan": str(saved)}


def _refuse_require_ref(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("POSTDECK_REQUIRE_REF", "1")
    return {}


def _refuse_branch(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Not merged yet"))
    git(repo, "commit", "-qam", "feature edit")
    monkeypatch.setenv("POSTDECK_REQUIRE_BRANCH", "main")
    return {}


REFUSED_BEFORE_THE_PLAN = {
    "dirty tree": (_refuse_dirty, "uncommitted changes"),
    "missing ref": (_refuse_missing_ref, "git ref 'no-such-branch' not found"),
    "invalid campaign": (_refuse_invalid, "300"),
    "stale saved plan": (_refuse_stale_plan, "the campaign changed since this plan was made"),
    "a ref required": (_refuse_require_ref, "reviewed commit only"),
    "a branch required": (_refuse_branch, "is not on main"),
}


@pytest.mark.parametrize("case", REFUSED_BEFORE_THE_PLAN)
def test_a_publish_refused_before_it_plans_sends_nothing_and_records_no_run(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    prepare, message = REFUSED_BEFORE_THE_PLAN[case]
    monkeypatch.chdir(repo)
    options = prepare(repo, monkeypatch)
    state = publish(repo / "campaigns/gate.yaml", **options)
    assert state.is_failed() and message in str(state.result(raise_on_failure=False))
    assert SqliteLedger().campaign_runs() == []  # nothing was sent: no run, so none left running
    assert box.postforme.create_calls + box.late.create_calls == 0


def test_a_publish_refused_after_its_run_started_ends_it_failed_with_the_error(
    box: Sandbox, repo: Path
) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    # No --sandbox and no key anywhere: the providers are found missing once the run has started.
    state = publish_campaign(
        params=PublishParams(campaign=str(repo / "campaigns/gate.yaml")), return_state=True
    )
    assert state.is_failed()
    [run] = SqliteLedger().campaign_runs("gate")
    assert run.status == "failed" and run.finished_at is not None
    assert run.error.startswith("CredentialsError: No social posting credentials configured")
    assert run.summary == {"deliveries": 0, "unresolved": 0, "outcomes": {}, "plan": {"create": 1}}
    assert SqliteLedger().deliveries("gate") == []


def test_a_batch_that_raises_ends_its_run_failed_with_the_error(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("the batch broke half-way")

    monkeypatch.setattr("postdeck.flows.publish.publish_batch", broken)
    state = publish(repo / "campaigns/gate.yaml")
    assert state.is_failed()
    [run] = SqliteLedger().campaign_runs("gate")
    assert (run.status, run.error) == ("failed", "RuntimeError: the batch broke half-way")
