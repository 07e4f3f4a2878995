"""Two process workers, two flow runs of one campaign at the same time: every delivery posted once.

The ledger claim decides who sends what; the simulators (running in this test process) count the
provider posts that reached them, delivery by delivery.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox
from tests.conftest import REPO
from tests.e2e.conftest import BIN

pytestmark = pytest.mark.e2e

PLATFORMS = ["twitter", "linkedin", "bluesky"]
BATCHES = 12


def write_campaign(folder: Path) -> Path:
    lines = ["name: race", "defaults:", f"  platforms: [{', '.join(PLATFORMS)}]", "batches:"]
    for i in range(BATCHES):
        lines += [f"  - id: b{i:02d}", f"    caption: 'Race batch {i:02d} says hello'"]
    path = folder / "race.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def posted_deliveries(box: Sandbox) -> Counter[tuple[str, str]]:
    """(caption, platform) of every target of every post the simulators hold, read over their APIs."""
    seen: Counter[tuple[str, str]] = Counter()
    pfm = httpx.Client(
        base_url=box.postforme_url, headers={"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
    )
    accounts = {
        a["id"]: a["platform"] for a in pfm.get("/v1/social-accounts", params={"limit": 100}).json()["data"]
    }
    offset = 0
    while True:
        page = pfm.get("/v1/social-posts", params={"limit": 100, "offset": offset}).json()
        for post in page["data"]:
            for account in post["social_accounts"]:
                platform = {"x": "twitter"}.get(accounts[account["id"]], accounts[account["id"]])
                seen[(post["caption"], platform)] += 1
        offset += 100
        if offset >= page["meta"]["total"]:
            break
    late = httpx.Client(base_url=box.late_url, headers={"Authorization": f"Bearer {SANDBOX_LATE_KEY}"})
    for post in late.get("/v1/posts", params={"limit": 500}).json()["posts"]:
        for target in post["platforms"]:
            seen[(target.get("customContent") or post["content"], target["platform"])] += 1
    return seen


def test_two_workers_running_the_same_campaign_post_each_delivery_once(
    prefect_stack: dict[str, str], running_sandbox: Sandbox, tmp_path: Path
) -> None:
    campaign = write_campaign(tmp_path)
    run_dir = Path(prefect_stack["POSTDECK_RUN_DIR"])
    second_worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "postdeck-process", "--limit", "1"],
        env=prefect_stack,
        cwd=REPO,
        stdout=(run_dir / "worker2.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        # Slow provider replies keep each run busy long enough for the two to overlap.
        running_sandbox.postforme.response_delay = 1.5
        launches = [
            subprocess.Popen(
                [
                    str(BIN / "prefect"),
                    "deployment",
                    "run",
                    "publish-campaign/example",
                    "--param",
                    json.dumps({"campaign": str(campaign), "sandbox": True}).join(["params=", ""]),
                ],
                env=prefect_stack,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        runs = [launch.communicate(timeout=120)[0] for launch in launches]
        ids = [re.search(r"UUID: ([0-9a-f-]{36})", out).group(1) for out in runs]
        api = prefect_stack["PREFECT_API_URL"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            flow_runs = httpx.post(
                f"{api}/flow_runs/filter", json={"flow_runs": {"id": {"any_": ids}}}
            ).json()
            if len(flow_runs) == 2 and all(
                r["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED") for r in flow_runs
            ):
                break
            time.sleep(1)
        # Each run is Completed, or Failed only because the other run held some of its deliveries
        # (it says so: they were not resolved by it); never for a delivery that failed.
        for r in flow_runs:
            state = r["state"]
            assert state["type"] == "COMPLETED" or (
                state["type"] == "FAILED"
                and re.fullmatch(
                    r"\d+ deliveries: (\d+ (held|in-flight|posted|unchanged)(, )?)+", state["message"]
                )
            ), flow_runs
        # The two runs really ran side by side, in two worker processes.
        assert len({r["infrastructure_pid"] for r in flow_runs}) == 2
        first, second = sorted(flow_runs, key=lambda r: r["start_time"])
        assert second["start_time"] < first["end_time"]
    finally:
        running_sandbox.postforme.response_delay = 0.0
        second_worker.send_signal(2)
        try:
            second_worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second_worker.kill()

    counts = posted_deliveries(running_sandbox)
    race = {key: n for key, n in counts.items() if key[0].startswith("Race batch")}
    assert len(race) == BATCHES * len(PLATFORMS)
    assert set(race.values()) == {1}, {k: n for k, n in race.items() if n != 1}
    records = SqliteLedger(prefect_stack["POSTDECK_LEDGER"]).deliveries("race")
    assert len(records) == BATCHES * len(PLATFORMS) and {r.status for r in records} == {DeliveryStatus.POSTED}
