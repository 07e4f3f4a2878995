"""The exactly-once protocol over a real SQLite ledger and in-memory providers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.errors import LedgerError
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.chain import Chain, Link
from postdeck.providers.errors import ProviderNotSent
from postdeck.schemas.deliveries import Delivery
from tests.fakes import FakeProvider

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def deliveries(platforms=(Platform.TWITTER, Platform.LINKEDIN)) -> list[Delivery]:
    return [Delivery(str(DeliveryKey("c", "a", p)), "c", "a", p, "hello", (), None) for p in platforms]


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.db")


def test_publishes_once_and_a_second_run_sends_nothing(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first")
    chain = Chain([Link("first:g", provider)])
    first = publish_batch(deliveries(), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW)
    assert [(r.action, r.status) for r in first] == [("sent", "posted")] * 2
    assert ledger.get("c/a/twitter").url.startswith("https://twitter.test/")
    second = publish_batch(deliveries(), ledger=ledger, chain=chain, owner="run-2", now=lambda: NOW)
    assert [r.action for r in second] == ["unchanged"] * 2 and len(provider.creates) == 1


def test_a_crash_after_the_create_is_recovered_by_lookup_not_resent(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first")
    chain = Chain([Link("first:g", provider)])

    class Crash(BaseException):
        pass

    def crash_on_record(*_a, **_k):
        raise Crash

    original = ledger.record_many
    ledger.record_many = crash_on_record  # the worker dies between the provider's reply and the ledger write
    with pytest.raises(Crash):
        publish_batch(deliveries(), ledger=ledger, chain=chain, owner="dead", now=lambda: NOW)
    ledger.record_many = original
    assert len(provider.creates) == 1 and ledger.get("c/a/twitter").status == DeliveryStatus.CLAIMED

    # While the dead run's lease lasts, nobody touches it.
    held = publish_batch(deliveries(), ledger=ledger, chain=chain, owner="next", now=lambda: NOW)
    assert {r.action for r in held} == {"held"}
    later = NOW + timedelta(hours=1)
    reports = publish_batch(deliveries(), ledger=ledger, chain=chain, owner="next", now=lambda: later)
    assert {(r.action, r.status) for r in reports} == {("recovered", "posted")}
    assert len(provider.creates) == 1
    # Not bounded by the claim's time (a rebuild's row is younger than the creates it restores).
    assert provider.lookup_since == [None, None]


def test_a_crash_before_any_create_is_sent_after_the_lease(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first")
    chain = Chain([Link("first:g", provider)])
    for d in deliveries():  # claimed, then the run died before reaching a provider
        from postdeck.engine.publisher import claim_request

        ledger.claim(claim_request(d), owner="dead", lease_seconds=60, now=NOW)
    reports = publish_batch(
        deliveries(), ledger=ledger, chain=chain, owner="next", now=lambda: NOW + timedelta(minutes=5)
    )
    assert {(r.action, r.status) for r in reports} == {("sent", "posted")} and len(provider.creates) == 1


def test_no_provider_call_when_the_claim_cannot_be_recorded(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first")

    def down(*_a, **_k):
        raise LedgerError("database is down")

    ledger.claim_many = down
    reports = publish_batch(
        deliveries(), ledger=ledger, chain=Chain([Link("f:g", provider)]), owner="r", now=lambda: NOW
    )
    assert {r.action for r in reports} == {"not-sent"} and provider.creates == []


def test_no_provider_call_when_the_attempt_cannot_be_noted(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first")

    def down(*_a, **_k):
        raise LedgerError("database is down")

    ledger.note_attempt = down
    reports = publish_batch(
        deliveries(), ledger=ledger, chain=Chain([Link("f:g", provider)]), owner="r", now=lambda: NOW
    )
    assert {r.action for r in reports} == {"not-sent"} and provider.creates == []


def test_a_stamped_batch_names_its_run_and_commit_and_sends_nothing_unstamped(ledger: SqliteLedger) -> None:
    from postdeck.engine.runs import RunStamp

    provider = FakeProvider("first")
    chain = Chain([Link("f:g", provider)])
    stamp = RunStamp("run-7", "ab" * 20)
    publish_batch(deliveries(), ledger=ledger, chain=chain, owner="r", now=lambda: NOW, stamp=stamp)
    assert {(ledger.get(d.key).run_id, ledger.get(d.key).commit_sha) for d in deliveries()} == {
        ("run-7", "ab" * 20)
    }

    def down(*_a, **_k):
        raise LedgerError("database is down")

    ledger.stamp_run = down
    others = deliveries((Platform.BLUESKY,))
    reports = publish_batch(others, ledger=ledger, chain=chain, owner="r", now=lambda: NOW, stamp=stamp)
    assert [r.action for r in reports] == ["not-sent"] and len(provider.creates) == 1


def test_failover_is_recorded_with_the_provider_that_posted(ledger: SqliteLedger) -> None:
    def refuse(_request):
        raise ProviderNotSent("down", provider="first")

    first, second = FakeProvider("first", before_create=refuse), FakeProvider("second")
    chain = Chain([Link("first:g", first), Link("second:g", second)])
    publish_batch(deliveries(), ledger=ledger, chain=chain, owner="r", now=lambda: NOW)
    record = ledger.get("c/a/linkedin")
    assert record.provider == "second" and record.attempted_providers == ("first:g", "second:g")


def test_each_provider_post_gets_one_history_row(ledger: SqliteLedger) -> None:
    chain = Chain([Link("first:g", FakeProvider("first"))])
    publish_batch(deliveries(), ledger=ledger, chain=chain, owner="r", now=lambda: NOW)
    with ledger._connect() as conn:
        rows = conn.execute("SELECT provider, platforms, status, content FROM social_posts").fetchall()
    assert [tuple(r) for r in rows] == [("first", '["twitter", "linkedin"]', "posted", "hello")]


def test_a_batch_costs_the_ledger_three_writes_whatever_its_size(ledger: SqliteLedger) -> None:
    calls: list[str] = []
    for name in ("claim", "claim_many", "note_attempt", "record", "record_many"):
        original = getattr(ledger, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        setattr(ledger, name, counted)
    four = deliveries((Platform.TWITTER, Platform.LINKEDIN, Platform.BLUESKY, Platform.THREADS))
    reports = publish_batch(
        four, ledger=ledger, chain=Chain([Link("first:g", FakeProvider("first"))]), owner="r"
    )
    assert {(r.action, r.status) for r in reports} == {("sent", "posted")}
    assert calls == ["claim_many", "note_attempt", "record_many"]
    assert {ledger.get(d.key).status for d in four} == {"posted"}


def test_a_batch_no_provider_was_asked_to_create_is_released_not_failed(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first")
    breaker = CircuitBreaker(threshold=1, cooldown=60)
    breaker.failure("first", "connection refused")  # open: the chain skips the provider
    skipped = Chain([Link("first:g", provider)], breaker=breaker)
    reports = publish_batch(deliveries(), ledger=ledger, chain=skipped, owner="run-1", now=lambda: NOW)
    assert {(r.action, r.status) for r in reports} == {("not-sent", "claimed")}
    assert all("circuit open" in r.error and "publish again" in r.error for r in reports)
    assert provider.creates == [] and [ledger.get(d.key) for d in deliveries()] == [None, None]

    # Another run, the provider well again: sent at once, with no lease to wait out.
    again = publish_batch(
        deliveries(), ledger=ledger, chain=Chain([Link("first:g", provider)]), owner="run-2", now=lambda: NOW
    )
    assert {(r.action, r.status) for r in again} == {("sent", "posted")} and len(provider.creates) == 1


def test_a_failure_no_one_can_fix_by_waiting_is_still_recorded_as_failed(ledger: SqliteLedger) -> None:
    provider = FakeProvider("first", platforms=())  # no connected account anywhere
    reports = publish_batch(
        deliveries(), ledger=ledger, chain=Chain([Link("first:g", provider)]), owner="r", now=lambda: NOW
    )
    assert {(r.action, r.status) for r in reports} == {("sent", "failed")}
    assert {ledger.get(d.key).status for d in deliveries()} == {"failed"}


def test_an_unsent_delivery_the_ledger_knew_before_is_recorded_failed_not_forgotten(
    ledger: SqliteLedger,
) -> None:
    from postdeck.engine.publisher import claim_request

    for d in deliveries():  # a dead run claimed them and died before any create
        ledger.claim(claim_request(d), owner="dead", lease_seconds=60, now=NOW)
    provider = FakeProvider("first")
    breaker = CircuitBreaker(threshold=1, cooldown=60)
    breaker.failure("first", "connection refused")
    later = NOW + timedelta(hours=1)
    reports = publish_batch(
        deliveries(),
        ledger=ledger,
        chain=Chain([Link("first:g", provider)], breaker=breaker),
        owner="r",
        now=lambda: later,
    )
    assert {(r.action, r.status) for r in reports} == {("sent", "failed")}
    assert all("not sent anywhere" in r.error and "circuit open" in r.error for r in reports)
    assert {ledger.get(d.key).status for d in deliveries()} == {"failed"}  # `postdeck retry` finds them
    assert provider.creates == []
