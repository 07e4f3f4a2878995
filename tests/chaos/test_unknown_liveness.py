"""Unknown deliveries end within the bound (issue 18): a worker process publishes 120 deliveries while
PostForMe answers 503 before storing some creates, 500 after storing others, and fails every lookup
by post key, so every create it may have received ends `unknown`. Then the lookups work again and the
follow-up runs past the idempotency window (POSTDECK_NOT_SENT_AFTER=0 here): the stored ones are
adopted, the never-stored ones become `not-sent`, and a second worker sends those.

Afterwards, counted in the simulators over HTTP: every delivery is posted (or failed, with a reason),
none unknown or not-sent, none live twice, no post key stored twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.sandbox import Sandbox, start_sandbox
from tests.chaos.campaign import expected_keys, write_campaign
from tests.chaos.census import admin, late_targets, live_count, postforme_targets, stored_twice
from tests.chaos.settle import follow_up_open
from tests.chaos.workers import start_worker, worker_env

BATCHES = 30
WORKER = {"threads": 4, "lease": 3.0, "deadline": 120.0}
FAULTS = FaultPlan(
    seed=18,
    rules=(
        # The first creates are stored, then answered 500: at least these end unknown yet stored, so
        # the adoption below is certain, not left to the draws (9 unknown batches, none stored: 1.4%).
        FaultRule(kind="status", status=500, after_store=True, count=3, ops=("create",)),
        FaultRule(kind="status", status=503, rate=0.25, ops=("create",)),  # before the work
        FaultRule(kind="status", status=500, after_store=True, rate=0.2, ops=("create",)),  # after storing
        FaultRule(kind="status", status=503, ops=("list",)),  # every lookup by post key fails
    ),
)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path / "box", persist=False, faults={"postforme": FAULTS})
    sandbox.late.rate_limit = 1_000_000
    yield sandbox
    sandbox.stop()


@pytest.mark.timeout(280)
def test_unknown_deliveries_end_posted_or_not_sent_and_resent_within_the_bound(
    tmp_path: Path, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = write_campaign(tmp_path / "campaign", BATCHES)
    ledger_path, journal_path = tmp_path / "ledger" / "ledger.db", tmp_path / "journal" / "journal.jsonl"
    env = worker_env(ledger_path, journal_path, box.postforme_url, box.late_url)

    first = start_worker(campaign, "run-1", env, tmp_path / "logs", **WORKER)
    assert first.process.wait(timeout=WORKER["deadline"] + 10) == 0, first.output()
    ledger = SqliteLedger(ledger_path)
    after_run = Counter(str(r.status) for r in ledger.deliveries("chaos"))
    assert after_run["unknown"] > 0, after_run  # the lookups could not tell

    admin(box.postforme_url, "/_sim/faults", {})  # the provider answers lookups again
    monkeypatch.setenv("POSTDECK_NOT_SENT_AFTER", "0")  # the window has passed (as a later sync sees it)
    follow_up_open(ledger, box)
    followed = Counter(str(r.status) for r in ledger.deliveries("chaos"))
    assert followed["unknown"] == 0 and followed["not-sent"] > 0, followed
    assert followed["posted"] > after_run["posted"], (after_run, followed)  # stored ones adopted

    second = start_worker(campaign, "run-2", env, tmp_path / "logs", **WORKER)
    assert second.process.wait(timeout=WORKER["deadline"] + 10) == 0, second.output()

    records = {r.key: r for r in ledger.deliveries("chaos")}
    final = Counter(str(r.status) for r in records.values())
    targets = postforme_targets(box.postforme_url) + late_targets(box.late_url)
    live = live_count(targets)
    print(
        f"\nunknown liveness: after the run {dict(after_run)}; followed {dict(followed)}; final {dict(final)}"
    )
    assert stored_twice(box.postforme_url, box.late_server.url) == {}
    assert {k: n for k, n in live.items() if n > 1} == {}
    expected = expected_keys(BATCHES)
    assert set(records) == set(expected)
    for key, (caption, platform) in expected.items():
        record = records[key]
        assert record.status in (DeliveryStatus.POSTED, DeliveryStatus.FAILED), (
            key,
            record.status,
            record.error,
        )
        copies = live[(caption, platform)]
        if record.status == DeliveryStatus.POSTED:
            assert copies == 1 and record.url, (key, copies)
        else:
            assert copies == 0 and record.error, (key, copies)
    assert final["posted"] >= 0.9 * len(expected), final
