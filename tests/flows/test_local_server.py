"""The local Prefect server that local runs share: started on first use by `publish`, reused, its
history in its UI, a stale or crashed one replaced, and stopped by `postdeck server stop`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # left out of `make test-fast`

POSTDECK = [sys.executable, "-m", "postdeck.cli"]


@pytest.fixture
def env(isolated_postdeck: Path) -> Iterator[dict[str, str]]:
    environment = {
        **os.environ,
        "POSTDECK_SERVER_DIR": str(isolated_postdeck / "server"),
        "PREFECT_HOME": str(isolated_postdeck / "client-home"),
    }
    environment.pop("PREFECT_API_URL", None)
    yield environment
    subprocess.run([*POSTDECK, "server", "stop"], env=environment, capture_output=True, timeout=60)


def postdeck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*POSTDECK, *args], env=env, capture_output=True, text=True, timeout=300, cwd=REPO)


def record(env: dict[str, str]) -> dict:
    return json.loads((Path(env["POSTDECK_SERVER_DIR"]) / "server.json").read_text())


def test_publish_starts_one_server_reuses_it_and_stop_ends_it(env: dict[str, str], tmp_path: Path) -> None:
    campaign = tmp_path / "local.yaml"
    campaign.write_text(
        "name: local\ntimezone: UTC\nbatches:\n  - {id: hello, platforms: [bluesky], caption: Hi}\n"
    )
    assert postdeck(env, "server", "status").returncode == 1

    first = postdeck(env, "publish", str(campaign), "--sandbox")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "started the local Prefect server: UI at http://127.0.0.1:" in first.stderr
    server = record(env)

    again = postdeck(env, "publish", str(campaign), "--sandbox")
    assert again.returncode == 0 and "using the local Prefect server" in again.stderr
    assert record(env) == server  # the same process, reused
    api = f"http://127.0.0.1:{server['port']}/api"
    runs = httpx.post(f"{api}/flow_runs/filter", json={}).json()
    assert sorted(r["name"] for r in runs) == ["publish-local@no-commit"] * 2  # the history is in its UI

    os.kill(server["pid"], signal.SIGKILL)  # a crashed server is found out and replaced
    assert postdeck(env, "server", "status").returncode == 1
    third = postdeck(env, "publish", str(campaign), "--sandbox")
    assert third.returncode == 0 and "started the local Prefect server" in third.stderr
    assert record(env)["pid"] != server["pid"]

    stopped = postdeck(env, "server", "stop")
    assert "stopped the server" in stopped.stdout
    assert postdeck(env, "server", "status").returncode == 1


def test_a_command_that_fails_before_the_flow_starts_no_server(env: dict[str, str], tmp_path: Path) -> None:
    missing = postdeck(env, "publish", str(tmp_path / "nope.yaml"), "--sandbox")
    assert missing.returncode == 1 and "nope.yaml" in missing.stderr
    campaign = tmp_path / "c.yaml"
    campaign.write_text("name: c\nbatches:\n  - {id: a, platforms: [bluesky], caption: Hi}\n")
    no_keys = postdeck(env, "publish", str(campaign))
    assert no_keys.returncode == 1 and "No social posting credentials configured" in no_keys.stderr
    assert not (Path(env["POSTDECK_SERVER_DIR"]) / "server.json").exists()
    assert "prefect" not in no_keys.stderr.lower()
