"""200 deliveries (50 batches × 4 platforms) through the real publisher, a real SQLite ledger and both
simulators, with faults of every kind on about 30% of them (tests/fault_plans/chaos.yaml).

Afterwards: no delivery is live twice anywhere (counted in the simulators), no post key was stored twice
at a provider, and every delivery is final (posted, failed) or `unknown`, each with its reason."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from postdeck.chain_factory import build_chain, close_chain, sandbox_links
from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.chain import RetryPolicy
from postdeck.sandbox.faults import load_plans
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox
from postdeck.schemas.deliveries import Delivery

pytestmark = pytest.mark.slow  # left out of `make test-fast`

PLANS = Path(__file__).parents[1] / "fault_plans"
PLATFORMS = (Platform.TWITTER, Platform.LINKEDIN, Platform.BLUESKY, Platform.INSTAGRAM)
BATCHES = 50
ALL_KINDS = {"latency", "status", "throttle", "timeout", "reset", "partial", "disconnect", "down"}


def test_200_deliveries_with_faults_of_every_kind_end_exactly_once_or_unknown(tmp_path: Path) -> None:
    started = time.monotonic()
    box = start_sandbox(tmp_path / "box", persist=False, faults=load_plans(PLANS / "chaos.yaml"))
    ledger = SqliteLedger(tmp_path / "ledger.db")
    links = sandbox_links(
        box.postforme_url,
        box.late_url,
        postforme_key=SANDBOX_POSTFORME_KEY,
        late_key=SANDBOX_LATE_KEY,
        timeout=httpx.Timeout(0.4, connect=1.0),
    )
    chain = build_chain(
        links,
        ledger,
        retry=RetryPolicy(settle_before_lookup=0.05, backoff_initial=0.02, backoff_max=0.1),
        breaker=CircuitBreaker(threshold=4, cooldown=0.5),
        pending_poll_seconds=5.0,
    )
    try:
        reports = []
        for n in range(BATCHES):
            batch = f"b{n:02d}"
            deliveries = [
                Delivery(
                    str(DeliveryKey("chaos", batch, p)), "chaos", batch, p, f"Chaos batch {n:02d}", (), None
                )
                for p in PLATFORMS
            ]
            reports += publish_batch(deliveries, ledger=ledger, chain=chain, owner="run-1")
        live = Counter(
            (row["caption"], row["platform"])
            for row in box.postforme.targets() + box.late.targets()
            if row["status"] in ("published", "pending")
        )
        stats = {"postforme": box.postforme.stats(), "late": box.late.stats()}
    finally:
        close_chain(chain)
        box.stop()

    assert len(reports) == BATCHES * len(PLATFORMS) == 200
    records = ledger.deliveries("chaos")
    assert len(records) == 200
    statuses = Counter(str(r.status) for r in records)
    for record in records:
        caption = f"Chaos batch {record.batch_id[1:]}"
        copies = live[(caption, record.platform)]
        assert copies <= 1, f"{record.key} is live {copies} times"
        assert record.status in (DeliveryStatus.POSTED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN), record
        if record.status == DeliveryStatus.POSTED:
            assert copies == 1 and record.url and record.provider in ("postforme", "late")
        else:
            assert record.error, f"{record.key} is {record.status} without a reason"
        if record.status == DeliveryStatus.FAILED:
            assert copies == 0
    assert max(stats["postforme"]["creates_by_external_id"].values()) == 1
    assert max(stats["late"]["creates_by_post_key"].values()) == 1

    fired = Counter(stats["postforme"]["faults_fired"]) + Counter(stats["late"]["faults_fired"])
    assert set(fired) == ALL_KINDS, fired
    by_op = Counter(stats["postforme"]["faults_fired_ops"]) + Counter(stats["late"]["faults_fired_ops"])
    on_creates = sum(
        n for key, n in by_op.items() if key.endswith(":create") and not key.startswith("latency")
    )
    # A fault on a create hits every delivery it carries; a failed target, one delivery.
    hit = on_creates * len(PLATFORMS) + by_op["partial:publish"]
    assert hit >= 0.3 * len(reports), by_op
    assert statuses["posted"] >= 170, statuses  # most get through, failing over where they can
    assert time.monotonic() - started < 60
    print(f"\nstatuses {dict(statuses)}; faults fired {dict(fired)}; {time.monotonic() - started:.1f}s")
