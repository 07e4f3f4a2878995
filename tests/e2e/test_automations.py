"""`postdeck automations` on the real server of the e2e stack: a publish-campaign run with a refused
delivery ends Failed, and the automation sends its notification to a webhook (a receiver in this test)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.sandbox import Sandbox
from tests.conftest import REPO
from tests.e2e.conftest import BIN

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body or b"{}"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()


def test_a_failed_publish_run_notifies_through_the_automation(
    prefect_stack: dict[str, str], running_sandbox: Sandbox, receiver: tuple[str, list[dict]], tmp_path: Path
) -> None:
    url, received = receiver
    made = subprocess.run(
        [str(BIN / "postdeck"), "automations", "--webhook-url", url],
        env=prefect_stack,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    campaign = tmp_path / "refused.yaml"
    campaign.write_text(
        "name: refused\ntimezone: UTC\nbatches:\n  - {id: hello, platforms: [bluesky], caption: Hi}\n"
    )
    refuse = FaultRule(kind="partial", platforms=("bluesky",), reason="content", ops=None, count=1)
    running_sandbox.postforme.faults.set_plan(FaultPlan(seed=1, rules=(refuse,)))
    try:
        run = subprocess.run(
            [
                str(BIN / "prefect"),
                "deployment",
                "run",
                "publish-campaign/example",
                "--watch",
                "--param",
                "params=" + json.dumps({"campaign": str(campaign), "sandbox": True}),
            ],
            env=prefect_stack,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
        )
    finally:
        running_sandbox.postforme.faults.set_plan(FaultPlan(seed=1, rules=()))
    flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", run.stdout).group(1)
    api = prefect_stack["PREFECT_API_URL"]
    state = httpx.get(f"{api}/flow_runs/{flow_run_id}").json()["state"]
    assert (state["type"], state["message"]) == ("FAILED", "1 delivery: 1 failed"), run.stdout

    deadline = time.monotonic() + 120  # the server's triggers and actions services act on the event
    while not received and time.monotonic() < deadline:
        time.sleep(0.5)
    assert received, "no notification reached the webhook"
    (note,) = received
    assert "is Failed" in note["subject"] and "publish-refused@" in note["subject"]
    assert "1 delivery: 1 failed" in note["text"]
