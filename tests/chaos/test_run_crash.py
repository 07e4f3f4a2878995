"""A publish run whose process dies does not stay `running` for ever (issue 17).

A real `postdeck publish` process is SIGKILLed while its create is in flight (stored at the simulator,
the answer held back). Its campaign_runs row still says `running`: nobody was left to end it. Once
its heartbeat is older than the timeout, `postdeck runs` shows it `crashed` with when it was last
alive; the next publish of the campaign records it so (ended at its last beat), adopts its post by
lookup and posts nothing twice. A run Prefect says crashed is recorded crashed at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.sandbox import Sandbox
from tests.chaos.workers import Worker, wait_until
from tests.conftest import REPO
from tests.engine.test_review_gate import publish
from tests.service.test_service_harness import run_cli

pytestmark = pytest.mark.usefixtures("prefect_api")

TIMEOUT = "2"  # POSTDECK_CLAIM_HEARTBEAT_TIMEOUT, seconds: claims and the run beat every 0.67 s
CAMPAIGN = "name: killed\ntimezone: UTC\nbatches:\n  - {id: hello, platforms: [bluesky], caption: Hi from a run that dies}\n"


def start_publish(path: Path, logs: Path) -> Worker:
    """`postdeck publish PATH --sandbox` in a process of its own, on this session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "POSTDECK_CLAIM_HEARTBEAT_TIMEOUT": TIMEOUT,
        "PYTHONUNBUFFERED": "1",
    }
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "publish.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "postdeck"), "publish", str(path), "--sandbox"],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return Worker("publish", process, log)


def shown_runs(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    result = run_cli(capsys, "runs", "--campaign", "killed", "--format", "json")
    assert result.code == 0, result.err
    return result.json()


@pytest.mark.timeout(180)
def test_a_killed_publish_is_shown_then_recorded_crashed_and_its_post_is_adopted_once(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT", TIMEOUT)
    path = tmp_path / "loose" / "killed.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN)
    # The create is stored, then its answer held: the process is killed with its create in flight.
    hold = FaultRule(kind="timeout", ops=("create",), hang_s=120, count=1)
    box.postforme.faults.set_plan(FaultPlan(seed=1, rules=(hold,)))
    ledger = SqliteLedger()
    worker = start_publish(path, tmp_path / "logs")
    try:
        in_flight = lambda: box.postforme.create_calls >= 1 and bool(ledger.campaign_runs("killed"))  # noqa: E731
        assert wait_until(in_flight, worker, 90), worker.output()
        [alive] = shown_runs(capsys)
        assert (alive["status"], alive["kind"], alive["error"]) == ("running", "publish", None)
        assert wait_until(
            lambda: ledger.campaign_runs("killed")[0].heartbeat_at > _time(alive["started_at"]), worker, 10
        )
        worker.kill()
    finally:
        if worker.alive():
            worker.kill()
    killed_at = datetime.now(UTC)

    # Nobody ended it: the ledger still says running; once its beat is older than the timeout,
    # `postdeck runs` says what it is.
    [row] = ledger.campaign_runs("killed")
    assert (row.status, row.finished_at) == ("running", None) and row.heartbeat_at <= killed_at
    deadline = time.monotonic() + 15
    while (shown := shown_runs(capsys))[0]["status"] != "crashed":
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    [crashed] = shown
    assert crashed["recorded_status"] == "running"
    assert _time(crashed["last_alive"]) == row.heartbeat_at
    assert "no heartbeat since" in crashed["error"] and "the timeout is 2 s" in crashed["error"]
    header, line = run_cli(capsys, "runs", "--campaign", "killed", "--format", "csv").out.splitlines()
    shown_row = dict(zip(header.split(","), line.split(","), strict=True))
    last = row.heartbeat_at.replace(microsecond=0)  # csv shows whole seconds
    assert (shown_row["status"], _time(shown_row["last_alive"])) == ("crashed", last)

    # The next publish records it crashed, takes its claim over and adopts the post it made.
    box.postforme.faults.set_plan(FaultPlan())
    state = publish(path)
    assert state.is_completed()
    assert [(r["action"], r["status"]) for r in state.result()] == [("recovered", "posted")]
    assert box.postforme.create_calls + box.late.create_calls == 1  # never posted twice
    second, first = ledger.campaign_runs("killed")
    assert (first.id, first.status) == (row.id, "crashed")
    assert first.finished_at == first.heartbeat_at == row.heartbeat_at  # ended when it was last alive
    assert (
        first.error.startswith("crashed: no heartbeat since") and "by the next run of killed" in first.error
    )
    assert (second.status, second.summary["outcomes"]) == ("completed", {"posted": 1})
    assert ledger.get("killed/hello/bluesky").run_id == first.id  # the killed run's create sent it
    assert [(r["status"], r["recorded_status"]) for r in shown_runs(capsys)] == [
        ("completed", "completed"),
        ("crashed", "crashed"),
    ]


def test_a_run_prefect_says_crashed_is_recorded_crashed_at_once_and_a_live_one_is_left_running(
    box: Sandbox, tmp_path: Path
) -> None:
    from tests.engine.test_claim_heartbeat import _flow_run_in

    crashed, running = (_flow_run_in(s).removeprefix("flow-run:") for s in ("crashed", "running"))
    ledger = SqliteLedger()
    now = datetime.now(UTC)  # both beat just now: only Prefect can tell the dead one
    dead = ledger.start_campaign_run("killed", flow_run_id=crashed, user_id=None, now=now)
    live = ledger.start_campaign_run("killed", flow_run_id=running, user_id=None, now=now)
    path = tmp_path / "killed.yaml"
    path.write_text(CAMPAIGN)
    assert publish(path).is_completed()
    runs = {r.id: r for r in ledger.campaign_runs("killed")}
    assert runs[dead].status == "crashed" and f"Prefect says flow run {crashed} crashed" in runs[dead].error
    assert runs[live].status == "running"


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
