"""The publish flow leaves the month calendar of its run as a Prefect markdown artifact, and the full
preview site of the run in a folder of its own (POSTDECK_RUNS_DIR/<flow run id>/preview/), which the
artifact links to."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("prefect_api")


def calendar_artifact(campaign: str, flow_run_id: object) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    wanted = ArtifactFilter(
        key=ArtifactFilterKey(any_=[f"calendar-{campaign}"]),
        flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
    )
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(artifact_filter=wanted)
    assert artifact.type == "markdown"
    return str(artifact.data)


def site_of(markdown: str) -> Path:
    """The index.html the artifact links to (a file:// URL)."""
    found = re.search(r"\]\((file://[^)\s]+)\)", markdown)
    assert found, markdown
    return Path(unquote(urlparse(found.group(1)).path))


def page_data(index: Path) -> dict:
    text = index.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="postdeck-data">(.*?)</script>', text, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_a_run_leaves_its_month_calendar_and_the_full_site_beside_it(isolated_postdeck: Path) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    campaign = str(REPO / "campaigns" / "spring-launch.yaml")
    state = publish_campaign(
        params=PublishParams(campaign=campaign, sandbox=True, dry_run=True), return_state=True
    )
    flow_run_id = state.state_details.flow_run_id
    markdown = calendar_artifact("spring-launch", flow_run_id)
    assert "### March 2030" in markdown and "09:00 Bluesky create" in markdown
    index = site_of(markdown)
    # The folder of this run: the runs folder (conftest points it into the test's state), its flow run id.
    assert index == isolated_postdeck / "runs" / str(flow_run_id) / "preview" / "index.html"
    assert index.is_file() and str(index) in markdown  # the path itself too, to copy from the UI
    data = page_data(index)
    assert data["run"]["dry_run"] is True and str(flow_run_id) in data["run"]["title"]
    assert data["cards"] and {c["action"] for c in data["cards"]} == {"create"}
    assert {c["status"] for c in data["cards"]} == {"none"}  # a dry run: nothing is in the ledger
    assert {c["run"]["outcome"] for c in data["cards"]} == {"would create"}


def test_the_site_of_a_real_run_shows_what_the_run_did(isolated_postdeck: Path) -> None:
    """Built from the run's reports: each card has the status and link the run came to, not the
    ledger as it was when the run planned (nothing of the campaign was in it then)."""
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    state = publish_campaign(
        params=PublishParams(campaign=str(REPO / "campaigns/example.yaml"), sandbox=True), return_state=True
    )
    index = site_of(calendar_artifact("example", state.state_details.flow_run_id))
    data = page_data(index)
    assert len(data["cards"]) == 18 and data["run"]["dry_run"] is False
    assert {(c["action"], c["status"], c["run"]["outcome"]) for c in data["cards"]} == {
        ("create", "posted", "posted")
    }
    assert all(c["url"].startswith("https://") for c in data["cards"])
    thumbs = {m["thumb"] for c in data["cards"] for m in c["media"]}
    assert thumbs and all((index.parent / t).is_file() for t in thumbs if t)
    again = publish_campaign(
        params=PublishParams(campaign=str(REPO / "campaigns/example.yaml"), sandbox=True), return_state=True
    )
    second = site_of(calendar_artifact("example", again.state_details.flow_run_id))
    assert second != index and index.is_file()  # one folder per run: the first run's site is kept
    assert {c["action"] for c in page_data(second)["cards"]} == {"unchanged"}


def test_a_site_that_cannot_be_written_does_not_fail_the_run(
    isolated_postdeck: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    blocked = isolated_postdeck / "not-a-folder"
    blocked.write_text("a file where the runs folder should be")
    monkeypatch.setenv("POSTDECK_RUNS_DIR", str(blocked))
    state = publish_campaign(
        params=PublishParams(campaign=str(REPO / "campaigns/example.yaml"), sandbox=True), return_state=True
    )
    assert state.is_completed()
    markdown = calendar_artifact("example", state.state_details.flow_run_id)
    assert "file://" not in markdown and "preview site was not written" in markdown


def test_a_run_of_a_ref_shows_the_media_of_that_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ref is published from a checkout that is gone when the run ends: the site is written while
    it is there, so its thumbnails are of the commit, not of the working tree."""
    from PIL import Image

    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from tests.engine.test_review_gate import git

    root = tmp_path / "team"
    (root / "campaigns" / "media").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "campaigns" / "pic.yaml").write_text(
        "name: pic\ntimezone: UTC\nbatches:\n"
        "  - {id: a, at: 2030-03-04 10:00, caption: Look, platforms: [bluesky], media: [media/p.jpg]}\n"
    )
    Image.new("RGB", (800, 600), (200, 30, 30)).save(root / "campaigns" / "media" / "p.jpg")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "red picture")
    Image.new("RGB", (800, 600), (30, 30, 200)).save(root / "campaigns" / "media" / "p.jpg")  # not committed
    monkeypatch.chdir(root)
    state = publish_campaign(
        params=PublishParams(campaign="campaigns/pic.yaml", ref="main", sandbox=True, dry_run=True),
        return_state=True,
    )
    index = site_of(calendar_artifact("pic", state.state_details.flow_run_id))
    [card] = page_data(index)["cards"]
    [shown] = card["media"]
    with Image.open(index.parent / shown["thumb"]) as thumb:
        red, _, blue = thumb.convert("RGB").getpixel((10, 10))
    assert red > 150 and blue < 80  # the committed red, not the working tree's blue
