"""The publish-campaign flow on a real Prefect API, against the sandbox simulators over loopback."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("prefect_api")

EXAMPLE = str(REPO / "campaigns/example.yaml")


def sandbox_creates(state: Path) -> int:
    """Creates counted by both simulators (their state persists in the sandbox directory)."""
    total = 0
    for name in ("postforme.json", "late.json"):
        path = state / "sandbox" / name
        if path.exists():
            total += json.loads(path.read_text())["create_calls"]
    return total


def test_example_publishes_every_delivery_once_and_a_second_run_creates_nothing(
    isolated_postdeck: Path,
) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    reports = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert len(reports) == 18
    assert {(r["action"], r["status"]) for r in reports} == {("sent", "posted")}
    assert all(r["url"] and r["url"].startswith("https://") for r in reports)
    creates = sandbox_creates(isolated_postdeck)
    assert creates == 3  # one provider post per batch, carrying all of its platforms

    again = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert {(r["action"], r["status"]) for r in again} == {("unchanged", "posted")}
    assert sandbox_creates(isolated_postdeck) == creates

    ledger = SqliteLedger()
    records = ledger.deliveries("example")
    assert len(records) == 18 and {r.status for r in records} == {DeliveryStatus.POSTED}
    assert {r.provider for r in records} == {"postforme"}


def test_publish_without_keys_or_sandbox_fails_clearly_and_records_nothing(
    isolated_postdeck: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from postdeck.cli import main

    monkeypatch.setattr(sys, "argv", ["postdeck", "publish", EXAMPLE])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert "No social posting credentials configured" in capsys.readouterr().err
    assert SqliteLedger().deliveries("example") == []
    assert sandbox_creates(isolated_postdeck) == 0


def test_the_ui_shows_the_run_and_one_task_run_per_batch_named_after_it(isolated_postdeck: Path) -> None:
    """What the Prefect UI lists, read back from the server: the flow run named after the campaign
    and the commit, and one task run per batch named after the batch."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    state = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True), return_state=True)
    flow_run_id = state.state_details.flow_run_id
    batches = sorted({f"batch-{d.batch_id}" for d in expand(load_campaign(Path(EXAMPLE)))})
    only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    names: list[str] = []
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run_id).name.startswith("publish-example@")
        deadline = time.monotonic() + 60  # the server records task runs from their events, a moment later
        while len(names) < len(batches) and time.monotonic() < deadline:
            names = sorted(run.name for run in client.read_task_runs(flow_run_filter=only_this_run))
            time.sleep(0.2)
    assert names == batches and len(batches) == 3
