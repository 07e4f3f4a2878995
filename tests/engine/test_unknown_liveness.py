"""Every unknown delivery has a way out (issue 18): over real HTTP to the simulators and a real SQLite
ledger, a delivery the providers never stored leaves `unknown` as `not-sent` once no provider has had
it over their idempotency window, and the next publish looks it up once more and sends it, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.follow_up import follow_up
from postdeck.engine.plan import Action, make_plan
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.sandbox import Sandbox, start_sandbox
from postdeck.schemas.deliveries import Delivery
from tests.providers.test_failover_faults import chain_of, live_targets

WINDOW = 900.0  # seconds: POSTDECK_NOT_SENT_AFTER's default


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sandbox = start_sandbox(persist=False)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(box: Sandbox) -> Iterator[Sandbox]:
    for sim in (box.postforme, box.late):
        sim.reset()
    yield box


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.db")


def deliveries(caption: str) -> list[Delivery]:
    return [
        Delivery(
            str(DeliveryKey("live", "b1", Platform.TWITTER)),
            "live",
            "b1",
            Platform.TWITTER,
            caption,
            (),
            None,
        )
    ]


def _unknown_after(sandbox: Sandbox, ledger: SqliteLedger, caption: str, create_fault: FaultRule) -> str:
    """Publish once while every lookup at PostForMe fails: the delivery ends unknown."""
    rules = (create_fault, FaultRule(kind="status", status=503, ops=("list",)))
    sandbox.postforme.faults.set_plan(FaultPlan(seed=1, rules=rules))
    chain = chain_of(sandbox, ("postforme", "late"))
    (report,) = publish_batch(deliveries(caption), ledger=ledger, chain=chain, owner="run-1")
    assert (report.action, report.status) == ("sent", "unknown")
    sandbox.postforme.faults.clear()
    return report.key


def test_never_stored_unknown_becomes_not_sent_after_the_window_and_is_sent_again(
    sandbox: Sandbox, ledger: SqliteLedger
) -> None:
    key = _unknown_after(
        sandbox, ledger, "never stored", FaultRule(kind="status", status=503, ops=("create",), count=1)
    )
    chain = chain_of(sandbox, ("postforme", "late"))
    became_unknown = ledger.get(key).updated_at
    assert became_unknown is not None

    # Within the window: still unknown, and the report says when it stops being so.
    (early,) = follow_up([ledger.get(key)], ledger=ledger, chain=chain, not_sent_after=WINDOW)
    assert (early.before, early.after) == ("unknown", "unknown")
    deadline = (became_unknown + timedelta(seconds=WINDOW)).astimezone(UTC)
    assert f"not-sent at {deadline:%Y-%m-%d %H:%M:%S} UTC" in (early.error or "")
    assert ledger.get(key).status == DeliveryStatus.UNKNOWN

    # Found at no provider over the window: not-sent, with the reason.
    later = datetime.now(UTC) + timedelta(seconds=WINDOW + 1)
    (moved,) = follow_up(
        [ledger.get(key)], ledger=ledger, chain=chain, now=lambda: later, not_sent_after=WINDOW
    )
    assert (moved.before, moved.after) == ("unknown", "not-sent")
    record = ledger.get(key)
    assert record.status == DeliveryStatus.NOT_SENT and "found at no provider" in (record.error or "")
    assert sum(live_targets(sandbox).values()) == 0

    # The plan creates it again; the next publish looks it up once more, then sends it: once.
    plan = make_plan("live", deliveries("never stored"), ledger, later)
    assert [c.action for c in plan.changes] == [Action.CREATE]
    fresh = chain_of(sandbox, ("postforme", "late"))
    (again,) = publish_batch(deliveries("never stored"), ledger=ledger, chain=fresh, owner="run-2")
    assert (again.action, again.status) == ("sent", "posted")
    assert fresh.link("postforme:sandbox").provider.posting() == [("lookup", "absent"), ("create", "ok")]  # type: ignore[attr-defined]
    assert live_targets(sandbox)[("never stored", "twitter")] == 1


def test_a_stored_unknown_is_found_and_adopted_never_not_sent(sandbox: Sandbox, ledger: SqliteLedger) -> None:
    stored = FaultRule(kind="status", status=500, after_store=True, ops=("create",), count=1)
    key = _unknown_after(sandbox, ledger, "stored after all", stored)
    chain = chain_of(sandbox, ("postforme", "late"))
    later = datetime.now(UTC) + timedelta(seconds=WINDOW + 1)
    (report,) = follow_up(
        [ledger.get(key)], ledger=ledger, chain=chain, now=lambda: later, not_sent_after=WINDOW
    )
    assert report.after in ("posted", "scheduled")
    assert ledger.get(key).status != DeliveryStatus.NOT_SENT
    (again,) = publish_batch(deliveries("stored after all"), ledger=ledger, chain=chain, owner="run-2")
    assert again.action == "unchanged"
    assert live_targets(sandbox)[("stored after all", "twitter")] == 1


def test_a_not_sent_delivery_found_at_the_last_lookup_is_adopted_not_sent_twice(
    sandbox: Sandbox, ledger: SqliteLedger
) -> None:
    """The lookup right before sending is what keeps a late-stored post from going out twice."""
    key = _unknown_after(
        sandbox, ledger, "late store", FaultRule(kind="status", status=503, ops=("create",), count=1)
    )
    chain = chain_of(sandbox, ("postforme", "late"))
    later = datetime.now(UTC) + timedelta(seconds=WINDOW + 1)
    follow_up([ledger.get(key)], ledger=ledger, chain=chain, now=lambda: later, not_sent_after=WINDOW)
    assert ledger.get(key).status == DeliveryStatus.NOT_SENT
    # Meanwhile a post with its post key appeared at the provider (the key is the same whoever sends it).
    (first,) = publish_batch(
        deliveries("late store"),
        ledger=SqliteLedger(ledger.path.with_name("other.db")),
        chain=chain,
        owner="x",
    )
    assert first.status == "posted"
    (again,) = publish_batch(deliveries("late store"), ledger=ledger, chain=chain, owner="run-2")
    assert (again.action, again.status) == ("recovered", "posted")
    assert live_targets(sandbox)[("late store", "twitter")] == 1
