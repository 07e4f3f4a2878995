"""The ledger contract against a real Supabase project (the migrations applied to it): local
(`supabase start && supabase db reset`) or hosted (`supabase db push`). See the README, "Run against
Supabase".

Runs when SUPABASE_TEST_URL and a server key are set, SUPABASE_TEST_SECRET_KEY (sb_secret_…) or the
legacy SUPABASE_TEST_SERVICE_ROLE_KEY; skipped otherwise. With SUPABASE_TEST_PUBLISHABLE_KEY and
SUPABASE_TEST_JWT_SECRET too, the read-only plan path is checked against the project's own gateway.
Every row it writes carries a random prefix or random user ids, and is deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.ledger.supabase_keys import mint_plan_token
from postdeck.ledger.supabase_reads import SupabasePlanReader
from tests.ledger.test_ledger_contract import LedgerContract, request_for

URL = os.environ.get("SUPABASE_TEST_URL")
KEY = os.environ.get("SUPABASE_TEST_SECRET_KEY") or os.environ.get("SUPABASE_TEST_SERVICE_ROLE_KEY")
PUBLISHABLE = os.environ.get("SUPABASE_TEST_PUBLISHABLE_KEY")
JWT_SECRET = os.environ.get("SUPABASE_TEST_JWT_SECRET")

pytestmark = pytest.mark.skipif(
    not (URL and KEY),
    reason="live Supabase suite: set SUPABASE_TEST_URL and SUPABASE_TEST_SECRET_KEY (or the legacy "
    "SUPABASE_TEST_SERVICE_ROLE_KEY) to run it",
)


@pytest.fixture
def ns() -> str:
    return f"pdtest{uuid.uuid4().hex[:10]}"


@pytest.fixture
def user() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def other_user() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def ledger(ns: str, user: str, other_user: str) -> Iterator[SupabaseLedger]:
    ledger = SupabaseLedger(URL, KEY)
    try:
        yield ledger
    finally:
        _clean(ledger, ns, [user, other_user])
        ledger.close()


def _clean(ledger: SupabaseLedger, ns: str, users: list[str]) -> None:
    db = ledger.client
    db.table("deliveries").delete().like("key", f"{ns}-%").execute()
    db.table("campaign_runs").delete().like("campaign", f"{ns}-%").execute()
    db.table("media_uploads").delete().like("sha256", f"{ns.encode().hex()}%").execute()
    db.table("social_posts").delete().like("campaign", f"{ns}-%").execute()
    for user in users:
        db.table("social_posts").delete().eq("user_id", user).execute()
        db.table("user_social_credentials").delete().eq("user_id", user).execute()


class TestLiveLedgerContract(LedgerContract):
    pass


@pytest.mark.skipif(
    not (PUBLISHABLE and JWT_SECRET),
    reason="set SUPABASE_TEST_PUBLISHABLE_KEY and SUPABASE_TEST_JWT_SECRET to check the plan path",
)
def test_the_plan_token_reads_deliveries_and_the_project_refuses_its_writes(ledger, ns) -> None:
    from postgrest.exceptions import APIError

    key = f"{ns}-c/a/twitter"
    ledger.claim(request_for(key), owner="live", lease_seconds=60, now=datetime.now(UTC))
    reader = SupabasePlanReader(URL, PUBLISHABLE, mint_plan_token(JWT_SECRET, days=1))
    try:
        assert [r.key for r in reader.deliveries(f"{ns}-c")] == [key]
        with pytest.raises(LedgerRefused):  # permission denied: nothing but deliveries
            reader._select_all("credentials", lambda: reader._table("user_social_credentials").select("*"))
        with pytest.raises(APIError, match="permission denied"):  # select is all it was granted
            reader.client.table("deliveries").delete().eq("key", key).execute()
    finally:
        reader.close()
