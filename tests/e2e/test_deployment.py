"""End to end: a real Prefect server and process worker (scripts/up.sh), `prefect deployment run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from postdeck.ledger.base import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.sim.server import free_port
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Server + work pool + deployments + worker, as `make up` starts them, on a private port and home."""
    if not shutil.which("curl"):
        pytest.fail("scripts/up.sh needs curl")
    root = tmp_path_factory.mktemp("stack")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "PREFECT_HOME": str(root / "prefect-home"),
        "POSTDECK_PREFECT_PORT": str(port),
        "POSTDECK_RUN_DIR": str(root / "run"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        # The worker's flow runs inherit these: their own ledger and sandbox state.
        "POSTDECK_LEDGER": str(root / "ledger.db"),
        "POSTDECK_SANDBOX_DIR": str(root / "sandbox"),
        "POSTDECK_JOURNAL": str(root / "journal.jsonl"),
    }
    env.pop("PREFECT_API_URL", None)
    try:
        subprocess.run([str(REPO / "scripts/up.sh")], env=env, check=True, timeout=300, cwd=REPO)
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        yield env
    finally:
        subprocess.run([str(REPO / "scripts/down.sh")], env=env, timeout=120, cwd=REPO)
        for log in (root / "run").glob("*.log"):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")


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
    rows = (
        artifact["data"] if isinstance(artifact["data"], list) else __import__("json").loads(artifact["data"])
    )
    assert len(rows) == 18 and all(row["url"].startswith("https://") for row in rows)
