"""The ledger contract against a real Supabase project (the migrations applied to it).

Runs when SUPABASE_TEST_URL and SUPABASE_TEST_SERVICE_ROLE_KEY are set; skipped otherwise. Every row it
writes carries a random prefix or random user ids, and is deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from postdeck.ledger.supabase import SupabaseLedger
from tests.test_ledger_contract import LedgerContract

URL = os.environ.get("SUPABASE_TEST_URL")
KEY = os.environ.get("SUPABASE_TEST_SERVICE_ROLE_KEY")

pytestmark = pytest.mark.skipif(
    not (URL and KEY),
    reason="live Supabase suite: set SUPABASE_TEST_URL and SUPABASE_TEST_SERVICE_ROLE_KEY to run it",
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
