"""Review is the gate: a publish names the commit it publishes, reads a ref's content (never the
working tree's), refuses an uncommitted campaign unless allowed, and still publishes a file outside
any repository. Real git repositories in temporary folders, the real Prefect API, the simulators."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from postdeck.errors import CampaignError, PlanError
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("prefect_api")

CAMPAIGN = (
    "name: gate\ntimezone: UTC\nbatches:\n  - {{id: hello, platforms: [bluesky], caption: '{caption}'}}\n"
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return team_repo(tmp_path)


def team_repo(tmp_path: Path) -> Path:
    """A repository with campaigns/gate.yaml committed on main."""
    root = tmp_path / "team"
    (root / "campaigns").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Reviewed words"))
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "gate campaign")
    return root


def publish(campaign: Path, **options):
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    return publish_campaign(
        params=PublishParams(campaign=str(campaign), sandbox=True, **options), return_state=True
    )


def run_name(state) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id).name


def sent_captions(box: Sandbox) -> list[str]:
    return [post["caption"] for post in box.postforme.posts.values()]


def test_a_committed_campaign_publishes_and_the_run_is_named_after_its_commit(
    box: Sandbox, repo: Path
) -> None:
    state = publish(repo / "campaigns/gate.yaml")
    assert state.is_completed()
    assert run_name(state) == f"publish-gate@{git(repo, 'rev-parse', 'HEAD')[:8]}"


def test_an_uncommitted_campaign_is_refused_and_nothing_is_claimed_or_sent(box: Sandbox, repo: Path) -> None:
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Words nobody reviewed"))
    state = publish(repo / "campaigns/gate.yaml")
    error = state.result(raise_on_failure=False)
    assert isinstance(error, CampaignError)
    assert "uncommitted changes" in str(error) and "campaigns/gate.yaml" in str(error) and error.fix
    assert SqliteLedger().deliveries("gate") == [] and box.postforme.create_calls == 0


def test_an_untracked_media_file_makes_the_tree_dirty_too(box: Sandbox, repo: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "teal").save(repo / "campaigns/new.png")
    (repo / "campaigns/gate.yaml").write_text(
        CAMPAIGN.format(caption="With a picture").replace("caption:", "media: [new.png], caption:")
    )
    git(repo, "add", "campaigns/gate.yaml")
    git(repo, "commit", "-q", "-m", "the picture itself is not committed")
    error = publish(repo / "campaigns/gate.yaml").result(raise_on_failure=False)
    assert isinstance(error, CampaignError) and "new.png" in str(error)


def test_allow_dirty_publishes_and_says_dirty_in_the_run_name_and_the_summary(
    box: Sandbox, repo: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Quick local fix"))
    state = publish(repo / "campaigns/gate.yaml", allow_dirty=True)
    assert state.is_completed() and sent_captions(box) == ["Quick local fix"]
    assert run_name(state) == f"publish-gate@{git(repo, 'rev-parse', 'HEAD')[:8]}+dirty"
    with get_client(sync_client=True) as client:
        (summary, *_) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["publish-gate-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
            )
        )
    assert "with uncommitted changes (dirty)" in summary.data


def test_a_ref_publishes_the_commits_content_not_the_working_trees(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviewed = git(repo, "rev-parse", "HEAD")
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Edited after the review"))
    git(repo, "commit", "-qam", "later edit")
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Not even committed"))
    monkeypatch.chdir(repo)
    state = publish(Path("campaigns/gate.yaml"), ref=reviewed)
    assert state.is_completed() and sent_captions(box) == ["Reviewed words"]
    assert run_name(state) == f"publish-gate@{reviewed[:8]}"


def test_a_ref_that_does_not_exist_is_one_located_error(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    error = publish(Path("campaigns/gate.yaml"), ref="no-such-branch").result(raise_on_failure=False)
    assert isinstance(error, CampaignError) and "git ref 'no-such-branch' not found" in str(error)
    assert box.postforme.create_calls == 0


def test_a_file_outside_any_repository_still_publishes_with_no_commit(box: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "loose" / "gate.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN.format(caption="A quick try"))
    state = publish(path)
    assert state.is_completed() and run_name(state) == "publish-gate@no-commit"


def test_a_deployment_that_requires_a_ref_refuses_a_run_without_one(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTDECK_REQUIRE_REF", "1")
    error = publish(repo / "campaigns/gate.yaml").result(raise_on_failure=False)
    assert isinstance(error, PlanError) and "reviewed commit only" in str(error)
    assert box.postforme.create_calls == 0


def test_a_branch_policy_refuses_a_commit_that_is_not_merged(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="Not merged yet"))
    git(repo, "commit", "-qam", "feature edit")
    monkeypatch.setenv("POSTDECK_REQUIRE_BRANCH", "main")
    error = publish(repo / "campaigns/gate.yaml").result(raise_on_failure=False)
    assert isinstance(error, CampaignError) and "is not on main" in str(error)
    assert box.postforme.create_calls == 0
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "feature")
    assert publish(repo / "campaigns/gate.yaml").is_completed()


def test_a_campaign_deleted_at_a_commit_plans_and_publishes_the_cancels_of_its_scheduled_posts(
    box: Sandbox, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from postdeck.cli import main

    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    scheduled = CAMPAIGN.format(caption="Later words").replace("platforms:", f"at: '{later}', platforms:")
    (repo / "campaigns/gate.yaml").write_text(scheduled)
    git(repo, "commit", "-qam", "schedule it")
    monkeypatch.chdir(repo)
    assert publish(Path("campaigns/gate.yaml"), ref="HEAD").is_completed()
    assert SqliteLedger().get("gate/hello/bluesky").status == "scheduled"

    git(repo, "rm", "-q", "campaigns/gate.yaml")
    git(repo, "commit", "-qm", "drop the campaign")
    monkeypatch.setattr(
        sys, "argv", ["postdeck", "plan", "campaigns/gate.yaml", "--ref", "HEAD", "--format", "json"]
    )
    main()
    planned = json.loads(capsys.readouterr().out)
    assert [(c["action"], c["key"]) for c in planned["changes"]] == [("cancel", "gate/hello/bluesky")]

    state = publish(Path("campaigns/gate.yaml"), ref="HEAD")
    reports = state.result()
    assert [(r["key"], r["action"], r["status"]) for r in reports] == [
        ("gate/hello/bluesky", "cancel", "cancelled")
    ]
    assert SqliteLedger().get("gate/hello/bluesky").status == "cancelled"
    assert box.postforme.posts == {}  # deleted at the provider
