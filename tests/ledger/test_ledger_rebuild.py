"""A lost ledger does not resend what the journal saw posted (issue 18, A): the journal remembers every
recorded outcome after compaction, a publish into a new or replaced ledger refuses, and
`postdeck ledger rebuild` puts the deliveries back (claim hashes, post key, attempts) so that the next
publish sends nothing again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.journal import Journal, JournaledLedger, flush_journal
from postdeck.ledger.journal_guard import LedgerLostDeliveries, require_ledger_has_journaled
from postdeck.ledger.rebuild import rebuild_from_journal
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.chain import Chain, Link
from postdeck.providers.errors import ProviderMaybeSent
from postdeck.schemas.deliveries import Delivery
from tests.fakes import FakeProvider

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def batch(campaign: str = "c", batch_id: str = "a") -> list[Delivery]:
    return [
        Delivery(str(DeliveryKey(campaign, batch_id, p)), campaign, batch_id, p, "hello", (), None)
        for p in (Platform.TWITTER, Platform.LINKEDIN)
    ]


def open_journaled(tmp_path: Path) -> JournaledLedger:
    return JournaledLedger(SqliteLedger(tmp_path / "db" / "ledger.db"), Journal(tmp_path / "journal.jsonl"))


def lose_the_ledger(tmp_path: Path) -> JournaledLedger:
    """The ledger file is deleted; the next run opens a new one there and flushes the journal."""
    (tmp_path / "db" / "ledger.db").unlink()
    fresh = open_journaled(tmp_path)
    flush_journal(fresh)  # compacts: the settled outcomes leave the journal's file
    return fresh


def test_a_new_ledger_where_the_journal_saw_posts_refuses_to_publish_and_sends_nothing(
    tmp_path: Path,
) -> None:
    ledger = open_journaled(tmp_path)
    provider = FakeProvider("first")
    chain = Chain([Link("first:g", provider)])
    sent = publish_batch(batch(), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW)
    assert {r.status for r in sent} == {DeliveryStatus.POSTED}

    fresh = lose_the_ledger(tmp_path)
    assert not fresh.journal.pending() and not fresh.journal.path.exists()  # compacted away
    with pytest.raises(LedgerLostDeliveries) as refused:
        require_ledger_has_journaled(fresh, fresh.journal, "c")
    message = str(refused.value)
    assert "does not have 2 deliveries" in message and "2 posted or scheduled" in message
    assert "postdeck ledger rebuild" in message and "Nothing was sent" in message
    require_ledger_has_journaled(fresh, fresh.journal, "another-campaign")  # its own: nothing lost
    assert len(provider.creates) == 1


def test_rebuild_restores_outcomes_and_claim_hashes_so_publishing_again_sends_nothing(
    tmp_path: Path,
) -> None:
    ledger = open_journaled(tmp_path)
    provider = FakeProvider("first")
    chain = Chain([Link("first:g", provider)])
    publish_batch(batch(), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW)
    before = {r.key: r for r in ledger.deliveries("c")}

    fresh = lose_the_ledger(tmp_path)
    report = rebuild_from_journal(fresh, fresh.journal, now=NOW)
    assert sorted(report.restored) == sorted(before) and report.skipped == []
    require_ledger_has_journaled(fresh, fresh.journal, "c")  # nothing missing now
    after = {r.key: r for r in fresh.deliveries("c")}
    for key, old in before.items():
        new = after[key]
        assert (new.status, new.provider, new.provider_post_id, new.post_key, new.url) == (
            old.status,
            old.provider,
            old.provider_post_id,
            old.post_key,
            old.url,
        )
        assert (new.content_hash, new.schedule_hash, new.caption) == (
            old.content_hash,
            old.schedule_hash,
            old.caption,
        )

    again = publish_batch(batch(), ledger=fresh, chain=chain, owner="run-2", now=lambda: NOW)
    assert {r.action for r in again} == {"unchanged"}
    assert len(provider.creates) == 1
    assert rebuild_from_journal(fresh, fresh.journal).restored == []  # a second rebuild: nothing to do


def test_an_unknown_delivery_is_rebuilt_with_where_its_create_went_so_it_is_looked_up_not_resent(
    tmp_path: Path,
) -> None:
    ledger = open_journaled(tmp_path)
    provider = FakeProvider(
        "first",
        fail_after_store=ProviderMaybeSent("lost answer", provider="first"),
        lookup_error=ProviderMaybeSent("down", provider="first"),
    )
    chain = Chain([Link("first:g", provider)], sleep=lambda _seconds: None)  # lookups fail at once
    sent = publish_batch(batch(), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW)
    assert {r.status for r in sent} == {DeliveryStatus.UNKNOWN}

    fresh = lose_the_ledger(tmp_path)
    assert rebuild_from_journal(fresh, fresh.journal, now=NOW).skipped == []
    for record in fresh.deliveries("c"):
        assert record.status == DeliveryStatus.UNKNOWN
        assert record.attempted_providers == ("first:g",) and record.post_key
    again = publish_batch(batch(), ledger=fresh, chain=chain, owner="run-2", now=lambda: NOW)
    assert {r.action for r in again} == {"unchanged"}
    assert len(provider.creates) == 1


def test_the_memory_keeps_the_latest_outcome_of_each_delivery_across_compactions(tmp_path: Path) -> None:
    ledger = open_journaled(tmp_path)
    chain = Chain([Link("first:g", FakeProvider("first"))])
    for batch_id in ("a", "b"):
        publish_batch(batch(batch_id=batch_id), ledger=ledger, chain=chain, owner="run", now=lambda: NOW)
        flush_journal(ledger)  # a compaction after each run
    known = ledger.journal.known(ledger.ident)
    assert sorted(known) == sorted(d.key for b in "ab" for d in batch(batch_id=b))
    assert {k.outcome["status"] for k in known.values()} == {"posted"}
    assert all(k.claim and k.claim["content_hash"] for k in known.values())
    lines = ledger.journal.memory.path.read_text().splitlines()
    assert len(lines) == 4  # one line per delivery, however many compactions


def test_ledger_status_says_what_is_lost_and_the_rebuild_command_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTDECK_LEDGER", str(tmp_path / "db" / "ledger.db"))
    monkeypatch.setenv("POSTDECK_JOURNAL", str(tmp_path / "journal.jsonl"))
    ledger = open_journaled(tmp_path)
    publish_batch(
        batch(),
        ledger=ledger,
        chain=Chain([Link("first:g", FakeProvider("first"))]),
        owner="r",
        now=lambda: NOW,
    )
    lose_the_ledger(tmp_path)
    runner = CliRunner()

    status = runner.invoke(app, ["ledger", "status"])
    assert status.exit_code == 0, status.output
    assert "lost: 2 deliveries" in status.output and "postdeck ledger rebuild" in status.output

    rebuilt = runner.invoke(app, ["ledger", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "2 deliveries restored" in rebuilt.output
    assert "lost:" not in runner.invoke(app, ["ledger", "status"]).output
    records = SqliteLedger(tmp_path / "db" / "ledger.db").deliveries("c")
    assert {r.status for r in records} == {DeliveryStatus.POSTED}


class _CutShort:
    """The ledger of a rebuild that stops between claiming a delivery and noting where it went."""

    def __init__(self, inner: JournaledLedger) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def note_attempt(self, *args, **kwargs) -> None:
        from postdeck.errors import LedgerError

        raise LedgerError("the database went away")


def test_a_rebuild_cut_short_after_its_claims_still_refuses_a_publish_and_a_rerun_finishes_it(
    tmp_path: Path,
) -> None:
    """Its claims had no attempt: once their lease ran out, a publish took them over as never sent and
    posted them again. They now count as lost (the publish refuses, naming the rebuild) until a
    rebuild run again finishes them."""
    ledger = open_journaled(tmp_path)
    provider = FakeProvider("first")
    chain = Chain([Link("first:g", provider)])
    publish_batch(batch(), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW)
    fresh = lose_the_ledger(tmp_path)

    cut = rebuild_from_journal(_CutShort(fresh), fresh.journal, now=NOW)  # type: ignore[arg-type]
    assert cut.restored == [] and len(cut.skipped) == 2
    with pytest.raises(LedgerLostDeliveries):
        require_ledger_has_journaled(fresh, fresh.journal, "c")
    a_day_later = datetime(2030, 1, 2, 12, tzinfo=UTC)
    held = publish_batch(batch(), ledger=fresh, chain=chain, owner="run-2", now=lambda: a_day_later)
    assert {r.action for r in held} == {"held"} and len(provider.creates) == 1

    again = rebuild_from_journal(fresh, fresh.journal, now=a_day_later)
    assert len(again.restored) == 2 and again.skipped == []
    require_ledger_has_journaled(fresh, fresh.journal, "c")
    done = publish_batch(batch(), ledger=fresh, chain=chain, owner="run-2", now=lambda: a_day_later)
    assert {r.action for r in done} == {"unchanged"} and len(provider.creates) == 1
