"""End to end (issue 17): the `production` deployment, run by `prefect deployment run` on the real
server and process worker, publishes the reviewed commit it is given (`ref`), never the working
tree's edits, names the run after it, and records the commit on each delivery; without `ref` it
refuses before anything is read or sent. A real git repository in a temporary folder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox
from tests.conftest import REPO
from tests.e2e.conftest import BIN
from tests.engine.test_review_gate import CAMPAIGN, git, team_repo

pytestmark = pytest.mark.e2e


def run_production(env: dict[str, str], params: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "prefect"),
            "deployment",
            "run",
            "publish-campaign/production",
            "--param",
            f"params={json.dumps(params)}",
            "--watch",
            "--watch-timeout",
            "240",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


def flow_runs_named(api: str, prefix: str) -> list[dict]:
    runs = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"name": {"like_": prefix}}})
    runs.raise_for_status()
    return runs.json()


def test_production_publishes_the_commit_it_is_given_not_the_working_tree(
    prefect_stack: dict[str, str], running_sandbox: Sandbox, tmp_path: Path
) -> None:
    repo = team_repo(tmp_path)
    sha = git(repo, "rev-parse", "HEAD")
    campaign = repo / "campaigns/gate.yaml"
    campaign.write_text(CAMPAIGN.format(caption="An edit nobody reviewed"))  # uncommitted
    before = {p["id"] for p in running_sandbox.postforme.posts.values()}

    refused = run_production(prefect_stack, {"campaign": str(campaign), "sandbox": True})
    assert refused.returncode != 0 and "Failed" in refused.stdout
    (failed,) = flow_runs_named(prefect_stack["PREFECT_API_URL"], "publish-gate@no-ref")
    assert "publishes a reviewed commit only" in failed["state"]["message"]
    assert [p for p in running_sandbox.postforme.posts.values() if p["id"] not in before] == []

    run = run_production(prefect_stack, {"campaign": str(campaign), "ref": "main", "sandbox": True})
    assert run.returncode == 0, run.stdout + run.stderr
    sent = [p for p in running_sandbox.postforme.posts.values() if p["id"] not in before]
    assert [p["caption"] for p in sent] == ["Reviewed words"]
    (record,) = SqliteLedger(prefect_stack["POSTDECK_LEDGER"]).deliveries("gate")
    assert record.commit_sha == sha and record.run_id
    assert flow_runs_named(prefect_stack["PREFECT_API_URL"], f"publish-gate@{sha[:8]}%")
