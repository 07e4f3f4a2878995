"""The publish-campaign flow on a real Prefect API, against the sandbox simulators over loopback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from postdeck.ledger.base import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from tests.conftest import REPO
from tests.prefect_harness import prefect_api  # noqa: F401  (fixture)

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


def test_each_batch_task_run_is_named_after_its_batch() -> None:
    """As Prefect names the run from the task's parameters (the UI shows one task run per batch)."""
    from prefect._internal.engine import resolve_custom_task_run_name

    from postdeck.flows.publish import publish_batch_task
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    first = expand(load_campaign(Path(EXAMPLE)))[0]
    name = resolve_custom_task_run_name(publish_batch_task, {"deliveries": [first]})
    assert name == f"batch-{first.batch_id}"
