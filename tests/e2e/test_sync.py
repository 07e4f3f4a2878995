"""End to end: scheduled posts followed to `posted` / `failed` by the sync-post-status deployment as
the simulators' clock passes their time."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox
from tests.conftest import REPO
from tests.e2e.conftest import BIN

pytestmark = pytest.mark.e2e


def run(env: dict[str, str], deployment: str, params: dict | None = None) -> None:
    command = [str(BIN / "prefect"), "deployment", "run", deployment, "--watch", "--watch-timeout", "240"]
    if params is not None:
        command += ["--param", "params=" + json.dumps(params)]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sync_post_status_follows_scheduled_posts_to_their_outcome(
    prefect_stack: dict[str, str], running_sandbox: Sandbox, tmp_path: Path
) -> None:
    at = datetime.now(UTC) + timedelta(minutes=30)
    campaign = tmp_path / "later.yaml"
    campaign.write_text(
        "name: later\ntimezone: UTC\nbatches:\n"
        f"  - {{id: soon, at: '{at:%Y-%m-%d %H:%M}', platforms: [twitter, bluesky], caption: 'Doors open soon'}}\n"
    )
    run(prefect_stack, "publish-campaign/example", {"campaign": str(campaign), "sandbox": True})
    ledger = SqliteLedger(prefect_stack["POSTDECK_LEDGER"])
    assert {r.status for r in ledger.deliveries("later")} == {DeliveryStatus.SCHEDULED}

    run(prefect_stack, "sync-post-status/sync-sandbox")  # too early: nothing moves
    assert {r.status for r in ledger.deliveries("later")} == {DeliveryStatus.SCHEDULED}

    sim = running_sandbox.postforme
    sim.fail_platforms = {"bluesky"}
    sim.advance_clock(45 * 60)  # the simulator's time passes the post's
    try:
        sim.tick()
        run(prefect_stack, "sync-post-status/sync-sandbox")
    finally:
        sim.reset_clock()
        sim.fail_platforms = set()
    twitter, bluesky = ledger.get("later/soon/twitter"), ledger.get("later/soon/bluesky")
    assert twitter.status == DeliveryStatus.POSTED and twitter.url.startswith("https://")
    assert bluesky.status == DeliveryStatus.FAILED and bluesky.error
