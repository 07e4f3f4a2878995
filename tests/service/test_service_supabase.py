"""Seed 000 with a Supabase client: `service.init(supabase)` records in that project, and
`publish_batch` reads the batch from `campaigns.creative_calendar` as the seed does.

The project is PostgREST emulated over the embedded PostgreSQL with every migration applied; the
client is supabase-py's own; the providers are the simulators over real HTTP.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from postdeck.sandbox.sandbox import Sandbox
from postdeck.service import SocialPostingService
from tests.ledger_fixtures.postgrest import PostgrestEmulator
from tests.service.test_service_harness import Sims

pytest_plugins = ["tests.pg", "tests.service.test_service_harness"]
pytestmark = pytest.mark.postgres

SERVICE_KEY = "test-service-role-key"
USER = "00000000-0000-4000-8000-0000000000a1"
CAMPAIGN_ID = "6b1f6f9e-2f0a-4a47-9a53-000000000003"
CALENDAR = {
    "batches": [
        {"caption": "Week 1: the plan"},
        {"caption": "Week 2: the beans"},
        {"caption": "Week 3: the roast"},
        {"caption": "Week 4: the cup"},
    ]
}


@pytest.fixture
def emulator(pg_dsn: str) -> PostgrestEmulator:
    return PostgrestEmulator(pg_dsn, service_key=SERVICE_KEY)


@pytest.fixture
def supabase_client(pg_dsn: str, emulator: PostgrestEmulator) -> Iterator[object]:
    from supabase import ClientOptions, create_client

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        # The app's own table, as the seed reads it (not one of postdeck's migrations).
        conn.execute("create table public.campaigns (id uuid primary key, creative_calendar jsonb)")
        conn.execute("grant select on public.campaigns to service_role")
        conn.execute(
            "insert into public.campaigns values (%s, %s::jsonb)", (CAMPAIGN_ID, json.dumps(CALENDAR))
        )
    http = httpx.Client(transport=httpx.MockTransport(emulator))
    options = ClientOptions(httpx_client=http, auto_refresh_token=False, persist_session=False)
    yield create_client("http://supabase.test", SERVICE_KEY, options=options)
    http.close()


def rows(pg_dsn: str, query: str, *args: object) -> list[tuple]:
    with psycopg.connect(pg_dsn) as conn:
        return conn.execute(query, args).fetchall()


@pytest.fixture
def service(box: Sandbox, workdir, supabase_client) -> SocialPostingService:
    svc = SocialPostingService(sandbox=True)
    svc.init(supabase_client)
    return svc


def test_init_with_a_client_records_in_that_project(service, sims: Sims, pg_dsn: str) -> None:
    assert service.ledger.ident == "supabase:http://supabase.test"
    result = service.create_post(USER, "Post via service", ["twitter"])
    assert result.success, result.error
    (post,) = sims.pfm_posts()
    assert rows(pg_dsn, "select status, provider_post_id, user_id::text from deliveries") == [
        ("posted", post["id"], USER)
    ]
    assert rows(pg_dsn, "select content, provider from social_posts") == [("Post via service", "postforme")]
    assert service.get_post_history(USER)[0].provider_post_id == post["id"]


def test_publish_batch_reads_the_creative_calendar(service, sims: Sims, pg_dsn: str) -> None:
    result = service.publish_batch(USER, CAMPAIGN_ID, 3, platforms=["twitter", "linkedin"])
    assert result.success, result.error
    (post,) = sims.pfm_posts()
    assert post["caption"] == "Week 4: the cup"  # batches[n], as the seed reads it
    assert sims.pfm_platforms_of(post) == {"x", "linkedin"}
    campaigns = rows(pg_dsn, "select distinct campaign from deliveries")
    assert campaigns == [(CAMPAIGN_ID,)]
    # Publishing the batch again, even asking for another image, sends nothing new.
    again = service.publish_batch(USER, CAMPAIGN_ID, 3, platforms=["twitter"])
    assert again.success and again.actions == {"twitter": "unchanged"}
    assert sims.pfm_stats()["create_calls"] == 1


def test_a_calendar_batch_that_is_missing_is_an_error_result(service, sims: Sims) -> None:
    result = service.publish_batch(USER, CAMPAIGN_ID, 9, platforms=["twitter"])
    assert not result.success and "has no batch 9" in result.error
    unknown = service.publish_batch(USER, str(uuid.uuid4()), 1, platforms=["twitter"])
    assert not unknown.success and "no campaign" in unknown.error
    assert sims.pfm_stats()["create_calls"] == 0


def test_a_database_outage_is_a_result_not_an_exception(service, sims: Sims, emulator) -> None:
    emulator.down = True
    result = service.create_post(USER, "while the database is down", ["twitter"])
    assert not result.success and "not sent" in result.error
    assert sims.pfm_stats()["create_calls"] == 0  # a claim that cannot be recorded sends nothing
    assert service.get_post_history(USER) == []
