"""The ledger methods the service adds (find, reopen for an explicit retry, posts by provider id), on
SQLite and on Supabase (supabase-py → PostgREST emulated over the embedded PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postdeck.core.keys import DeliveryKey, scoped_key
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import ClaimRequest, ClaimState
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase import SupabaseLedger
from tests.ledger_fixtures.postgrest import PostgrestEmulator

pytest_plugins = ["tests.pg"]

SERVICE_KEY = "test-service-role-key"
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
USER = "00000000-0000-4000-8000-0000000000a1"
OTHER = "00000000-0000-4000-8000-0000000000b2"


@pytest.fixture(params=["sqlite", pytest.param("supabase-pg", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        yield SqliteLedger(tmp_path / "ledger.db")
        return
    emulator = PostgrestEmulator(request.getfixturevalue("pg_dsn"), service_key=SERVICE_KEY)
    client = httpx.Client(transport=httpx.MockTransport(emulator))
    yield SupabaseLedger("http://supabase.test", SERVICE_KEY, http_client=client)


def claim(ledger, key: str, *, when: datetime = NOW, user: str | None = None, owner: str = "run") -> None:
    """Claim `key` (campaign/batch/platform) for `user`: under the user's scope when there is one."""
    campaign, batch, platform = key.split("/")
    request = ClaimRequest(scoped_key(key, user), campaign, batch, platform, "c", "s", "hello", None, user)
    assert ledger.claim(request, owner=owner, lease_seconds=60, now=when).state == ClaimState.CLAIMED


def settle(ledger, key: str, status: DeliveryStatus, *, user: str | None = None, **outcome) -> None:
    ledger.record(scoped_key(key, user), Outcome(status, **outcome), owner="run", now=NOW)


def user_of(key: str) -> str:
    return OTHER if key.startswith("b/three") else USER


def test_find_deliveries_filters_and_pages_newest_first(ledger) -> None:
    for hours, key in enumerate(["a/one/twitter", "a/one/linkedin", "b/two/twitter", "b/three/bluesky"]):
        claim(ledger, key, when=NOW + timedelta(hours=hours), user=user_of(key))
    settle(ledger, "a/one/twitter", DeliveryStatus.POSTED, user=USER, provider="late", provider_post_id="p1")
    settle(ledger, "a/one/linkedin", DeliveryStatus.FAILED, user=USER, provider="late", provider_post_id="p1")
    settle(
        ledger,
        "b/two/twitter",
        DeliveryStatus.SCHEDULED,
        user=USER,
        provider="postforme",
        provider_post_id="p2",
    )

    def keys(query: DeliveryQuery, **page) -> list[str]:
        """The keys found, without their user's scope (each names its user: user_of)."""
        found = ledger.find_deliveries(query, **page)
        assert all(r.key == scoped_key(str(DeliveryKey.parse(r.key).unscoped), r.user_id) for r in found)
        return [str(DeliveryKey.parse(r.key).unscoped) for r in found]

    everything = ["b/three/bluesky", "b/two/twitter", "a/one/linkedin", "a/one/twitter"]
    assert keys(DeliveryQuery()) == everything
    assert keys(DeliveryQuery(), limit=2) == everything[:2]
    assert keys(DeliveryQuery(), limit=2, offset=2) == everything[2:]
    assert keys(DeliveryQuery(platform="twitter")) == ["b/two/twitter", "a/one/twitter"]
    assert keys(DeliveryQuery(statuses=("failed", "scheduled"))) == ["b/two/twitter", "a/one/linkedin"]
    assert keys(DeliveryQuery(statuses=("failed", "scheduled")), limit=1, offset=1) == ["a/one/linkedin"]
    assert keys(DeliveryQuery(campaign="a")) == ["a/one/linkedin", "a/one/twitter"]
    assert keys(DeliveryQuery(user_id=OTHER)) == ["b/three/bluesky"]
    assert keys(DeliveryQuery(provider_post_id="p1")) == ["a/one/linkedin", "a/one/twitter"]
    assert keys(
        DeliveryQuery(keys=tuple(scoped_key(k, USER) for k in ("a/one/twitter", "b/two/twitter", "x/y/z")))
    ) == [
        "b/two/twitter",
        "a/one/twitter",
    ]
    assert keys(DeliveryQuery(keys=())) == []
    since = DeliveryQuery(created_since=NOW + timedelta(hours=2))
    assert keys(since) == ["b/three/bluesky", "b/two/twitter"]
    assert keys(DeliveryQuery(created_before=NOW + timedelta(hours=1))) == ["a/one/twitter"]
    # The Python twin of the filter agrees with the backend.
    query = DeliveryQuery(statuses=("posted", "failed"), platform="twitter")
    assert [r.key for r in ledger.find_deliveries(DeliveryQuery()) if query.matches(r)] == [
        scoped_key(k, user_of(k)) for k in keys(query)
    ]


def test_reopen_failed_takes_only_failed_deliveries_and_forgets_the_last_attempt(ledger) -> None:
    claim(ledger, "c/a/twitter")
    ledger.note_attempt(["c/a/twitter"], owner="run", provider="postforme:global", post_key="pd_1")
    settle(
        ledger,
        "c/a/twitter",
        DeliveryStatus.FAILED,
        provider="postforme",
        provider_post_id="sp_1",
        error="refused",
    )
    claim(ledger, "c/a/linkedin")
    settle(ledger, "c/a/linkedin", DeliveryStatus.POSTED, provider="postforme", provider_post_id="sp_1")

    reopened = ledger.reopen_failed("c/a/twitter", owner="retry-1", lease_seconds=60, now=NOW)
    assert reopened is not None and reopened.status == DeliveryStatus.CLAIMED
    assert (reopened.owner, reopened.attempts) == ("retry-1", 2)
    assert reopened.lease_until == NOW + timedelta(seconds=60)
    assert (reopened.provider, reopened.provider_post_id, reopened.post_key, reopened.error) == (None,) * 4
    assert reopened.attempted_providers == ()
    # Posted, claimed and unknown deliveries are never reopened; neither is one reopened already.
    assert ledger.reopen_failed("c/a/linkedin", owner="retry-2", lease_seconds=60, now=NOW) is None
    assert ledger.reopen_failed("c/a/twitter", owner="retry-2", lease_seconds=60, now=NOW) is None
    assert ledger.reopen_failed("no/such/key", owner="retry-2", lease_seconds=60, now=NOW) is None
    # The reopened claim is the retrier's: its outcome is recorded as any other.
    settle_as = ledger.record(
        "c/a/twitter", Outcome(DeliveryStatus.POSTED, provider="late"), owner="retry-1", now=NOW
    )
    assert settle_as.status == DeliveryStatus.POSTED and settle_as.provider == "late"


def test_two_retriers_reopen_a_delivery_once(ledger) -> None:
    claim(ledger, "c/a/twitter")
    settle(ledger, "c/a/twitter", DeliveryStatus.FAILED, error="refused")
    results: list[object] = []
    barrier = threading.Barrier(4)

    def retry(owner: str) -> None:
        barrier.wait()
        results.append(ledger.reopen_failed("c/a/twitter", owner=owner, lease_seconds=60, now=NOW))

    threads = [threading.Thread(target=retry, args=(f"retry-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [r for r in results if r is not None]
    assert len(won) == 1 and ledger.get("c/a/twitter").owner == won[0].owner


def test_posts_by_provider_post_id(ledger) -> None:
    first = ledger.record_social_post({"user_id": USER, "provider": "late", "provider_post_id": "p1"})
    ledger.record_social_post({"user_id": USER, "provider": "late", "provider_post_id": "p2"})
    assert [p.id for p in ledger.posts_by_provider_post_id("p1")] == [first]
    assert ledger.posts_by_provider_post_id("nope") == []
