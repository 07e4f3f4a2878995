"""End to end: through the worker, a second run applies the plan of an edited campaign: a create, an
update and a cancel of scheduled posts, and unchanged entries left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import SANDBOX_POSTFORME_KEY, Sandbox
from tests.e2e.test_sync import run

pytestmark = pytest.mark.e2e


def test_a_second_run_applies_creates_updates_cancels_and_leaves_the_rest(
    prefect_stack: dict[str, str], running_sandbox: Sandbox, tmp_path: Path
) -> None:
    at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    campaign = tmp_path / "edits.yaml"

    def write(batches: str) -> None:
        campaign.write_text(f"name: edits\ntimezone: UTC\nbatches:\n{batches}")

    write(
        f"  - {{id: one, at: '{at}', platforms: [twitter], caption: 'First draft'}}\n"
        f"  - {{id: two, at: '{at}', platforms: [linkedin], caption: 'Going away'}}\n"
        f"  - {{id: three, at: '{at}', platforms: [bluesky], caption: 'Staying the same'}}\n"
    )
    params = {"campaign": str(campaign), "sandbox": True}
    run(prefect_stack, "publish-campaign/example", params)
    ledger = SqliteLedger(prefect_stack["POSTDECK_LEDGER"])
    before = {r.key: r for r in ledger.deliveries("edits")}
    assert {r.status for r in before.values()} == {DeliveryStatus.SCHEDULED}

    write(
        f"  - {{id: one, at: '{at}', platforms: [twitter], caption: 'Final words'}}\n"
        f"  - {{id: three, at: '{at}', platforms: [bluesky], caption: 'Staying the same'}}\n"
        "  - {id: four, platforms: [threads], caption: 'Brand new'}\n"
    )
    run(prefect_stack, "publish-campaign/example", params)
    after = {r.key: r for r in ledger.deliveries("edits")}
    assert after["edits/one/twitter"].status == DeliveryStatus.SCHEDULED
    assert after["edits/one/twitter"].caption == "Final words"
    assert after["edits/two/linkedin"].status == DeliveryStatus.CANCELLED
    assert after["edits/three/bluesky"].updated_at == before["edits/three/bluesky"].updated_at  # untouched
    assert after["edits/four/threads"].status == DeliveryStatus.POSTED

    client = httpx.Client(
        base_url=running_sandbox.postforme_url, headers={"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
    )
    posts = {p["id"]: p for p in client.get("/v1/social-posts", params={"limit": 100}).json()["data"]}
    assert posts[after["edits/one/twitter"].provider_post_id]["caption"] == "Final words"
    assert before["edits/two/linkedin"].provider_post_id not in posts
