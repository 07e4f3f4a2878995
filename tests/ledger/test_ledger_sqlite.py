from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.records import ClaimRequest, ClaimState
from postdeck.ledger.sqlite import SqliteLedger

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def request(key: str = "c/a/twitter") -> ClaimRequest:
    campaign, batch, platform = key.split("/")
    return ClaimRequest(key, campaign, batch, platform, "content", "schedule", "caption", None)


def test_claim_is_insert_if_absent_and_final_states_are_never_claimed_again(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    assert ledger.claim(request(), owner="run-1", lease_seconds=60, now=NOW).state == ClaimState.CLAIMED
    assert ledger.claim(request(), owner="run-2", lease_seconds=60, now=NOW).state == ClaimState.HELD
    ledger.record(
        "c/a/twitter",
        Outcome(DeliveryStatus.POSTED, provider="postforme", url="https://x"),
        owner="run-1",
        now=NOW,
    )
    claim = ledger.claim(request(), owner="run-2", lease_seconds=60, now=NOW + timedelta(hours=1))
    assert claim.state == ClaimState.DONE and claim.record.url == "https://x"


def test_an_expired_lease_is_recovered_with_what_the_dead_owner_attempted(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    ledger.claim(request(), owner="dead", lease_seconds=60, now=NOW)
    ledger.note_attempt(["c/a/twitter"], owner="dead", provider="postforme:global", post_key="pd_1")
    claim = ledger.claim(request(), owner="new", lease_seconds=60, now=NOW + timedelta(seconds=61))
    assert claim.state == ClaimState.RECOVERED
    assert claim.record.owner == "new" and claim.record.post_key == "pd_1"
    assert claim.record.attempted_providers == ("postforme:global",) and claim.record.attempts == 2


def test_states_never_move_backwards(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    ledger.claim(request(), owner="run", lease_seconds=60, now=NOW)
    ledger.record("c/a/twitter", Outcome(DeliveryStatus.POSTED), owner="run", now=NOW)
    with pytest.raises(LedgerError, match="cannot move from posted to scheduled"):
        ledger.record("c/a/twitter", Outcome(DeliveryStatus.SCHEDULED), owner="run", now=NOW)


def test_another_runs_claim_cannot_be_recorded_over(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    ledger.claim(request(), owner="run-1", lease_seconds=60, now=NOW)
    with pytest.raises(LedgerError, match="claimed by another run"):
        ledger.record("c/a/twitter", Outcome(DeliveryStatus.POSTED), owner="run-2", now=NOW)
    with pytest.raises(LedgerError, match="not claimed by"):
        ledger.note_attempt(["c/a/twitter"], owner="run-2", provider="late:global", post_key="k")


def _claim_many(path: str, owner: str, queue) -> None:
    ledger = SqliteLedger(path)
    won = [
        key
        for i in range(40)
        if ledger.claim(request(f"c/b{i}/twitter"), owner=owner, lease_seconds=600, now=NOW).state
        == ClaimState.CLAIMED
        for key in [f"c/b{i}/twitter"]
    ]
    queue.put(won)


def test_two_processes_claiming_the_same_keys_win_each_key_once(tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    SqliteLedger(path)
    queue = multiprocessing.get_context("spawn").Queue()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_claim_many, args=(path, f"p{i}", queue)) for i in range(2)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sorted(results[0] + results[1]) == sorted(f"c/b{i}/twitter" for i in range(40))
    assert not set(results[0]) & set(results[1])


def test_unwritable_ledger_is_a_ledger_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        SqliteLedger(blocker / "l.db")
