"""Delivery keys are scoped by owner (issue 18, finding B): two users whose campaigns share a name,
batch ids and platforms each get their own deliveries, on SQLite and on Supabase (supabase-py →
PostgREST emulated over the embedded PostgreSQL, as the service role the workers use)."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from postdeck.core.keys import DeliveryKey
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import Action, make_plan
from postdeck.engine.plan_checks import check_plan_is_current
from postdeck.engine.plan_file import plan_from_dict, plan_json
from postdeck.engine.publisher import claim_request, publish_batch
from postdeck.errors import StalePlanError
from postdeck.ledger import sqlite as sqlite_module
from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.journal import Journal, replay
from postdeck.ledger.journal_guard import (
    LedgerLostDeliveries,
    missing_from_ledger,
    require_ledger_has_journaled,
)
from postdeck.ledger.journal_memory import Known
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.rebuild import rebuild_from_journal
from postdeck.ledger.records import ClaimState
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.providers.chain import Chain, Link
from postdeck.providers.errors import ProviderNotSent
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.validation import require_valid
from tests.fakes import FakeProvider
from tests.ledger_fixtures.postgrest import PostgrestEmulator
from tests.pg import migration_files

pytest_plugins = ["tests.pg"]

SERVICE_KEY = "test-service-role-key"
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
ALICE = "00000000-0000-4000-8000-00000000a11c"
BOB = "00000000-0000-4000-8000-000000000b0b"


@pytest.fixture(params=["sqlite", pytest.param("supabase-pg", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        yield SqliteLedger(tmp_path / "ledger.db")
        return
    emulator = PostgrestEmulator(request.getfixturevalue("pg_dsn"), service_key=SERVICE_KEY)
    client = httpx.Client(transport=httpx.MockTransport(emulator))
    yield SupabaseLedger("http://supabase.test", SERVICE_KEY, http_client=client)


def campaign_of(
    folder: Path, owner: str, caption: str = "Our launch", at: str | None = None
) -> list[Delivery]:
    """The same campaign (name, batch ids, platforms) as `owner` writes it ("": no owner), rendered by
    the campaign code."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "launch.yaml"
    when = f"    at: '{at}'\n" if at else ""
    path.write_text(
        "name: launch\n" + (f"owner: {owner}\n" if owner else "") + "timezone: UTC\n"
        "batches:\n"
        f"  - id: teaser\n    caption: {caption} (teaser)\n    platforms: [twitter, linkedin]\n{when}"
        f"  - id: day-one\n    caption: {caption} (day one)\n    platforms: [twitter, linkedin]\n{when}"
    )
    return [p.delivery for p in require_valid(path).prepared]


def batches(deliveries: list[Delivery]) -> list[list[Delivery]]:
    grouped: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        grouped.setdefault(delivery.batch_id, []).append(delivery)
    return list(grouped.values())


def publish(deliveries: list[Delivery], ledger, provider: FakeProvider, run: str) -> list:
    chain = Chain([Link(f"{provider.name}:g", provider)])
    return [
        report
        for batch in batches(deliveries)
        for report in publish_batch(batch, ledger=ledger, chain=chain, owner=run, now=lambda: NOW)
    ]


def test_two_users_whose_campaigns_share_names_both_publish_and_see_only_their_own(
    ledger, tmp_path: Path
) -> None:
    alice = campaign_of(tmp_path / "alice", ALICE, "Alice's launch")
    bob = campaign_of(tmp_path / "bob", BOB, "Bob's launch")
    provider = FakeProvider("fake")

    sent_for_alice = publish(alice, ledger, provider, "run-alice")
    sent_for_bob = publish(bob, ledger, provider, "run-bob")

    # Both are sent: Bob's batches are not Alice's, though their names are.
    assert [(r.action, r.status) for r in sent_for_alice] == [("sent", "posted")] * 4
    assert [(r.action, r.status) for r in sent_for_bob] == [("sent", "posted")] * 4
    assert len(provider.creates) == 4 and len(set(provider.creates)) == 4  # one post key per tenant's batch
    captions = sorted(request.targets[0].caption for request in provider.posts.values())
    assert [c.split("'")[0] for c in captions] == ["Alice", "Alice", "Bob", "Bob"]

    # Each user's history is their own.
    for user, deliveries in ((ALICE, alice), (BOB, bob)):
        records = ledger.find_deliveries(DeliveryQuery(user_id=user))
        assert sorted(r.key for r in records) == sorted(d.key for d in deliveries)
        assert {(r.user_id, r.status) for r in records} == {(user, DeliveryStatus.POSTED)}
        assert {r.caption.split("'")[0] for r in records} == {"Alice" if user == ALICE else "Bob"}
        posts = ledger.get_post_history(user)
        assert len(posts) == 2 and {p.user_id for p in posts} == {user}
        assert {p.content.split("'")[0] for p in posts} == {"Alice" if user == ALICE else "Bob"}

    # Publishing again sends nothing for either.
    again = publish(alice, ledger, provider, "run-2") + publish(bob, ledger, provider, "run-3")
    assert {r.action for r in again} == {"unchanged"} and len(provider.creates) == 4


def test_bobs_claim_is_never_answered_with_alices_row(ledger, tmp_path: Path) -> None:
    """The finding's reproduction: Alice's delivery is posted; Bob's claim of his delivery of the same
    campaign, batch and platform gets a new claim of his own, not Alice's row."""
    [alice_teaser, *_] = campaign_of(tmp_path / "alice", ALICE)
    [bob_teaser, *_] = campaign_of(tmp_path / "bob", BOB)
    ledger.claim(claim_request(alice_teaser), owner="run-alice", lease_seconds=60, now=NOW)
    ledger.record(
        alice_teaser.key, Outcome(DeliveryStatus.POSTED, provider="fake"), owner="run-alice", now=NOW
    )

    claim = ledger.claim(claim_request(bob_teaser), owner="run-bob", lease_seconds=60, now=NOW)

    assert claim.record.user_id == BOB  # before: ALICE, state DONE: Bob's delivery would never be sent
    assert claim.state == ClaimState.CLAIMED and alice_teaser.key != bob_teaser.key
    assert (claim.record.key, claim.record.user_id, claim.record.owner) == (bob_teaser.key, BOB, "run-bob")
    assert ledger.get(alice_teaser.key).user_id == ALICE


# --- a ledger made with the old keys, carried over (the migration, the SQLite upgrade) ----------

OWNER_KEYS = "20261207170000_delivery_keys_scoped_by_owner.sql"
LEGACY_COLUMNS = (
    "key, campaign, batch_id, platform, status, provider, provider_post_id, post_key, attempts,"
    " content_hash, schedule_hash, caption, user_id, created_at, updated_at"
)


def legacy_row(delivery: Delivery, user: str | None, post_key: str) -> tuple:
    """The row a postdeck from before keys were scoped stored for a posted delivery: keyed by campaign."""
    key = str(DeliveryKey.parse(delivery.key).unscoped)
    return (
        key,
        delivery.campaign,
        delivery.batch_id,
        delivery.platform.value,
        "posted",
        "fake",
        "old-post",
        post_key,
        1,
        delivery.content_hash,
        delivery.schedule_hash,
        delivery.caption,
        user,
        NOW.isoformat(),
        NOW.isoformat(),
    )


def old_sqlite(path: Path, rows: list[tuple]) -> SqliteLedger:
    schema = (Path(sqlite_module.__file__).parent / "sqlite_schema.sql").read_text()
    old = re.sub(r"CREATE TRIGGER .*?\nEND;\n", "", schema, flags=re.S)  # before keys were scoped
    assert "TRIGGER" not in old
    with sqlite3.connect(path) as conn:
        conn.executescript(old)
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO deliveries ({LEGACY_COLUMNS}) VALUES ({marks})", rows)
    return SqliteLedger(path)  # opening it upgrades it


def old_supabase(pg_server, rows: list[tuple]) -> SupabaseLedger:
    import psycopg

    dsn = pg_server.create_database(migrated=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for path in migration_files():
            if path.name < OWNER_KEYS:
                with conn.transaction():
                    conn.execute(path.read_text())
        marks = ", ".join(["%s"] * len(rows[0]))
        conn.cursor().executemany(f"insert into deliveries ({LEGACY_COLUMNS}) values ({marks})", rows)
        for path in migration_files():
            if path.name >= OWNER_KEYS:
                with conn.transaction():
                    conn.execute(path.read_text())
    emulator = PostgrestEmulator(dsn, service_key=SERVICE_KEY)
    return SupabaseLedger(
        "http://supabase.test", SERVICE_KEY, http_client=httpx.Client(transport=httpx.MockTransport(emulator))
    )


@pytest.fixture(params=["sqlite", pytest.param("supabase-pg", marks=pytest.mark.postgres)])
def old_ledger(request: pytest.FixtureRequest, tmp_path: Path):
    """Opens a ledger holding `rows` as an older postdeck stored them, after its upgrade."""
    if request.param == "sqlite":
        return lambda rows: old_sqlite(tmp_path / "old.db", rows)
    return lambda rows: old_supabase(request.getfixturevalue("pg_server"), rows)


def test_a_ledger_with_the_old_keys_is_carried_over_and_both_users_publish_once(
    old_ledger, tmp_path: Path
) -> None:
    alice = campaign_of(tmp_path / "alice", ALICE)
    bob = campaign_of(tmp_path / "bob", BOB)
    unowned = campaign_of(tmp_path / "nobody", "")  # a campaign without an owner keeps its keys
    assert [d.key for d in unowned] == [str(DeliveryKey.parse(d.key).unscoped) for d in alice]
    nobody_else = [
        dataclasses.replace(d, key=d.key.replace("launch/", "other/"), campaign="other") for d in unowned
    ]
    ledger = old_ledger(
        [legacy_row(d, ALICE, "pd_" + "a" * 32) for d in alice]
        + [legacy_row(d, None, "pd_" + "0" * 32) for d in nobody_else]
    )

    records = {r.key: r for r in ledger.all_deliveries()}
    assert sorted(records) == sorted(d.key for d in alice + nobody_else)  # Alice's: scoped now
    assert {records[d.key].post_key for d in alice} == {"pd_" + "a" * 32}  # what her provider posts carry
    assert {r.user_id for r in ledger.find_deliveries(DeliveryQuery(user_id=ALICE))} == {ALICE}

    # Alice's publish finds her deliveries (nothing to send); Bob's are his own (all sent).
    assert {c.action for c in make_plan("launch", alice, ledger, NOW).changes} == {Action.UNCHANGED}
    assert [c.action for c in make_plan("launch", bob, ledger, NOW).changes] == [Action.CREATE] * 4
    provider = FakeProvider("fake")
    assert {r.action for r in publish(alice, ledger, provider, "run-alice")} == {"unchanged"}
    assert provider.creates == []
    assert [(r.action, r.status) for r in publish(bob, ledger, provider, "run-bob")] == [
        ("sent", "posted")
    ] * 4
    assert len(provider.creates) == 2 and ledger.get(bob[0].key).user_id == BOB


def test_an_older_sqlite_writer_keying_a_users_delivery_by_campaign_is_refused(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    with (
        sqlite3.connect(ledger.path) as conn,
        pytest.raises(sqlite3.IntegrityError, match="deliveries_key_scope"),
    ):
        conn.execute(
            "INSERT INTO deliveries (key, campaign, batch_id, platform, status, user_id, created_at, updated_at)"
            " VALUES ('launch/teaser/twitter', 'launch', 'teaser', 'twitter', 'claimed', ?, 'now', 'now')",
            (ALICE,),
        )
    with (
        sqlite3.connect(ledger.path) as conn,
        pytest.raises(sqlite3.IntegrityError, match="deliveries_key_scope"),
    ):
        conn.execute(
            "INSERT INTO deliveries (key, campaign, batch_id, platform, status, created_at, updated_at)"
            f" VALUES ('{ALICE}:launch/teaser/twitter', 'launch', 'teaser', 'twitter', 'claimed', 'now', 'now')"
        )


def test_a_sqlite_claim_meeting_another_users_row_is_refused_naming_both(tmp_path: Path) -> None:
    """Defense in depth: a row of Alice's under the key Bob's claim names (which no postdeck writes: the
    trigger is dropped to make one) refuses Bob's claim, and his batch, instead of answering with it."""
    ledger = SqliteLedger(tmp_path / "ledger.db")
    [bob_teaser, *rest] = campaign_of(tmp_path / "bob", BOB)
    with sqlite3.connect(ledger.path) as conn:
        conn.execute("DROP TRIGGER deliveries_key_scope_insert")
        conn.execute(
            "INSERT INTO deliveries (key, campaign, batch_id, platform, status, user_id, created_at, updated_at)"
            " VALUES (?, 'launch', 'teaser', 'twitter', 'posted', ?, '2030-01-01T12:00:00+00:00', '2030-01-01T12:00:00+00:00')",
            (bob_teaser.key, ALICE),
        )
    with pytest.raises(LedgerRefused, match=f"belongs to user {ALICE}, not to {BOB}"):
        ledger.claim(claim_request(bob_teaser), owner="run-bob", lease_seconds=60, now=NOW)
    with pytest.raises(LedgerRefused, match=ALICE):
        ledger.claim_many(
            [claim_request(d) for d in [*rest, bob_teaser]], owner="run-bob", lease_seconds=60, now=NOW
        )
    assert [r.key for r in ledger.all_deliveries()] == [bob_teaser.key]  # the batch claimed nothing


# --- plans: another user's campaign of the same name is not this one --------------------------


def test_a_plan_never_cancels_or_is_made_stale_by_another_users_campaign_of_the_same_name(
    ledger, tmp_path: Path
) -> None:
    alice = campaign_of(tmp_path / "alice", ALICE, at="2031-01-01T09:00:00Z")
    bob = [d for d in campaign_of(tmp_path / "bob", BOB, at="2031-01-01T09:00:00Z") if d.batch_id == "teaser"]
    publish(alice, ledger, FakeProvider("fake"), "run-alice")  # scheduled, both batches
    assert {r.status for r in ledger.deliveries("launch")} == {DeliveryStatus.SCHEDULED}

    plan = make_plan("launch", bob, ledger, NOW)  # Bob's file has no day-one: nothing of his to cancel
    assert [c.action for c in plan.changes] == [Action.CREATE] * 2 and plan.owner == BOB
    assert make_plan("launch", [], ledger, NOW, owner=BOB).changes == ()  # his file deleted
    alice_gone = make_plan("launch", [], ledger, NOW, owner=ALICE)
    assert sorted(c.key for c in alice_gone.of(Action.CANCEL)) == sorted(d.key for d in alice)

    saved = plan_from_dict(json.loads("".join(plan_json(plan))))
    assert saved.owner == BOB and saved.ledger_fingerprint == plan.ledger_fingerprint
    ledger.record(alice[0].key, Outcome(DeliveryStatus.POSTED, provider="fake"), owner=None, now=NOW)
    check_plan_is_current(saved, ledger)  # Alice's delivery moved: Bob's plan is still current
    with pytest.raises(StalePlanError):
        check_plan_is_current(alice_gone, ledger)


# --- a journal written with the old keys (what the key change forces on the journal and rebuild) --


def legacy_known(ledger, delivery: Delivery, *, claimed: bool = True) -> Known:
    """What an older postdeck's journal remembers of a posted delivery of Alice's: its old key, and
    (when that process claimed it) the claim with her user id."""
    key = str(DeliveryKey.parse(delivery.key).unscoped)
    claim = dataclasses.replace(claim_request(delivery), key=key) if claimed else None
    outcome = Outcome(
        DeliveryStatus.POSTED, provider="fake", provider_post_id="old-post", post_key="pd_" + "a" * 32
    )
    return Known(
        ledger.ident,
        key,
        {**dataclasses.asdict(outcome), "status": "posted"},
        dataclasses.asdict(claim) | {"scheduled_for": None} if claim else None,
        ("fake:g",),
        NOW.isoformat(),
    )


def test_a_journal_with_the_old_keys_finds_the_upgraded_ledger_whole_and_rebuilds_a_lost_one_scoped(
    tmp_path: Path,
) -> None:
    alice = campaign_of(tmp_path / "alice", ALICE)
    path = tmp_path / "db" / "ledger.db"
    path.parent.mkdir()
    ledger = old_sqlite(path, [legacy_row(d, ALICE, "pd_" + "a" * 32) for d in alice])
    journal = Journal(tmp_path / "journal.jsonl")
    journal.memory.remember(
        [legacy_known(ledger, d) for d in alice[:3]] + [legacy_known(ledger, alice[3], claimed=False)]
    )
    # A pending outcome of the old journal (a database outage before the upgrade): replayed to its new key.
    journal.append({**legacy_known(ledger, alice[0]).line(), "op": "record", "now": NOW.isoformat()})

    assert sorted(journal.known(ledger.ident)) == sorted(
        [d.key for d in alice[:3]] + [legacy_known(ledger, alice[3]).key]
    )
    require_ledger_has_journaled(
        ledger, journal, "launch"
    )  # nothing is lost: all there, under their new keys
    assert missing_from_ledger(ledger, journal) == []
    report = replay(ledger, journal)
    assert (report.already, report.missing) == (1, 0)

    for leftover in path.parent.iterdir():  # the ledger is lost
        leftover.unlink()
    fresh = SqliteLedger(path)
    with pytest.raises(LedgerLostDeliveries):
        require_ledger_has_journaled(fresh, journal, "launch")
    rebuilt = rebuild_from_journal(fresh, journal)
    assert sorted(rebuilt.restored)[:3] == sorted(d.key for d in alice[:3])  # Alice's, under her scope
    assert {fresh.get(d.key).user_id for d in alice[:3]} == {ALICE}
    provider = FakeProvider("fake")
    assert {r.action for r in publish(alice[:3], fresh, provider, "run-2")} == {"unchanged"}
    assert provider.creates == []


def test_a_users_unsent_claims_are_given_back_under_their_scoped_keys(ledger, tmp_path: Path) -> None:
    """Nothing could be sent (the provider could not even list its accounts): Bob's claims are released
    by their scoped keys (a PostgREST `in.()` list of keys holding `:`), and publishing again sends them."""
    bob = campaign_of(tmp_path / "bob", BOB)
    down = FakeProvider("fake", accounts_error=ProviderNotSent("down", provider="fake"))
    assert {r.action for r in publish(bob, ledger, down, "run-1")} == {"not-sent"}
    assert ledger.find_deliveries(DeliveryQuery(user_id=BOB)) == []
    provider = FakeProvider("fake")
    assert {r.action for r in publish(bob, ledger, provider, "run-2")} == {"sent"}
    assert len(provider.creates) == 2


def test_a_lost_ledger_refuses_only_the_publish_of_the_users_campaign_it_lost(tmp_path: Path) -> None:
    """Issue 18: the journal guard matched campaigns by name, so Alice's lost deliveries refused Bob's
    publish of his own campaign of the same name."""
    from postdeck.ledger.journal import JournaledLedger, flush_journal

    path = tmp_path / "db" / "ledger.db"
    journal = Journal(tmp_path / "journal.jsonl")
    ledger = JournaledLedger(SqliteLedger(path), journal)
    alice = campaign_of(tmp_path / "alice", ALICE)
    publish(alice, ledger, FakeProvider("fake"), "run-1")
    path.unlink()
    fresh = JournaledLedger(SqliteLedger(path), journal)
    flush_journal(fresh)

    with pytest.raises(LedgerLostDeliveries, match="does not have 4 deliveries"):
        require_ledger_has_journaled(fresh, journal, "launch", ALICE)
    require_ledger_has_journaled(fresh, journal, "launch", BOB)  # his campaign lost nothing
    require_ledger_has_journaled(fresh, journal, "launch", None)  # nor did the campaign without an owner


def test_a_crashed_run_of_one_users_campaign_is_taken_over_only_by_that_users_publish(tmp_path: Path) -> None:
    from postdeck.flows.crashed import expire_crashed_claims

    ledger = SqliteLedger(tmp_path / "ledger.db")
    alice = campaign_of(tmp_path / "alice", ALICE)
    for delivery in alice:
        ledger.claim(claim_request(delivery), owner="flow-run:dead", lease_seconds=600, now=NOW)

    def crashed(run: str) -> bool:
        return run == "flow-run:dead"

    assert expire_crashed_claims(ledger, "launch", NOW, owner=BOB, crashed=crashed) == []
    assert expire_crashed_claims(ledger, "launch", NOW, owner=None, crashed=crashed) == []
    assert ledger.get(alice[0].key).lease_until > NOW  # Bob's publish left Alice's run alone
    assert expire_crashed_claims(ledger, "launch", NOW, owner=ALICE, crashed=crashed) == ["flow-run:dead"]
    assert ledger.get(alice[0].key).lease_until == NOW
