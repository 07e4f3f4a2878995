"""Nothing is lost when the database goes down mid-run: outcomes are journaled, then flushed once."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.core.keys import DeliveryKey
from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.base import LedgerRefused, LedgerUnavailable
from postdeck.ledger.journal import Journal, JournaledLedger, flush_journal, replay
from postdeck.ledger.records import ClaimRequest
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.providers.chain import Chain, Link
from postdeck.schemas.deliveries import Delivery
from tests.fakes import FakeProvider
from tests.ledger_fixtures.postgrest import PostgrestEmulator

pytest_plugins = ["tests.pg"]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
USER = "00000000-0000-4000-8000-0000000000a1"
SERVICE_KEY = "test-service-role-key"


@dataclass
class Outage:
    """A ledger backend whose database the test can take away and give back."""

    backend: Any
    kill: Any
    restore: Any


@pytest.fixture(params=["sqlite", pytest.param("supabase", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    if request.param == "sqlite":
        # The file's directory disappears (chmod 000 would not stop root): every open now fails.
        home, away = tmp_path / "db", tmp_path / "db-away"
        yield Outage(SqliteLedger(home / "ledger.db"), lambda: home.rename(away), lambda: away.rename(home))
        return
    emulator = PostgrestEmulator(request.getfixturevalue("pg_dsn"), service_key=SERVICE_KEY)
    client = httpx.Client(transport=httpx.MockTransport(emulator))
    backend = SupabaseLedger("http://supabase.test", SERVICE_KEY, http_client=client)
    yield Outage(backend, lambda: setattr(emulator, "down", True), lambda: setattr(emulator, "down", False))


def batch(batch_id: str = "a") -> list[Delivery]:
    return [
        Delivery(
            str(DeliveryKey("c", batch_id, p, owner=USER)), "c", batch_id, p, "hello", (), None, owner=USER
        )
        for p in (Platform.TWITTER, Platform.LINKEDIN)
    ]


def history_rows(backend: Any) -> list[tuple[str, str]]:
    return sorted((p.provider, p.provider_post_id) for p in backend.get_post_history(USER, limit=1000))


def test_a_database_lost_mid_run_loses_no_outcome_and_the_flush_writes_each_once(
    outage: Outage, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    ledger = JournaledLedger(outage.backend, journal)
    provider = FakeProvider("first", before_create=lambda _request: outage.kill())  # down while posting
    chain = Chain([Link("first:g", provider)])

    reports = publish_batch(batch(), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW)
    assert [(r.action, r.status) for r in reports] == [("sent", "posted")] * 2
    assert all("safe in the journal" in r.error for r in reports)
    assert len(journal.pending()) == 3  # two outcomes and the provider post's history row

    # Still down: the next run claims nothing, so it sends nothing; the flush at its start writes nothing.
    assert flush_journal(ledger) == 0
    again = publish_batch(batch(), ledger=ledger, chain=chain, owner="run-2", now=lambda: NOW)
    assert {r.action for r in again} == {"not-sent"} and len(provider.creates) == 1

    outage.restore()
    assert flush_journal(ledger) == 3
    for delivery in batch():
        record = outage.backend.get(delivery.key)
        assert (record.status, record.provider, record.owner) == ("posted", "first", "run-1")
        assert record.url == f"https://{delivery.platform}.test/first-post-1"
    assert history_rows(outage.backend) == [("first", "first-post-1")]
    assert flush_journal(ledger) == 0 and not journal.path.exists()

    provider.before_create = None
    later = publish_batch(
        batch(), ledger=ledger, chain=chain, owner="run-3", now=lambda: NOW + timedelta(hours=1)
    )
    assert {r.action for r in later} == {"unchanged"} and len(provider.creates) == 1
    assert history_rows(outage.backend) == [("first", "first-post-1")]


def test_an_outcome_is_journaled_before_the_ledger_is_written(tmp_path: Path) -> None:
    backend = SqliteLedger(tmp_path / "ledger.db")
    ledger = JournaledLedger(backend, Journal(tmp_path / "journal.jsonl"))
    backend.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)

    class Crash(BaseException):
        pass

    def crash(*_args, **_kwargs):
        raise Crash  # the worker dies between the journal line and the ledger write

    backend.record_many, original = crash, backend.record_many
    with pytest.raises(Crash):
        ledger.record("c/a/twitter", Outcome(DeliveryStatus.POSTED, provider="late"), owner="run", now=NOW)
    backend.record_many = original
    assert backend.get("c/a/twitter").status == "claimed"
    assert replay(ledger).applied == 1 and backend.get("c/a/twitter").status == "posted"


def test_a_replay_never_moves_a_delivery_backwards(tmp_path: Path) -> None:
    backend = SqliteLedger(tmp_path / "ledger.db")
    journal = Journal(tmp_path / "journal.jsonl")
    backend.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    # An outcome journaled while the database was down; meanwhile another run settled the delivery.
    _journal_record(journal, backend, "c/a/twitter", Outcome(DeliveryStatus.FAILED, error="late said no"))
    backend.record("c/a/twitter", Outcome(DeliveryStatus.POSTED, url="https://x.test/1"), owner=None, now=NOW)

    report = replay(backend, journal)
    assert report.applied == 0 and len(report.refused) == 1 and "posted to failed" in report.refused[0]
    assert backend.get("c/a/twitter").status == "posted" and backend.get("c/a/twitter").error is None
    assert journal.pending() == []


def test_a_replay_of_an_outcome_the_ledger_already_has_changes_nothing(tmp_path: Path) -> None:
    backend = SqliteLedger(tmp_path / "ledger.db")
    journal = Journal(tmp_path / "journal.jsonl")
    backend.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    outcome = Outcome(DeliveryStatus.SCHEDULED, provider="late", provider_post_id="p1")
    _journal_record(journal, backend, "c/a/twitter", outcome)
    backend.record("c/a/twitter", outcome, owner="run", now=NOW)  # written, but the settle line was lost
    before = backend.get("c/a/twitter")

    report = replay(backend, journal)
    assert (report.applied, report.already) == (0, 1) and backend.get("c/a/twitter") == before


def test_entries_of_another_ledger_and_a_torn_line_are_left_alone(tmp_path: Path) -> None:
    backend = SqliteLedger(tmp_path / "ledger.db")
    journal = Journal(tmp_path / "journal.jsonl")
    backend.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    journal.append({"op": "record", "ledger": "supabase:https://elsewhere.test", "key": "x/y/z"})
    _journal_record(journal, backend, "c/a/twitter", Outcome(DeliveryStatus.POSTED))
    with open(journal.path, "a") as handle:
        handle.write('{"id": "torn", "op": "rec')  # the process died while writing this line

    report = replay(backend, journal)
    assert (report.applied, report.other_ledgers) == (1, 1)
    assert [e["key"] for e in journal.pending()] == ["x/y/z"]  # kept for the ledger it belongs to


def test_outcomes_journaled_by_many_threads_all_arrive(tmp_path: Path) -> None:
    home = tmp_path / "db"
    backend = SqliteLedger(home / "ledger.db")
    ledger = JournaledLedger(backend, Journal(tmp_path / "journal.jsonl"))
    keys = [f"c/b{i}/twitter" for i in range(48)]
    for key in keys:
        backend.claim(_request(key), owner="run", lease_seconds=60, now=NOW)
    home.rename(tmp_path / "away")
    failures: list[Exception] = []

    def record(chunk: list[str]) -> None:
        for key in chunk:
            try:
                ledger.record(key, Outcome(DeliveryStatus.POSTED), owner="run", now=NOW)
            except LedgerUnavailable as exc:
                failures.append(exc)

    threads = [threading.Thread(target=record, args=(keys[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(failures) == len(keys)
    (tmp_path / "away").rename(home)
    assert flush_journal(ledger) == len(keys)
    assert {backend.get(k).status for k in keys} == {"posted"}


def test_claims_and_attempts_are_never_journaled_they_fail(tmp_path: Path) -> None:
    home = tmp_path / "db"
    ledger = JournaledLedger(SqliteLedger(home / "ledger.db"), Journal(tmp_path / "journal.jsonl"))
    ledger.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    home.rename(tmp_path / "away")
    with pytest.raises(LedgerUnavailable):
        ledger.claim(_request("c/a/linkedin"), owner="run", lease_seconds=60, now=NOW)
    with pytest.raises(LedgerUnavailable):
        ledger.note_attempt(["c/a/twitter"], owner="run", provider="late:g", post_key="pd")
    assert ledger.cached_media_url("0" * 64, "late:g") is None  # a cache miss only costs an upload
    assert ledger.cached_accounts("late:g", listed_after=NOW) is None  # ...and this one a listing
    ledger.cache_accounts("late:g", [], now=NOW)  # not kept, and no error: the list is asked for again
    ledger.forget_accounts("late:g")
    ledger.forget_accounts_at("late")
    assert not ledger.journal.path.exists()


def test_a_refused_outcome_is_not_kept_for_replay(tmp_path: Path) -> None:
    backend = SqliteLedger(tmp_path / "ledger.db")
    ledger = JournaledLedger(backend, Journal(tmp_path / "journal.jsonl"))
    with pytest.raises(LedgerRefused, match="never claimed"):
        ledger.record("c/a/twitter", Outcome(DeliveryStatus.POSTED), owner="run", now=NOW)
    assert ledger.journal.pending() == []


def test_ledger_flush_and_status_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.setenv("POSTDECK_LEDGER", str(tmp_path / "db" / "ledger.db"))
    monkeypatch.setenv("POSTDECK_JOURNAL", str(tmp_path / "journal.jsonl"))
    backend = SqliteLedger()
    backend.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    _journal_record(Journal(), backend, "c/a/twitter", Outcome(DeliveryStatus.POSTED))
    runner = CliRunner()

    status = runner.invoke(app, ["ledger", "status"])
    assert status.exit_code == 0 and "1 claimed" in status.output and "1 outcomes waiting" in status.output
    flushed = runner.invoke(app, ["ledger", "flush"])
    assert flushed.exit_code == 0 and "1 outcomes written" in flushed.output
    assert backend.get("c/a/twitter").status == "posted"
    assert "0 outcomes waiting" in runner.invoke(app, ["ledger", "status"]).output


def test_ledger_flush_fails_while_the_database_is_still_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    home = tmp_path / "db"
    monkeypatch.setenv("POSTDECK_LEDGER", str(home / "ledger.db"))
    monkeypatch.setenv("POSTDECK_JOURNAL", str(tmp_path / "journal.jsonl"))
    backend = SqliteLedger()
    backend.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    _journal_record(Journal(), backend, "c/a/twitter", Outcome(DeliveryStatus.POSTED))
    (home / "ledger.db").write_bytes(b"not a database")  # the ledger is there but unusable

    result = CliRunner().invoke(app, ["ledger", "flush"])
    assert isinstance(result.exception, LedgerUnavailable) and "ledger.db" in str(result.exception)
    assert len(Journal().pending()) == 1


def test_a_ledger_that_lost_its_deliveries_does_not_swallow_journaled_outcomes(tmp_path: Path) -> None:
    """A recreated (empty) ledger cannot take these outcomes; dropping them would lose them for good."""
    journal = Journal(tmp_path / "journal.jsonl")
    old = SqliteLedger(tmp_path / "old.db")
    old.claim(_request("c/a/twitter"), owner="run", lease_seconds=60, now=NOW)
    _journal_record(journal, old, "c/a/twitter", Outcome(DeliveryStatus.POSTED))
    old.path.unlink()
    fresh = SqliteLedger(old.path)

    report = replay(fresh, journal)
    assert (report.applied, report.missing, report.refused) == (0, 1, [])
    assert len(journal.pending()) == 1


def _request(key: str) -> ClaimRequest:
    campaign, batch_id, platform = key.split("/")
    return ClaimRequest(key, campaign, batch_id, platform, "content", "schedule", "caption", None)


def _journal_record(journal: Journal, backend: Any, key: str, outcome: Outcome) -> None:
    from dataclasses import asdict

    journal.append(
        {
            "op": "record",
            "ledger": backend.ident,
            "key": key,
            "outcome": asdict(outcome),
            "owner": "run",
            "now": NOW.isoformat(),
        }
    )


def test_journal_lines_are_plain_json_with_iso_times(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append({"op": "social_post", "ledger": "sqlite:x", "row": {"id": "1", "scheduled_for": NOW}})
    [line] = journal.path.read_text().splitlines()
    assert json.loads(line)["row"]["scheduled_for"] == "2030-01-01T12:00:00+00:00"


def test_a_batch_of_outcomes_is_journaled_with_one_fsync_and_settled_item_by_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = SqliteLedger(tmp_path / "ledger.db")
    journal = Journal(tmp_path / "journal.jsonl")
    ledger = JournaledLedger(backend, journal)
    for key in ("c/a/twitter", "c/a/linkedin", "c/a/bluesky"):
        backend.claim(_request(key), owner="run", lease_seconds=60, now=NOW)
    backend.record("c/a/bluesky", Outcome(DeliveryStatus.POSTED), owner="run", now=NOW)
    journal.append({"op": "note", "ledger": "elsewhere"})  # the file exists: no directory fsync below
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])

    results = ledger.record_many(
        [
            ("c/a/twitter", Outcome(DeliveryStatus.POSTED, provider="first")),
            ("c/a/linkedin", Outcome(DeliveryStatus.FAILED, error="too long")),
            ("c/a/bluesky", Outcome(DeliveryStatus.SCHEDULED)),  # posted → scheduled: backwards
            ("c/a/never", Outcome(DeliveryStatus.POSTED)),
        ],
        owner="run",
        now=NOW,
    )
    assert len(synced) == 1  # four journal lines, one fsync
    assert [getattr(r, "status", None) for r in results[:2]] == ["posted", "failed"]
    assert all(isinstance(r, LedgerRefused) for r in results[2:])
    assert "cannot move from posted to scheduled" in str(results[2]) and "never claimed" in str(results[3])
    assert backend.get("c/a/bluesky").status == "posted"  # the refusal left it; the others were stored
    assert [e["op"] for e in journal.pending()] == ["note"]  # every outcome line is settled


def test_a_batch_of_outcomes_is_kept_whole_while_the_database_is_down(tmp_path: Path) -> None:
    home = tmp_path / "db"
    backend = SqliteLedger(home / "ledger.db")
    ledger = JournaledLedger(backend, Journal(tmp_path / "journal.jsonl"))
    keys = ["c/a/twitter", "c/a/linkedin"]
    for key in keys:
        backend.claim(_request(key), owner="run", lease_seconds=60, now=NOW)
    home.rename(tmp_path / "away")
    results = ledger.record_many([(k, Outcome(DeliveryStatus.POSTED)) for k in keys], owner="run", now=NOW)
    assert all(isinstance(r, LedgerUnavailable) and "safe in the journal" in str(r) for r in results)
    (tmp_path / "away").rename(home)
    assert flush_journal(ledger) == 2 and {backend.get(k).status for k in keys} == {"posted"}
