"""supabase/migrations on a real PostgreSQL: constraints, concurrent claimers, row level security."""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.transitions import ALLOWED
from tests.pg import MIGRATIONS as MIGRATIONS_DIR
from tests.pg import PgServer, apply_migrations, migration_files

pytest_plugins = ["tests.pg"]  # the session's PostgreSQL: pg_server, pg_dsn

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres

# What only signed-in users do (there are no users in a local SQLite ledger): ask for a cancel.
SUPABASE_ONLY = ("delivery_cancel_requests",)
ALICE = "00000000-0000-4000-8000-00000000a11c"
BOB = "00000000-0000-4000-8000-000000000b0b"
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
SHA = "ab" * 32


def connect(dsn: str):
    return psycopg.connect(dsn, autocommit=True)


def insert_delivery(conn, key: str = "c/b1/twitter", **values) -> None:
    scope, colon, rest = key.partition(":")
    unscoped = rest if colon and "/" not in scope else key  # `<user id>:` before a user's delivery's key
    campaign, batch_id, platform = re.split("[@#~]", unscoped)[0].split("/")
    row = {
        "key": key,
        "campaign": campaign,
        "batch_id": batch_id,
        "platform": platform,
        "status": "claimed",
        "owner": "run-1",
        **values,
    }
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    conn.execute(f"insert into deliveries ({columns}) values ({marks})", tuple(row.values()))


# --- the migrations themselves ------------------------------------------------------------------


def test_migrations_apply_in_order_to_a_fresh_database_with_builtin_uuids_only(pg_server: PgServer) -> None:
    dsn = pg_server.create_database(migrated=False)
    assert apply_migrations(dsn) == [p.name for p in migration_files()]
    with connect(dsn) as conn:
        assert [r[0] for r in conn.execute("select extname from pg_extension")] == ["plpgsql"]
        (post_id,) = conn.execute(
            "insert into social_posts (status) values ('posted') returning id"
        ).fetchone()
    assert isinstance(post_id, uuid.UUID)


def test_the_seed_migration_adopts_existing_seed_tables_and_keeps_their_rows(pg_server: PgServer) -> None:
    dsn = pg_server.create_database(migrated=False)
    with connect(dsn) as conn:  # a project that already runs the seed service
        conn.execute(
            "create table social_posts (id uuid default gen_random_uuid() primary key, user_id uuid not null,"
            " provider text, provider_post_id text, platforms text[], platform_post_ids jsonb,"
            " platform_post_urls jsonb, content text, media_urls text[], scheduled_for timestamptz,"
            " posted_at timestamptz, status text, error_message text, campaign_id uuid,"
            " batch_number integer, created_at timestamptz default now())"
        )
        conn.execute(
            "insert into social_posts (user_id, content, status, platforms) values (%s, 'old', 'posted', %s)",
            (ALICE, ["twitter"]),
        )
    apply_migrations(dsn)
    with connect(dsn) as conn:
        row = conn.execute("select content, platforms, campaign, post_key from social_posts").fetchone()
    assert row == ("old", ["twitter"], None, None)


def columns_of_sqlite() -> dict[str, set[str]]:
    conn = sqlite3.connect(":memory:")
    conn.executescript(resources.files("postdeck.ledger").joinpath("sqlite_schema.sql").read_text())
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
    return {t: {r[1] for r in conn.execute(f"pragma table_info({t})")} for t in tables}


def test_sqlite_and_postgres_schemas_have_the_same_tables_and_columns(pg_dsn: str) -> None:
    with connect(pg_dsn) as conn:
        rows = conn.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'public'"
        ).fetchall()
    postgres: dict[str, set[str]] = {}
    for table, column in rows:
        postgres.setdefault(table, set()).add(column)
    for table in SUPABASE_ONLY:
        del postgres[table]
    assert columns_of_sqlite() == postgres


def test_the_state_machine_in_sql_is_the_one_in_python(pg_dsn: str) -> None:
    statuses = list(DeliveryStatus)
    with connect(pg_dsn) as conn:
        allowed = {
            (a, b)
            for a in statuses
            for b in statuses
            if conn.execute("select delivery_transition_allowed(%s, %s)", (a, b)).fetchone()[0]
        }
    assert allowed == {(a, b) for a, targets in ALLOWED.items() for b in targets}


def test_history_and_ledger_queries_have_indexes(pg_dsn: str) -> None:
    with connect(pg_dsn) as conn:
        indexes = {
            r[0]: r[1]
            for r in conn.execute("select indexname, indexdef from pg_indexes where schemaname = 'public'")
        }
    assert "(user_id, created_at DESC)" in indexes["social_posts_user"]
    assert "(user_id, status, created_at DESC)" in indexes["social_posts_user_status"]
    assert "gin (platforms)" in indexes["social_posts_platforms"]
    assert "(campaign, key)" in indexes["deliveries_campaign"]
    assert "UNIQUE" in indexes["deliveries_pkey"]


# --- constraints --------------------------------------------------------------------------------

BAD_ROWS = [
    (
        "status outside the state machine",
        "insert into deliveries (key, campaign, batch_id, platform, status,"
        " owner) values ('c/b/x', 'c', 'b', 'x', 'sent', 'r')",
        "deliveries_status_check",
    ),
    (
        "a key that is not campaign/batch/platform",
        "insert into deliveries (key, campaign, batch_id, platform,"
        " status, owner) values ('c/b/y', 'c', 'b', 'x', 'claimed', 'r')",
        "deliveries_key_parts",
    ),
    (
        "a claim without its holder",
        "insert into deliveries (key, campaign, batch_id, platform, status)"
        " values ('c/b/x', 'c', 'b', 'x', 'claimed')",
        "deliveries_claim_has_owner",
    ),
    (
        "a lease on a finished delivery",
        "insert into deliveries (key, campaign, batch_id, platform, status,"
        " lease_until) values ('c/b/x', 'c', 'b', 'x', 'posted', now())",
        "deliveries_lease_only_while_claimed",
    ),
    (
        "negative attempts",
        "insert into deliveries (key, campaign, batch_id, platform, status, owner, attempts)"
        " values ('c/b/x', 'c', 'b', 'x', 'claimed', 'r', -1)",
        "deliveries_attempts_check",
    ),
    (
        "a history status outside the state machine",
        "insert into social_posts (status) values ('sent')",
        "social_posts_status_check",
    ),
    (
        "an unknown provider's key",
        "insert into user_social_credentials (user_id, provider, encrypted_api_key)"
        f" values ('{ALICE}', 'buffer', 'gAAAAABkZXhhbXBsZS10b2tlbg==')",
        "user_social_credentials_provider_check",
    ),
    (
        "an empty encrypted key",
        "insert into user_social_credentials (user_id, provider, encrypted_api_key)"
        f" values ('{ALICE}', 'late', '')",
        "user_social_credentials_token_check",
    ),
    (
        "a media digest that is not SHA-256",
        "insert into media_uploads (sha256, provider, media_url)"
        " values ('abc', 'late:global', 'https://cdn.test/a.png')",
        "media_uploads_sha256_check",
    ),
    (
        "an account list that is not a list",
        "insert into account_lists (scope, accounts, listed_at) values ('late:ab', '{}', now())",
        "account_lists_accounts_check",
    ),
    (
        "a later generation of another batch's delivery",
        "insert into deliveries (key, campaign, batch_id, platform,"
        " status, owner) values ('c/b/y#2', 'c', 'b', 'x', 'claimed', 'r')",
        "deliveries_key_parts",
    ),
    (
        "a run's commit that is not a SHA",
        "insert into campaign_runs (campaign, commit_sha) values ('c', 'main')",
        "campaign_runs_commit_sha_check",
    ),
    (
        "a dirty run without its commit",
        "insert into campaign_runs (campaign, dirty) values ('c', true)",
        "campaign_runs_dirty_has_commit",
    ),
    (
        "a kept cancel on a delivery not cancelled",
        "insert into deliveries (key, campaign, batch_id, platform, status, keep_cancelled)"
        " values ('c/b/x', 'c', 'b', 'x', 'scheduled', true)",
        "deliveries_kept_only_when_cancelled",
    ),
    (
        "a user's delivery keyed by its campaign alone (a worker from before keys were scoped)",
        "insert into deliveries (key, campaign, batch_id, platform, status, owner, user_id)"
        f" values ('c/b/x', 'c', 'b', 'x', 'claimed', 'r', '{ALICE}')",
        "deliveries_key_scope",
    ),
    (
        "a user's delivery keyed by another user",
        "insert into deliveries (key, campaign, batch_id, platform, status, owner, user_id)"
        f" values ('{BOB}:c/b/x', 'c', 'b', 'x', 'claimed', 'r', '{ALICE}')",
        "deliveries_key_scope",
    ),
    (
        "a user's key on a delivery without a user",
        "insert into deliveries (key, campaign, batch_id, platform, status, owner)"
        f" values ('{ALICE}:c/b/x', 'c', 'b', 'x', 'claimed', 'r')",
        "deliveries_key_scope",
    ),
    (
        "a scoped key of another batch's delivery",
        "insert into deliveries (key, campaign, batch_id, platform, status, owner, user_id)"
        f" values ('{ALICE}:c/b/y', 'c', 'b', 'x', 'claimed', 'r', '{ALICE}')",
        "deliveries_key_parts",
    ),
    (
        "a finished run without an end",
        "insert into campaign_runs (campaign, status) values ('c', 'completed')",
        "campaign_runs_finished_when_done",
    ),
    (
        "a run of a kind postdeck does not have",
        "insert into campaign_runs (campaign, kind) values ('c', 'deploy')",
        "campaign_runs_kind_check",
    ),
    (
        "a run's heartbeat before its start",
        "insert into campaign_runs (campaign, started_at, heartbeat_at)"
        " values ('c', now(), now() - interval '1 minute')",
        "campaign_runs_beat_after_start",
    ),
]


@pytest.mark.parametrize(("what", "sql", "constraint"), BAD_ROWS, ids=[r[0] for r in BAD_ROWS])
def test_constraints_reject(pg_dsn: str, what: str, sql: str, constraint: str) -> None:
    with connect(pg_dsn) as conn, pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute(sql)
    assert caught.value.diag.constraint_name == constraint


@pytest.mark.parametrize(
    "key", ["c/b1/twitter#2", "c/b1/twitter~0123456789ab", "c/b1/twitter@acc#3~0123456789ab"]
)
def test_later_generations_and_reposts_are_keys_of_their_delivery(pg_dsn: str, key: str) -> None:
    with connect(pg_dsn) as conn:
        insert_delivery(conn, key)
        insert_delivery(conn, f"{ALICE}:{key}", user_id=ALICE)  # and so of a user's delivery
        assert conn.execute("select count(*) from deliveries").fetchone() == (2,)


# --- delivery keys scoped by owner (issue 18, B) ------------------------------------------------

OWNER_KEYS = "20261207170000_delivery_keys_scoped_by_owner.sql"


def test_the_owner_key_migration_carries_every_users_delivery_over_to_its_scoped_key(
    pg_server: PgServer,
) -> None:
    """A ledger made with the old keys: each delivery with a user gets `<user id>:` (its reposts and
    later generations too, a cancel request following it); one without a user, and every post key
    (what the provider post carries), stay as they were."""
    dsn = pg_server.create_database(migrated=False)
    with connect(dsn) as conn:
        for path in migration_files():
            if path.name < OWNER_KEYS:
                with conn.transaction():
                    conn.execute(path.read_text())
        insert_delivery(
            conn, "launch/teaser/twitter", status="posted", owner=None, post_key="pd_a", user_id=ALICE
        )
        insert_delivery(
            conn, "launch/teaser/twitter~0123456789ab", status="posted", owner=None, user_id=ALICE
        )
        insert_delivery(conn, "launch/reveal/x@brand#2", status="scheduled", owner=None, user_id=ALICE)
        insert_delivery(conn, "launch/reveal/twitter", status="claimed", user_id=BOB)
        insert_delivery(conn, "launch/teaser/linkedin", status="posted", owner=None, post_key="pd_g")
        conn.execute(
            "insert into delivery_cancel_requests (delivery_key, user_id) values ('launch/reveal/x@brand#2', %s)",
            (ALICE,),
        )
        before = {
            r[0]: r[1:]
            for r in conn.execute("select key, status, post_key, user_id, created_at from deliveries")
        }
        with conn.transaction():
            conn.execute((MIGRATIONS_DIR / OWNER_KEYS).read_text())
        after = {
            r[0]: r[1:]
            for r in conn.execute("select key, status, post_key, user_id, created_at from deliveries")
        }
        assert after == {
            f"{ALICE}:launch/teaser/twitter": before["launch/teaser/twitter"],
            f"{ALICE}:launch/teaser/twitter~0123456789ab": before["launch/teaser/twitter~0123456789ab"],
            f"{ALICE}:launch/reveal/x@brand#2": before["launch/reveal/x@brand#2"],
            f"{BOB}:launch/reveal/twitter": before["launch/reveal/twitter"],
            "launch/teaser/linkedin": before["launch/teaser/linkedin"],
        }
        assert conn.execute("select delivery_key from delivery_cancel_requests").fetchall() == [
            (f"{ALICE}:launch/reveal/x@brand#2",)
        ]
        # A cancel request follows its delivery's key from now on too, and goes with it.
        conn.execute(f"delete from deliveries where key = '{ALICE}:launch/reveal/x@brand#2'")
        assert conn.execute("select count(*) from delivery_cancel_requests").fetchone() == (0,)


def claim_for(conn, key: str, user: str | None, owner: str = "run-b"):
    campaign, batch, platform = key.rpartition(":")[2].split("/")
    (reply,) = conn.execute(
        "select claim_delivery(%s, %s, %s, %s, 'ch', 'sh', 'caption', null, %s, %s, 600, %s)",
        (key, campaign, batch, platform, user, owner, NOW),
    ).fetchone()
    return reply


def test_a_worker_from_before_keys_were_scoped_is_refused_not_answered_with_a_users_row(pg_dsn: str) -> None:
    with connect(pg_dsn) as conn:
        assert claim_for(conn, f"{ALICE}:launch/teaser/twitter", ALICE, "run-a")["state"] == "claimed"
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            claim_for(conn, "launch/teaser/twitter", ALICE)  # its key: the campaign's alone
        assert refused.value.diag.constraint_name == "deliveries_key_scope"
        # Also where that old key is an unowned campaign's delivery: refused, not answered with its row.
        assert claim_for(conn, "launch/teaser/twitter", None, "run-n")["state"] == "claimed"
        with pytest.raises(psycopg.errors.CheckViolation):
            claim_for(conn, "launch/teaser/twitter", ALICE)
        assert sorted(conn.execute("select key, owner from deliveries").fetchall()) == [
            (f"{ALICE}:launch/teaser/twitter", "run-a"),
            ("launch/teaser/twitter", "run-n"),
        ]


def test_claim_delivery_refuses_another_users_row_naming_both_even_without_the_key_check(pg_dsn: str) -> None:
    """Defense in depth: were a row of one user's ever under a key another user's claim names, the claim
    is refused (naming both), in a single claim and in a batch, never answered with that row."""
    from psycopg.types.json import Jsonb

    with connect(pg_dsn) as conn:
        conn.execute("alter table deliveries drop constraint deliveries_key_scope")
        insert_delivery(conn, "launch/teaser/twitter", status="posted", owner=None, user_id=ALICE)
        for stranger in (BOB, None):
            with pytest.raises(
                psycopg.errors.RaiseException,
                match=f"belongs to user {ALICE}, not to {stranger or '[(]none[)]'}",
            ):
                claim_for(conn, "launch/teaser/twitter", stranger)
            item = {
                "key": "launch/teaser/twitter",
                "campaign": "launch",
                "batch_id": "teaser",
                "platform": "twitter",
                "user_id": stranger,
            }
            with pytest.raises(psycopg.errors.RaiseException, match=ALICE):
                conn.execute("select claim_deliveries(%s, 'run-b', 600, %s)", (Jsonb([item]), NOW))
        assert claim_for(conn, "launch/teaser/twitter", ALICE)["state"] == "done"  # Alice's own: as before
        assert conn.execute("select status, user_id::text from deliveries").fetchall() == [("posted", ALICE)]


def test_a_delivery_names_the_run_and_commit_that_sent_it(pg_dsn: str) -> None:
    with connect(pg_dsn) as conn:
        (run_id,) = conn.execute(
            "insert into campaign_runs (campaign, commit_sha, dirty) values ('c', %s, true) returning id",
            (SHA[:40],),
        ).fetchone()
        insert_delivery(conn, run_id=run_id, commit_sha=SHA[:40])
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            insert_delivery(conn, "c/b2/twitter", run_id=str(uuid.uuid4()))
        conn.execute("delete from campaign_runs")
        assert conn.execute("select run_id, commit_sha from deliveries").fetchone() == (None, SHA[:40])


def test_a_delivery_key_is_unique(pg_dsn: str) -> None:
    with connect(pg_dsn) as conn:
        insert_delivery(conn)
        with pytest.raises(psycopg.errors.UniqueViolation):
            insert_delivery(conn, owner="run-2")


# --- two concurrent claimers --------------------------------------------------------------------

INSERT_IF_ABSENT = (
    "insert into deliveries (key, campaign, batch_id, platform, status, owner) values"
    " ('c/b1/twitter', 'c', 'b1', 'twitter', 'claimed', %s) on conflict (key) do nothing"
)


def test_a_second_claimer_waits_for_the_first_and_then_inserts_nothing(pg_dsn: str) -> None:
    first, second = connect(pg_dsn), connect(pg_dsn)
    with first, second:
        with first.transaction():
            assert first.execute(INSERT_IF_ABSENT, ("run-1",)).rowcount == 1
            result: dict[str, int] = {}
            racer = threading.Thread(
                target=lambda: result.update(rows=second.execute(INSERT_IF_ABSENT, ("run-2",)).rowcount)
            )
            racer.start()
            racer.join(timeout=0.5)
            assert racer.is_alive(), "the second claimer must block on the first's uncommitted row"
        racer.join(timeout=10)
        assert result == {"rows": 0}
        owners = first.execute("select owner from deliveries").fetchall()
    assert owners == [("run-1",)]


def claim(conn, key: str, owner: str, *, now: datetime = NOW, lease: float = 600) -> str:
    campaign, batch, platform = key.split("/")
    (reply,) = conn.execute(
        "select claim_delivery(%s, %s, %s, %s, 'ch', 'sh', 'caption', null, null, %s, %s, %s)",
        (key, campaign, batch, platform, owner, lease, now),
    ).fetchone()
    return reply["state"]


def race(dsn: str, keys: list[str], *, now: datetime = NOW) -> dict[str, list[tuple[str, str]]]:
    """Two threads, each on its own connection, claim the same keys at the same moment."""
    barrier = threading.Barrier(2)
    results: dict[str, list[tuple[str, str]]] = {}

    def claimer(owner: str) -> None:
        with connect(dsn) as conn:
            barrier.wait()
            results[owner] = [(key, claim(conn, key, owner, now=now)) for key in keys]

    threads = [threading.Thread(target=claimer, args=(owner,)) for owner in ("p1", "p2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_concurrent_claimers_win_each_key_exactly_once(pg_dsn: str) -> None:
    keys = [f"c/b{i}/twitter" for i in range(60)]
    results = race(pg_dsn, keys)
    for i, key in enumerate(keys):
        states = sorted([results["p1"][i][1], results["p2"][i][1]])
        assert states == ["claimed", "held"], key
    with connect(pg_dsn) as conn:
        assert conn.execute("select count(*), count(distinct key) from deliveries").fetchone() == (60, 60)


def test_two_claimers_taking_over_an_expired_lease_recover_it_once(pg_dsn: str) -> None:
    keys = [f"c/b{i}/twitter" for i in range(30)]
    with connect(pg_dsn) as conn:
        for key in keys:
            claim(conn, key, "dead", lease=60)
    results = race(pg_dsn, keys, now=NOW + timedelta(minutes=5))
    for i, key in enumerate(keys):
        assert sorted([results["p1"][i][1], results["p2"][i][1]]) == ["held", "recovered"], key
    with connect(pg_dsn) as conn:
        assert {r[0] for r in conn.execute("select attempts from deliveries")} == {2}


def test_migration_files_are_plain_sql_named_in_order() -> None:
    names = [p.name for p in migration_files()]
    assert names == sorted(names) and len(names) >= 4
    for path in migration_files():
        text = Path(path).read_text().lower()
        assert "pgcrypto" not in text and "uuid-ossp" not in text and "uuid_generate" not in text


# --- the batch functions (claim_deliveries, record_delivery_outcomes) ------------------------------


def batch_item(key: str) -> dict:
    campaign, batch, platform = key.split("/")
    return {"key": key, "campaign": campaign, "batch_id": batch, "platform": platform, "caption": "cap"}


def batch_call(function: str, keys: list[str], owner: str) -> tuple[str, tuple]:
    from psycopg.types.json import Jsonb

    if function == "claim_deliveries":
        return "select claim_deliveries(%s, %s, 600, %s)", (Jsonb([batch_item(k) for k in keys]), owner, NOW)
    # No owner: as a follow-up records, over any run's claim.
    return "select record_delivery_outcomes(%s, null, %s)", (
        Jsonb([{"key": k, "status": "posted"} for k in keys]),
        NOW,
    )


BATCH_FUNCTIONS = ("claim_deliveries", "record_delivery_outcomes")


def waiting_for_locks(conn) -> int:
    (count,) = conn.execute(
        "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
    ).fetchone()
    return count


@pytest.mark.parametrize("function", BATCH_FUNCTIONS)
def test_two_batches_naming_the_same_keys_in_opposite_orders_do_not_deadlock(
    pg_dsn: str, function: str
) -> None:
    """Each batch locks its rows in key order, whatever the order it was given. In the given order,
    p1 would hold a and p2 b while both wait for c (held by a third transaction); once c is free,
    each would then wait for the other's row, and PostgreSQL would abort one as a deadlock."""
    keys = ["c/a/twitter", "c/c/twitter", "c/b/twitter"]
    with connect(pg_dsn) as conn:
        for key in keys:
            claim(conn, key, "run-0")
    holder, watcher = connect(pg_dsn), connect(pg_dsn)
    errors: list[Exception] = []

    def batch(owner: str, order: list[str]) -> None:
        try:
            with connect(pg_dsn) as conn:
                conn.execute(*batch_call(function, order, owner))
        except psycopg.Error as exc:
            errors.append(exc)

    with holder, watcher:
        with holder.transaction():
            holder.execute("select 1 from deliveries where key = 'c/c/twitter' for update")
            threads = [
                threading.Thread(target=batch, args=("p1", keys)),
                threading.Thread(target=batch, args=("p2", keys[::-1])),
            ]
            for t in threads:
                t.start()
            deadline = datetime.now(UTC) + timedelta(seconds=10)
            while waiting_for_locks(watcher) < 2 and datetime.now(UTC) < deadline:
                threading.Event().wait(0.02)
            assert waiting_for_locks(watcher) == 2, "both batches must be waiting for a lock"
        for t in threads:
            t.join(timeout=30)
    assert errors == []
