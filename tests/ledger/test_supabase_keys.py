"""Both generations of Supabase keys: which variable wins, how each is sent, what is refused and how.

The gateway is the PostgREST stand-in of tests/ledger_fixtures/postgrest.py over the embedded PostgreSQL.
"""

from __future__ import annotations

import httpx
import pytest

from postdeck.errors import LedgerError
from postdeck.ledger.factory import open_backend, open_ledger
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.ledger.supabase_keys import KeyKind, key_kind, mint_plan_token
from postdeck.ledger.supabase_reads import SupabasePlanReader
from postdeck.settings import report
from tests.ledger_fixtures.keys import (
    JWT_SECRET,
    LEGACY_ANON_KEY,
    LEGACY_SERVICE_KEY,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    user_token,
)
from tests.ledger_fixtures.postgrest import PostgrestEmulator

pytest_plugins = ["tests.pg"]

URL = "https://p.supabase.co"
USER = "00000000-0000-4000-8000-0000000000a1"


def test_each_kind_of_key_is_told_apart() -> None:
    assert key_kind(SECRET_KEY) == KeyKind.SECRET
    assert key_kind(PUBLISHABLE_KEY) == KeyKind.PUBLISHABLE
    assert key_kind(LEGACY_SERVICE_KEY) == KeyKind.SERVICE_ROLE_JWT
    assert key_kind(LEGACY_ANON_KEY) == KeyKind.ANON_JWT
    assert key_kind(user_token(USER)) == KeyKind.ROLE_JWT
    assert key_kind(mint_plan_token(JWT_SECRET)) == KeyKind.ROLE_JWT
    assert key_kind("a.b") == KeyKind.OPAQUE and key_kind("x.!!.y") == KeyKind.OPAQUE


def sent_headers(key: str) -> httpx.Headers:
    """The headers of the first request a SupabaseLedger with `key` sends."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    ledger = SupabaseLedger(URL, key, http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    assert ledger.get("c/a/twitter") is None
    return seen[0].headers


def test_a_secret_key_is_sent_as_apikey_only_and_a_legacy_key_as_both_headers() -> None:
    new = sent_headers(SECRET_KEY)
    assert new["apikey"] == SECRET_KEY and "authorization" not in new
    legacy = sent_headers(LEGACY_SERVICE_KEY)
    assert legacy["apikey"] == LEGACY_SERVICE_KEY
    assert legacy["authorization"] == f"Bearer {LEGACY_SERVICE_KEY}"


@pytest.mark.postgres
def test_the_gateway_refuses_a_secret_key_as_a_bearer_token_as_supabase_py_sends_it(pg_dsn: str) -> None:
    """supabase-py #1228/#1230: a bare supabase-py client with an sb_secret_ key gets PGRST301."""
    from postgrest.exceptions import APIError

    from supabase import ClientOptions, create_client

    emulator = PostgrestEmulator(pg_dsn)
    http = httpx.Client(transport=httpx.MockTransport(emulator))
    bare = create_client(URL, SECRET_KEY, options=ClientOptions(httpx_client=http))
    with pytest.raises(APIError) as caught:
        bare.table("deliveries").select("*").execute()
    assert caught.value.code == "PGRST301" and "Expected 3 parts in JWT" in caught.value.message
    ledger = SupabaseLedger(
        URL, SECRET_KEY, http_client=httpx.Client(transport=httpx.MockTransport(emulator))
    )
    assert ledger.deliveries("c") == []  # the same key, shaped as the gateway expects


@pytest.mark.postgres
def test_the_gateway_refuses_a_forged_token_and_an_unknown_apikey(pg_dsn: str) -> None:
    emulator = PostgrestEmulator(pg_dsn)
    forged = mint_plan_token("not-the-project-secret-at-least-32-chars")
    request = httpx.Request(
        "GET",
        f"{URL}/rest/v1/deliveries",
        headers={"apikey": PUBLISHABLE_KEY, "authorization": f"Bearer {forged}"},
    )
    assert emulator(request).status_code == 401
    unknown = httpx.Request("GET", f"{URL}/rest/v1/deliveries", headers={"apikey": "sb_secret_guess"})
    assert emulator(unknown).json()["message"] == "Invalid API key"


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (PUBLISHABLE_KEY, "holds a publishable key"),
        (LEGACY_ANON_KEY, "holds a legacy anon key"),
        (user_token(USER), "a JWT for the role 'authenticated'"),
        (mint_plan_token(JWT_SECRET), "the read-only plan token belongs in SUPABASE_PLAN_TOKEN"),
    ],
    ids=["publishable", "anon", "user-jwt", "plan-token"],
)
def test_a_key_that_cannot_write_is_refused_before_any_request(key: str, says: str) -> None:
    never = httpx.Client(transport=httpx.MockTransport(lambda request: pytest.fail(f"sent {request.url}")))
    with pytest.raises(LedgerError, match=says) as caught:
        SupabaseLedger(URL, key, http_client=never)
    assert "SUPABASE_SECRET_KEY" in str(caught.value) and key not in str(caught.value)
    with pytest.raises(LedgerError, match="SUPABASE_SERVICE_ROLE_KEY holds"):
        open_backend({"SUPABASE_URL": URL, "SUPABASE_SERVICE_ROLE_KEY": key})


def test_the_secret_key_wins_over_the_legacy_one_and_either_alone_is_enough() -> None:
    both = open_backend(
        {"SUPABASE_URL": URL, "SUPABASE_SECRET_KEY": SECRET_KEY, "SUPABASE_SERVICE_ROLE_KEY": LEGACY_ANON_KEY}
    )
    assert isinstance(both, SupabaseLedger) and both.key_variable == "SUPABASE_SECRET_KEY"
    legacy = open_backend({"SUPABASE_URL": URL, "SUPABASE_SERVICE_ROLE_KEY": LEGACY_SERVICE_KEY})
    assert isinstance(legacy, SupabaseLedger) and legacy.key_variable == "SUPABASE_SERVICE_ROLE_KEY"
    with pytest.raises(LedgerError, match="SUPABASE_SECRET_KEY holds a publishable key"):
        open_backend({"SUPABASE_URL": URL, "SUPABASE_SECRET_KEY": PUBLISHABLE_KEY})


def test_the_plan_token_opens_a_reader_and_publishing_refuses_it_at_once() -> None:
    env = {
        "SUPABASE_URL": URL,
        "SUPABASE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "SUPABASE_PLAN_TOKEN": mint_plan_token(JWT_SECRET),
    }
    assert isinstance(open_backend(env), SupabasePlanReader)
    with pytest.raises(
        LedgerError, match=r"read-only plan token .* need SUPABASE_SECRET_KEY; nothing was sent"
    ):
        open_ledger(env)
    with pytest.raises(LedgerError, match="SUPABASE_PUBLISHABLE_KEY is not"):
        open_backend({"SUPABASE_URL": URL, "SUPABASE_PLAN_TOKEN": env["SUPABASE_PLAN_TOKEN"]})
    with pytest.raises(LedgerError, match="a secret key there would let a plan job write"):
        open_backend({**env, "SUPABASE_PUBLISHABLE_KEY": SECRET_KEY})
    with pytest.raises(LedgerError, match="role claim 'postdeck_planner'"):
        open_backend({**env, "SUPABASE_PLAN_TOKEN": user_token(USER)})


def test_postdeck_config_lists_both_generations_and_masks_them() -> None:
    rows = {row["variable"]: row for row in report({"SUPABASE_SECRET_KEY": SECRET_KEY})}
    assert rows["SUPABASE_SECRET_KEY"]["value"] == f"sb_s…({len(SECRET_KEY)} chars)"
    assert "deprecated" in rows["SUPABASE_SERVICE_ROLE_KEY"]["description"]
    assert {"SUPABASE_PUBLISHABLE_KEY", "SUPABASE_PLAN_TOKEN", "SUPABASE_JWT_SECRET"} <= set(rows)


@pytest.mark.postgres
def test_a_callers_supabase_py_client_with_a_secret_key_works_and_a_publishable_one_is_refused(
    pg_dsn: str,
) -> None:
    from supabase import ClientOptions, create_client

    http = httpx.Client(transport=httpx.MockTransport(PostgrestEmulator(pg_dsn)))
    seeds = create_client(URL, SECRET_KEY, options=ClientOptions(httpx_client=http))  # as seed 000 makes it
    assert SupabaseLedger.from_client(seeds).deliveries("c") == []
    public = create_client(URL, PUBLISHABLE_KEY, options=ClientOptions(httpx_client=http))
    with pytest.raises(LedgerError, match="holds a publishable key"):
        SupabaseLedger.from_client(public)
