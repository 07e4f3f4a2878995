"""End to end: `prefect deployment run` on a real Prefect server and process worker (scripts/up.sh)."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from tests.conftest import REPO
from tests.e2e.conftest import BIN

pytestmark = pytest.mark.e2e


def test_deployment_run_publishes_the_example_through_the_worker(prefect_stack: dict[str, str]) -> None:
    run = subprocess.run(
        [
            str(BIN / "prefect"),
            "deployment",
            "run",
            "publish-campaign/example",
            "--watch",
            "--watch-timeout",
            "240",
        ],
        env=prefect_stack,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Completed" in run.stdout

    records = SqliteLedger(prefect_stack["POSTDECK_LEDGER"]).deliveries("example")
    assert len(records) == 18
    assert {r.status for r in records} == {DeliveryStatus.POSTED}
    assert all(r.url and r.owner and r.owner.startswith("flow-run:") for r in records)

    # The run's table artifact is in the Prefect API, with a link for every delivery.
    api = prefect_stack["PREFECT_API_URL"]
    artifacts = httpx.post(
        f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": ["publish-example"]}}}
    )
    artifacts.raise_for_status()
    [artifact] = artifacts.json()
    rows = artifact["data"] if isinstance(artifact["data"], list) else json.loads(artifact["data"])
    assert len(rows) == 18 and all(row["url"].startswith("https://") for row in rows)


def test_make_up_creates_the_provider_concurrency_limits(prefect_stack: dict[str, str]) -> None:
    api = prefect_stack["PREFECT_API_URL"]
    limits = httpx.post(f"{api}/v2/concurrency_limits/filter", json={}).json()
    assert {(lim["name"], lim["limit"]) for lim in limits} >= {
        ("provider:postforme", 4),
        ("provider:late", 8),
    }
