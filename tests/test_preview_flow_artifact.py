"""The publish flow leaves the month calendar of its run as a Prefect markdown artifact."""

from __future__ import annotations

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_a_run_leaves_its_month_calendar() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    campaign = str(REPO / "campaigns" / "spring-launch.yaml")
    publish_campaign(params=PublishParams(campaign=campaign, sandbox=True, dry_run=True))
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["calendar-spring-launch"]))
        )
    assert artifact.type == "markdown"
    assert "### March 2030" in artifact.data and "09:00 Bluesky create" in artifact.data
