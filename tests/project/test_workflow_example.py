"""The example GitHub workflow's two halves, run as GitHub would run their scripts (bash, in a real
git repository made here, with the real `postdeck`): the pull request's plan step comments a plan hash
per campaign, changed or deleted, and the push step hands each one to the production deployment as
`expect_plan` with `ref` = the merge commit. GitHub and Prefect Cloud cannot be reached from here, so
`gh` (answering with the plan comment) and `prefect` (recording its arguments) are stand-ins on PATH;
that the deployment refuses any other plan is tests/engine/test_reviewed_plan.py's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.engine.test_review_gate import CAMPAIGN, git

pytestmark = pytest.mark.slow  # bash and the real CLI in git repositories: left out of `make test-fast`

WORKFLOW = yaml.safe_load((REPO / "examples/github-workflow-campaigns.yml").read_text())
BIN = Path(sys.executable).parent


def step(job: str, name_starts: str) -> dict:
    (found,) = [s for s in WORKFLOW["jobs"][job]["steps"] if s.get("name", "").startswith(name_starts)]
    return found


def stand_in(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + script)
    path.chmod(0o755)


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_pull_request_comments_plan_hashes_and_the_merge_publishes_exactly_those(tmp_path: Path) -> None:
    repo = tmp_path / "team"
    (repo / "campaigns").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for name in ("kept", "gone"):
        (repo / f"campaigns/{name}.yaml").write_text(
            CAMPAIGN.format(caption=f"{name} words").replace("gate", name)
        )
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "two campaigns")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "campaigns/kept.yaml").write_text(CAMPAIGN.format(caption="new words").replace("gate", "kept"))
    (repo / "campaigns/gone.yaml").unlink()
    git(repo, "commit", "-qam", "edit one, delete the other")
    head = git(repo, "rev-parse", "HEAD")

    tools = tmp_path / "bin"
    tools.mkdir()
    env = {
        **os.environ,
        "PATH": f"{tools}:{BIN}:{os.environ['PATH']}",
        "POSTDECK_LEDGER": str(tmp_path / "ledger.db"),
        "POSTDECK_JOURNAL": str(tmp_path / "journal.jsonl"),
        "GITHUB_OUTPUT": str(tmp_path / "github-output"),
        "BASE": base,
    }
    env.pop("SUPABASE_URL", None)
    planned = run_step(step("validate-and-plan", "Plan the changed campaigns")["run"], repo, env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    comment = (repo / "plan.md").read_text()
    assert "**campaigns/gone.yaml is deleted.**" in comment
    hashes = {}
    for file in ("campaigns/kept.yaml", "campaigns/gone.yaml"):
        saved = json.loads((repo / f"plan-{Path(file).stem}.json").read_text())
        hashes[file] = saved["plan_hash"][:12]
        assert f"<!-- postdeck-plan-hash {file} {hashes[file]} -->" in comment

    # The merge: the pull request's comment, as GitHub's API would answer the push job's queries.
    (tmp_path / "comment.md").write_text(comment)
    stand_in(
        tools,
        "gh",
        f'case "$*" in *"/pulls"*) echo 7;; *"/issues/7/comments"*) cat {tmp_path / "comment.md"};; esac\n',
    )
    stand_in(tools, "prefect", f'printf "%s\\n" "$*" >> {tmp_path / "prefect-calls"}\n')
    env |= {"BEFORE": base, "GITHUB_SHA": head, "GITHUB_REPOSITORY": "team/campaigns"}
    published = run_step(step("publish", "Publish each campaign")["run"], repo, env)
    assert published.returncode == 0, published.stdout + published.stderr
    calls = (tmp_path / "prefect-calls").read_text().splitlines()
    sent = {}
    for call in calls:
        params = json.loads(call.split("params=", 1)[1].rsplit(" --watch", 1)[0])
        sent[params["campaign"]] = params
    assert set(sent) == set(hashes)
    for file, params in sent.items():
        assert (params["ref"], params["expect_plan"]) == (head, hashes[file])


def test_a_push_without_a_reviewed_plan_publishes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "team"
    (repo / "campaigns").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "start")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "campaigns/gate.yaml").write_text(CAMPAIGN.format(caption="pushed straight to main"))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "no pull request")
    tools = tmp_path / "bin"
    tools.mkdir()
    stand_in(tools, "gh", "exit 0\n")  # no pull request for this commit
    stand_in(tools, "prefect", f'printf "%s\\n" "$*" >> {tmp_path / "prefect-calls"}\n')
    env = {
        **os.environ,
        "PATH": f"{tools}:{BIN}:{os.environ['PATH']}",
        "BEFORE": base,
        "GITHUB_SHA": git(repo, "rev-parse", "HEAD"),
        "GITHUB_REPOSITORY": "team/campaigns",
    }
    published = run_step(step("publish", "Publish each campaign")["run"], repo, env)
    assert published.returncode == 1
    assert "no reviewed plan for campaigns/gate.yaml" in published.stdout
    assert not (tmp_path / "prefect-calls").exists()
