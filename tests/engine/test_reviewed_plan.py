"""Publish what was reviewed (issue 17, Atlantis-style): `postdeck plan` shows the plan's hash, and a
publish given it (`expect_plan`, `--expect-plan`) applies only that plan: a campaign edited after
review, or a ledger that moved, is refused with nothing sent. Real git repository, the real Prefect
API, the simulators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.errors import PlanError
from postdeck.sandbox.sandbox import Sandbox
from tests.engine.test_review_gate import CAMPAIGN, git, publish, sent_captions, team_repo

pytestmark = pytest.mark.usefixtures("prefect_api")


def reviewed(campaign: Path) -> tuple[str, str]:
    """The plan's hash from its JSON, and the markdown comment a pull request shows."""
    runner = CliRunner()
    as_json = runner.invoke(app, ["plan", str(campaign), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    markdown = runner.invoke(app, ["plan", str(campaign), "--format", "markdown"])
    return json.loads(as_json.output)["plan_hash"], markdown.output


def refusal(campaign: Path, **options) -> str:
    state = publish(campaign, **options)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, PlanError), error
    return str(error)


def test_a_publish_applies_only_the_reviewed_plan(box: Sandbox, tmp_path: Path) -> None:
    repo = team_repo(tmp_path)
    campaign = repo / "campaigns/gate.yaml"
    full_hash, comment = reviewed(campaign)
    assert f"Plan `{full_hash[:12]}`" in comment

    # Merged with an edit nobody saw in the plan: refused, nothing sent.
    campaign.write_text(CAMPAIGN.format(caption="Changed after review"))
    git(repo, "commit", "-qam", "edit after the review")
    assert f"not the reviewed plan {full_hash[:12]}" in refusal(campaign, expect_plan=full_hash[:12])
    assert sent_captions(box) == []

    # What was reviewed now: the plan's hash says so, and that publishes.
    again, _ = reviewed(campaign)
    assert again != full_hash
    state = publish(campaign, expect_plan=again[:12])
    assert state.is_completed() and sent_captions(box) == ["Changed after review"]

    # The same hash a second time: the ledger moved (all posted now), so it is not that plan any more.
    assert "the campaign or its ledger changed" in refusal(campaign, expect_plan=again)
    assert sent_captions(box) == ["Changed after review"]


def test_a_hash_too_short_to_mean_one_plan_is_refused(box: Sandbox, tmp_path: Path) -> None:
    campaign = team_repo(tmp_path) / "campaigns/gate.yaml"
    full_hash, _ = reviewed(campaign)
    assert "not the reviewed plan" in refusal(campaign, expect_plan=full_hash[:6])
    assert sent_captions(box) == []


def test_a_time_edit_after_review_is_refused(box: Sandbox, tmp_path: Path) -> None:
    """The reviewed plan said when as well as what: moving a post after review is another plan."""
    repo = team_repo(tmp_path)
    campaign = repo / "campaigns/gate.yaml"
    timed = "name: gate\ntimezone: UTC\nbatches:\n  - {{id: hello, platforms: [bluesky], caption: hi, at: '{at}'}}\n"
    campaign.write_text(timed.format(at="2030-07-01 09:00"))
    git(repo, "commit", "-qam", "a scheduled post")
    full_hash, _ = reviewed(campaign)

    campaign.write_text(timed.format(at="2030-07-01 23:00"))
    git(repo, "commit", "-qam", "moved after the review")
    assert "not the reviewed plan" in refusal(campaign, expect_plan=full_hash[:12])
    assert sent_captions(box) == []
