"""Each role's reach on the migrated database (a real PostgreSQL, as PostgREST sets the role per request):
anon nothing; a signed-in user their own rows, read only, and a cancel request through a function;
the plan role the deliveries, read only; the service role everything."""

from __future__ import annotations

import pytest

from tests.pg import as_role

pytest_plugins = ["tests.pg"]

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres

TABLES = (
    "user_social_credentials",
    "social_posts",
    "deliveries",
    "campaign_runs",
    "media_uploads",
    "account_lists",
    "delivery_cancel_requests",
)
ALICE = "00000000-0000-4000-8000-00000000a11c"
BOB = "00000000-0000-4000-8000-000000000b0b"
PLANNER = "postdeck_planner"


def delivery_key(user: str, n: int = 0) -> str:
    return f"{user}:c/{user[-4:]}{n}/twitter"  # a user's delivery is keyed by the user


ROW_FACTORIES = {
    "user_social_credentials": lambda user, n: (
        "insert into user_social_credentials (user_id, provider, encrypted_api_key) values (%s, %s, %s)",
        (user, ["postforme", "late"][n], "gAAAAABkZXhhbXBsZS10b2tlbg=="),
    ),
    "social_posts": lambda user, n: (
        "insert into social_posts (user_id, status, content) values (%s, 'posted', %s)",
        (user, f"post {n}"),
    ),
    "deliveries": lambda user, n: (
        "insert into deliveries (key, campaign, batch_id, platform, status, user_id)"
        " values (%s, 'c', %s, 'twitter', 'scheduled', %s)",
        (delivery_key(user, n), f"{user[-4:]}{n}", user),
    ),
    "campaign_runs": lambda user, n: (
        "insert into campaign_runs (campaign, user_id) values (%s, %s)",
        (f"c{n}", user),
    ),
    "media_uploads": lambda user, n: (
        "insert into media_uploads (sha256, provider, media_url, user_id) values (%s, 'late', 'https://m.test/x', %s)",
        (f"{user[-4:]}{n}".ljust(64, "0"), user),
    ),
    "account_lists": lambda user, n: (
        "insert into account_lists (scope, accounts, listed_at, user_id) values (%s, '[]', now(), %s)",
        (f"late:{user[-4:]}{n}", user),
    ),
    "delivery_cancel_requests": lambda user, n: (
        "insert into delivery_cancel_requests (delivery_key, user_id) values (%s, %s)",
        (delivery_key(user, 9), user),
    ),
}
# The ledger's writing functions: the service role's alone.
LEDGER_FUNCTIONS = {
    "claim_delivery": "select claim_delivery(%s, 'c', 'x', 'twitter', 'ch', 'sh', 'cap', null, null, 'r', 60, now())",
    "note_delivery_attempt": "select note_delivery_attempt(array[%s], 'r', 'late:global', 'pd_1')",
    "record_delivery_outcome": "select record_delivery_outcome(%s, 'posted', 'late', 'p1', null, null, null, null, null, now())",
    "reopen_failed_delivery": "select reopen_failed_delivery(%s, 'r', 60, now())",
    "claim_deliveries": "select claim_deliveries(jsonb_build_array(jsonb_build_object('key', %s::text)), 'r', 60, now())",
    "record_delivery_outcomes": "select record_delivery_outcomes(jsonb_build_array(jsonb_build_object('key', %s::text, 'status', 'posted')), 'r', now())",
    "renew_claims": "select renew_claims(%s, 60, now())",  # the owner argument: any text will do
}
DENIED = "permission denied for"


def connect(dsn: str):
    return psycopg.connect(dsn, autocommit=True)


@pytest.fixture
def conn(pg_dsn: str):
    """Two users' rows in every table, written by the service role (as the workers write them)."""
    with connect(pg_dsn) as conn:
        with as_role(conn, "service_role"):
            for user in (ALICE, BOB):
                conn.execute(*ROW_FACTORIES["deliveries"](user, 9))  # what their cancel requests name
                for table in TABLES:
                    conn.execute(*ROW_FACTORIES[table](user, 0))
        yield conn


def users_seen(conn, table: str) -> list[str]:
    return sorted({str(r[0]) for r in conn.execute(f"select user_id from {table}")})


def status_of(conn, key: str) -> str:
    with as_role(conn, "service_role"):
        return conn.execute("select status from deliveries where key = %s", (key,)).fetchone()[0]


@pytest.mark.parametrize("table", TABLES)
def test_anon_reaches_no_table(conn, table: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=DENIED), as_role(conn, "anon"):
        conn.execute(f"select * from {table}")


@pytest.mark.parametrize("function", [*LEDGER_FUNCTIONS, "request_delivery_cancel"])
@pytest.mark.parametrize("role", ["anon", PLANNER])
def test_anon_and_the_plan_role_call_no_ledger_function(conn, role: str, function: str) -> None:
    call = LEDGER_FUNCTIONS.get(function, "select request_delivery_cancel(%s)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"{DENIED} function"), as_role(conn, role):
        conn.execute(call, (delivery_key(ALICE),))


@pytest.mark.parametrize("table", TABLES)
def test_a_user_reads_only_their_own_rows_and_writes_none(conn, table: str) -> None:
    with as_role(conn, "authenticated", ALICE):
        assert users_seen(conn, table) == [ALICE]
    for write in (
        ROW_FACTORIES[table](ALICE, 1),
        (f"update {table} set user_id = user_id where user_id = %s", (ALICE,)),
        (f"delete from {table} where user_id = %s", (ALICE,)),
    ):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege, match=DENIED),
            as_role(conn, "authenticated", ALICE),
        ):
            conn.execute(*write)
    with as_role(conn, "authenticated"):  # a token without a subject sees nothing
        assert users_seen(conn, table) == []
    with as_role(conn, "service_role"):
        assert users_seen(conn, table) == sorted([ALICE, BOB])


@pytest.mark.parametrize("function", LEDGER_FUNCTIONS)
def test_a_user_cannot_claim_or_move_the_outcome_of_their_own_delivery(conn, function: str) -> None:
    key = delivery_key(ALICE)
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"{DENIED} function"),
        as_role(conn, "authenticated", ALICE),
    ):
        conn.execute(LEDGER_FUNCTIONS[function], (key,))
    assert status_of(conn, key) == "scheduled"


def test_a_user_asks_for_a_cancel_and_the_request_is_recorded_not_acted_on(conn) -> None:
    key = delivery_key(ALICE)
    ask = "select request_delivery_cancel(%s, %s)"
    with as_role(conn, "authenticated", ALICE):
        (first,) = conn.execute(ask, (key, "wrong date")).fetchone()
        (again,) = conn.execute(ask, (key, "still wrong")).fetchone()
        mine = conn.execute("select delivery_key, reason from delivery_cancel_requests").fetchall()
    assert first["user_id"] == ALICE and first["reason"] == "wrong date" and first["handled_at"] is None
    assert again["id"] == first["id"]  # one open request per delivery
    assert (key, "wrong date") in mine and status_of(conn, key) == "scheduled"
    with pytest.raises(psycopg.errors.RaiseException, match="of yours"), as_role(conn, "authenticated", BOB):
        conn.execute(ask, (key, None))  # someone else's delivery
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, "authenticated"):
        conn.execute(ask, (key, None))  # no signed-in user
    with as_role(conn, "service_role"):
        conn.execute("update deliveries set status = 'posted' where key = %s", (key,))
    with (
        pytest.raises(psycopg.errors.RaiseException, match="is posted: there is nothing to cancel"),
        as_role(conn, "authenticated", ALICE),
    ):
        conn.execute(ask, (key, None))


def test_the_plan_role_reads_every_delivery_and_nothing_else(conn) -> None:
    with as_role(conn, PLANNER):
        assert users_seen(conn, "deliveries") == sorted([ALICE, BOB])
    for write in (
        ROW_FACTORIES["deliveries"](ALICE, 1),
        ("update deliveries set status = 'cancelled' where user_id = %s", (ALICE,)),
        ("delete from deliveries", ()),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=DENIED), as_role(conn, PLANNER):
            conn.execute(*write)
    for table in set(TABLES) - {"deliveries"}:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=DENIED), as_role(conn, PLANNER):
            conn.execute(f"select * from {table}")


def test_the_service_role_claims_records_and_handles_cancel_requests(conn) -> None:
    key = "c/x/twitter"  # LEDGER_FUNCTIONS claim batch x
    with as_role(conn, "service_role"):
        (claim,) = conn.execute(LEDGER_FUNCTIONS["claim_delivery"], (key,)).fetchone()
        assert claim["state"] == "claimed"
        (row,) = conn.execute(LEDGER_FUNCTIONS["record_delivery_outcome"], (key,)).fetchone()
        assert row["status"] == "posted"
        handled = conn.execute(
            "update delivery_cancel_requests set handled_at = now() returning user_id"
        ).fetchall()
        assert sorted(str(r[0]) for r in handled) == sorted([ALICE, BOB])
        for table in TABLES:
            assert {ALICE, BOB} <= set(users_seen(conn, table))  # and the new claim, of no user
