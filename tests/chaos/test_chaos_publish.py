"""1,000 deliveries (250 batches × 4 platforms) published by a worker process that is SIGKILLed at three
seeded points and started again each time, with faults of every kind on about 30% of the deliveries
(tests/fault_plans/chaos.yaml) and the ledger unavailable for a stretch (a kill lands inside it).

Afterwards, counted in the simulators over their HTTP APIs: no delivery live twice, no post key stored
twice; every delivery has an outcome (posted, failed, or unknown with its reason); the journal is
empty; and the ledger agrees with the simulators delivery by delivery.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.journal import Journal
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.faults import load_plans
from postdeck.sandbox.sandbox import Sandbox, start_sandbox
from tests.chaos.campaign import PLATFORMS, REPO, expected_keys, write_campaign
from tests.chaos.census import admin, late_targets, live_count, postforme_targets, stored_twice
from tests.chaos.settle import follow_up_open
from tests.chaos.workers import LedgerOutage, Worker, start_worker, wait_until, worker_env

SEED = 20261122
BATCHES = 250
PLAN = REPO / "tests" / "fault_plans" / "chaos.yaml"
ALL_KINDS = {"latency", "status", "throttle", "timeout", "reset", "partial", "disconnect", "down"}
OUTAGE_SECONDS = 2.5
WORKER = {"threads": 4, "lease": 3.0, "deadline": 150.0}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path / "box", persist=False, faults=load_plans(PLAN))
    sandbox.late.rate_limit = 1_000_000  # LATE's own per-minute limit is not what this test is about
    yield sandbox
    sandbox.stop()


def creates(box: Sandbox) -> int:
    """Creates that reached either simulator so far: the progress the kill points are chosen on."""
    return box.postforme.create_calls + box.late.create_calls


@pytest.mark.timeout(280)
def test_1000_deliveries_through_kills_faults_and_a_ledger_outage_end_exactly_once(
    tmp_path: Path, box: Sandbox
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    first, second = sorted(rng.sample(range(25, 160), 2))
    outage_at = second + rng.randint(20, 50)  # creates; the third kill lands inside the outage
    third_after = rng.uniform(0.5, OUTAGE_SECONDS - 0.8)  # seconds into it

    campaign = write_campaign(tmp_path / "campaign", BATCHES)
    ledger_path, journal_path = tmp_path / "ledger" / "ledger.db", tmp_path / "journal" / "journal.jsonl"
    SqliteLedger(ledger_path)  # the file exists before the first worker: it is what the outage takes
    env = worker_env(ledger_path, journal_path, box.postforme_url, box.late_url)
    outage = LedgerOutage(ledger_path.parent)
    workers: list[Worker] = []

    def start(owner: str) -> Worker:
        workers.append(start_worker(campaign, owner, env, tmp_path / "logs", **WORKER))
        return workers[-1]

    try:
        for owner, kill_at in (("run-1", first), ("run-2", second)):
            worker = start(owner)
            assert wait_until(lambda n=kill_at: creates(box) >= n, worker, 90), worker.output()
            worker.kill()
        worker = start("run-3")
        assert wait_until(lambda: creates(box) >= outage_at, worker, 90), worker.output()
        outage.start()
        time.sleep(third_after)
        worker.kill()
        last = start("run-4")  # starts while the ledger is still away: it waits for it
        time.sleep(OUTAGE_SECONDS - third_after)
        # However slowly it starts, it must have met the outage before the ledger comes back.
        assert wait_until(lambda: "ledger-unavailable" in last.output(), last, 60), last.output()
        outage.restore()
        code = last.process.wait(timeout=WORKER["deadline"] + 10)
    finally:
        for worker in workers:
            if worker.alive():
                worker.kill()
    assert code == 0, last.output()
    assert [w.killed for w in workers] == [True, True, True, False]
    run_seconds = time.monotonic() - started

    # What the faults did, before the plans are cleared for the count.
    roots = {"postforme": box.postforme_url, "late": box.late_server.url}
    fired = {name: admin(root, "/_sim/faults") for name, root in roots.items()}
    for root in roots.values():
        admin(root, "/_sim/faults", {})
    box.postforme_server.set_down(False)
    box.late_server.set_down(False)

    assert Journal(journal_path).pending() == []  # every journaled outcome reached the ledger
    ledger = SqliteLedger(ledger_path)
    before = Counter(str(r.status) for r in ledger.deliveries("chaos"))
    followed = follow_up_open(ledger, box)
    records = {r.key: r for r in ledger.deliveries("chaos")}
    after = Counter(str(r.status) for r in records.values())

    targets = postforme_targets(box.postforme_url) + late_targets(box.late_url)
    # The HTTP count and the simulators' own books say the same.
    assert sorted(map(tuple, (vars(t).values() for t in targets))) == sorted(
        tuple(row.values()) for row in box.postforme.targets() + box.late.targets()
    )
    live = live_count(targets)
    twice = stored_twice(box.postforme_url, box.late_server.url)
    expected = expected_keys(BATCHES)
    by_post = {(t.provider, t.post_id, t.caption, t.platform): t for t in targets}

    duplicates = {k: n for k, n in live.items() if n > 1}
    lost = sorted(set(expected) - set(records))
    disagree: list[str] = []
    for key, (caption, platform) in expected.items():
        record = records.get(key)
        if record is None:
            continue
        copies = live[(caption, platform)]
        if record.status == DeliveryStatus.POSTED:
            target = by_post.get((record.provider, record.provider_post_id, caption, platform))
            if copies != 1 or target is None or target.status != "published" or not record.url:
                disagree.append(f"{key}: posted in the ledger, {copies} live, ledger's post {target}")
        elif record.status == DeliveryStatus.FAILED:
            if copies != 0 or not record.error:
                disagree.append(f"{key}: failed in the ledger ({record.error}), {copies} live")
        elif record.status == DeliveryStatus.UNKNOWN:
            if copies > 1 or not record.error:
                disagree.append(f"{key}: unknown in the ledger ({record.error}), {copies} live")
        else:
            lost.append(f"{key}: {record.status}")
    # And nothing is live at a provider that the ledger does not know of.
    known = {(c, p) for c, p in expected.values()}
    strays = [
        t for t in targets if t.status in ("published", "pending") and (t.caption, t.platform) not in known
    ]

    actions = Counter[str]()
    for worker in workers:
        for line in worker.output().splitlines():
            if line.startswith("{") and '"actions"' in line:
                actions.update(json.loads(line)["actions"])

    kinds = Counter[str]()
    by_op = Counter[str]()
    for snapshot in fired.values():
        kinds.update(snapshot["fired"])
        by_op.update(snapshot["fired_ops"])
    on_creates = sum(n for op, n in by_op.items() if op.endswith(":create") and not op.startswith("latency"))
    hit = on_creates * len(PLATFORMS) + by_op["partial:publish"]

    print(
        f"\nchaos: {len(expected)} deliveries in {run_seconds:.1f}s; kills at creates {first}, {second} and "
        f"{third_after:.1f}s into the ledger outage (from create {outage_at}, "
        f"{outage.windows[0][1] - outage.windows[0][0]:.1f}s)"
        f"\n  ledger before follow-up {dict(before)}; after {dict(after)} ({followed} followed up)"
        f"\n  duplicates {len(duplicates)}; post keys stored twice {len(twice)}; lost {len(lost)}; "
        f"disagreements {len(disagree)}; strays {len(strays)}"
        f"\n  provider targets {Counter(t.status for t in targets)}; faults fired {dict(kinds)}; "
        f"deliveries hit ~{hit} ({hit / len(expected):.0%})\n  publish actions over all runs {dict(actions)}"
    )
    assert duplicates == {} and twice == {}
    assert lost == []
    assert disagree == [], disagree[:10]
    assert strays == []
    assert set(kinds) == ALL_KINDS, kinds
    assert hit >= 0.3 * len(expected), by_op
    assert after["posted"] >= 0.8 * len(expected), after
    assert actions["held"] + actions["recovered"] > 0, actions  # the kills left claims to take over


def test_the_http_census_reads_what_a_client_sees(box: Sandbox) -> None:
    """The census sees a post made through the vendor API, as the simulators' own books do."""
    for root in (box.postforme_url, box.late_server.url):
        admin(root, "/_sim/faults", {})
    account = box.late.account("bluesky")
    with httpx.Client(headers={"Authorization": "Bearer sandbox-late-key"}) as client:
        client.post(
            box.late_url + "/v1/posts",
            json={
                "content": "census",
                "publishNow": True,
                "platforms": [{"platform": "bluesky", "accountId": account["_id"]}],
            },
        ).raise_for_status()
    assert [(t.caption, t.platform, t.status) for t in late_targets(box.late_url)] == [
        ("census", "bluesky", "published")
    ]
    assert postforme_targets(box.postforme_url) == []
