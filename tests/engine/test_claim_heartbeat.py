"""Claims carry the live run's heartbeat (issue 18, finding 2): a live run's claims stay held past
their first lease; a dead run's are taken over once its heartbeat timeout has passed (a short
setting here), by the real CLI against the simulators; and the CLI says when that will be."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.engine.heartbeat import keep_alive
from postdeck.engine.publisher import claim_request
from postdeck.ledger.records import ClaimState
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign
from tests.flows.test_flow_publish import _cli_publish

CAMPAIGN = (
    "name: {name}\ntimezone: UTC\nbatches:\n  - {{id: hello, platforms: [bluesky], caption: Hi {name}}}\n"
)


def _wait_for(condition, limit: float = 10.0) -> None:
    """Poll (briefly) until `condition()` holds; fail after `limit` seconds. Asserts no timing."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def test_a_live_runs_heartbeat_keeps_its_claims_held_past_their_first_lease(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    delivery = Delivery(
        str(DeliveryKey("c", "a", Platform.TWITTER)), "c", "a", Platform.TWITTER, "hi", (), None
    )
    claimed_at = datetime.now(UTC)
    ledger.claim(claim_request(delivery), owner="alive", lease_seconds=0.3, now=claimed_at)
    with keep_alive(ledger, "alive", timeout=0.3, now=lambda: datetime.now(UTC)) as beat:
        _wait_for(lambda: beat.beats >= 2)
        lease = ledger.get(delivery.key).lease_until
        assert lease is not None and lease > claimed_at + timedelta(seconds=0.3)
        other = ledger.claim(
            claim_request(delivery), owner="next", lease_seconds=60, now=lease - timedelta(seconds=0.01)
        )
        assert other.state == ClaimState.HELD
    # Stopped (the run ended or died): past its last lease, the claim is taken over.
    last = ledger.get(delivery.key).lease_until
    assert last is not None
    later = ledger.claim(
        claim_request(delivery), owner="next", lease_seconds=60, now=last + timedelta(seconds=1)
    )
    assert later.state == ClaimState.RECOVERED


def test_two_batches_of_one_run_share_one_heartbeat(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    clock = lambda: datetime.now(UTC)  # noqa: E731
    with (
        keep_alive(ledger, "run", timeout=60, now=clock) as first,
        keep_alive(ledger, "run", timeout=60, now=clock) as second,
    ):
        assert first is second
    with keep_alive(ledger, "run", timeout=60, now=clock) as third:
        assert third is not first  # the last batch stopped it; a new block starts another


@pytest.mark.usefixtures("prefect_api")
def test_a_dead_runs_claim_is_taken_over_after_the_heartbeat_timeout_and_sent_once(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT", "5")
    path = tmp_path / "crashed.yaml"
    path.write_text(CAMPAIGN.format(name="crashed"))
    (delivery,) = expand(load_campaign(path))
    # A run claimed it, then died before any create: its last heartbeat was 6 s ago.
    SqliteLedger().claim(
        claim_request(delivery),
        owner="flow-run:dead",
        lease_seconds=5,
        now=datetime.now(UTC) - timedelta(seconds=6),
    )
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 0
    assert box.postforme.create_calls + box.late.create_calls == 1
    record = SqliteLedger().get(delivery.key)
    assert record.status == "posted" and record.attempts == 2


@pytest.mark.usefixtures("prefect_api")
def test_the_cli_says_when_a_held_delivery_will_be_taken_over(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "held.yaml"
    path.write_text(CAMPAIGN.format(name="held"))
    (delivery,) = expand(load_campaign(path))
    claimed = SqliteLedger().claim(
        claim_request(delivery), owner="flow-run:other", lease_seconds=60, now=datetime.now(UTC)
    )
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 1
    out = " ".join(capsys.readouterr().out.split())  # the table wraps its cells
    at = claimed.record.lease_until.astimezone(UTC)
    assert "claimed by flow-run:other" in out and f"taken over at {at:%Y-%m-%d %H:%M:%S} UTC" in out
    assert box.postforme.create_calls + box.late.create_calls == 0


def _flow_run_in(state_name: str) -> str:
    """A flow run in the test Prefect API, put in the state named; its claim owner string."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed, Running

    @flow(name="liveness-owner")
    def owner_flow() -> None: ...

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(owner_flow, state=Running())
        if state_name == "crashed":
            client.set_flow_run_state(run.id, Crashed(), force=True)
    return f"flow-run:{run.id}"


@pytest.mark.usefixtures("prefect_api")
def test_a_run_prefect_says_crashed_has_its_claims_taken_over_at_once(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed, running = _flow_run_in("crashed"), _flow_run_in("running")
    path = tmp_path / "two.yaml"
    path.write_text(
        "name: two\ntimezone: UTC\nbatches:\n"
        "  - {id: dead, platforms: [bluesky], caption: From a crashed run}\n"
        "  - {id: live, platforms: [bluesky], caption: From a running run}\n"
    )
    dead_one, live_one = expand(load_campaign(path))
    now = datetime.now(UTC)
    ledger = SqliteLedger()
    ledger.claim(claim_request(dead_one), owner=crashed, lease_seconds=600, now=now)
    ledger.claim(claim_request(live_one), owner=running, lease_seconds=600, now=now)

    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 1  # the running run's claim is held
    assert ledger.get(dead_one.key).status == "posted"  # taken over at once, not in 10 minutes
    held = ledger.get(live_one.key)
    assert (held.status, held.owner) == ("claimed", running)
    assert box.postforme.create_calls + box.late.create_calls == 1


def test_only_a_crashed_owner_has_its_leases_ended(tmp_path: Path) -> None:
    from postdeck.flows.crashed import expire_crashed_claims

    ledger = SqliteLedger(tmp_path / "ledger.db")
    now = datetime.now(UTC)
    for batch, owner in (("a", "flow-run:dead"), ("b", "flow-run:alive"), ("c", "process:1")):
        d = Delivery(
            str(DeliveryKey("c", batch, Platform.TWITTER)), "c", batch, Platform.TWITTER, "hi", (), None
        )
        ledger.claim(claim_request(d), owner=owner, lease_seconds=600, now=now)
    asked: list[str] = []
    dead = expire_crashed_claims(ledger, "c", now, crashed=lambda o: asked.append(o) or o == "flow-run:dead")
    assert dead == ["flow-run:dead"] and sorted(asked) == ["flow-run:alive", "flow-run:dead", "process:1"]
    assert ledger.get("c/a/twitter").lease_until == now
    assert ledger.get("c/b/twitter").lease_until == now + timedelta(seconds=600)
