"""One Prefect stack for the end-to-end tests: server, work pool, deployments and a worker, as `make up`
starts them, on a private port and home; and both simulators running in this process, so the tests
can count what the worker's flow runs sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from postdeck.sandbox.sandbox import Sandbox, start_sandbox
from postdeck.sandbox.server import free_port
from tests.conftest import REPO

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def running_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = start_sandbox(tmp_path_factory.mktemp("sandbox"), persist=False)
    yield box
    box.stop()


@pytest.fixture(scope="session")
def prefect_stack(
    tmp_path_factory: pytest.TempPathFactory, running_sandbox: Sandbox
) -> Iterator[dict[str, str]]:
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
        "POSTDECK_WORKER_LIMIT": "1",  # one flow run per worker, so two runs need two workers
        # Each run reserves this many of provider:postforme's 4 slots: two runs publish side by side.
        "POSTDECK_PROVIDER_CONCURRENCY": "2",
        # The workers' flow runs inherit these: their own ledger, and the simulators of this process.
        "POSTDECK_LEDGER": str(root / "ledger.db"),
        "POSTDECK_JOURNAL": str(root / "journal.jsonl"),
        "POSTDECK_RUNS_DIR": str(root / "runs"),  # each run's preview site
        "POSTDECK_SANDBOX_POSTFORME_URL": running_sandbox.postforme_url,
        "POSTDECK_SANDBOX_LATE_URL": running_sandbox.late_url,
    }
    env.pop("PREFECT_API_URL", None)
    try:
        subprocess.run([str(REPO / "scripts/up.sh")], env=env, check=True, timeout=300, cwd=REPO)
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        _pause_schedules(env["PREFECT_API_URL"])
        yield env
    finally:
        subprocess.run([str(REPO / "scripts/down.sh")], env=env, timeout=120, cwd=REPO)
        for log in (root / "run").glob("*.log"):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")


def _pause_schedules(api: str) -> None:
    """The interval-scheduled sync deployments would take worker slots at random moments: the tests
    switch their schedules off and run them explicitly."""
    for deployment in httpx.post(f"{api}/deployments/filter", json={}).json():
        for schedule in deployment.get("schedules") or []:
            url = f"{api}/deployments/{deployment['id']}/schedules/{schedule['id']}"
            _patch_until_served(url, {"active": False})


def _patch_until_served(url: str, body: dict, attempts: int = 10) -> None:
    """The server answers 503 while its SQLite file is busy (its scheduler writes at start, more so
    on a loaded machine): ask again, as Prefect's own client does, rather than fail the session."""
    for attempt in range(attempts):
        reply = httpx.patch(url, json=body, timeout=30)
        if reply.status_code != 503 or attempt == attempts - 1:
            reply.raise_for_status()
            return
        time.sleep(1.0)
