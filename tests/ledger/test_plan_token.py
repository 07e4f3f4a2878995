"""The read-only plan path end to end: `postdeck plan` with SUPABASE_PUBLISHABLE_KEY + SUPABASE_PLAN_TOKEN
reads the Supabase ledger; `postdeck post` with them stops before any provider call. The project is the
PostgREST stand-in over the embedded PostgreSQL, served on loopback, and the postdeck_planner role of
the migrations is what PostgreSQL runs the plan's requests as."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.ledger.supabase_keys import mint_plan_token
from postdeck.ledger.supabase_reads import BEYOND_READING, SupabasePlanReader
from tests.ledger.test_ledger_contract import request_for
from tests.ledger_fixtures.keys import JWT_SECRET, PUBLISHABLE_KEY, SECRET_KEY
from tests.ledger_fixtures.postgrest import PostgrestEmulator
from tests.ledger_fixtures.serve import served
from tests.service.test_service_harness import Sims, run_cli

pytest_plugins = ["tests.pg", "tests.service.test_service_harness"]
pytestmark = pytest.mark.postgres

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def project(pg_dsn: str, monkeypatch: pytest.MonkeyPatch):
    """The project on loopback, and the plan job's environment pointing at it."""
    emulator = PostgrestEmulator(pg_dsn)
    with served(emulator) as url:
        monkeypatch.setenv("SUPABASE_URL", url)
        monkeypatch.setenv("SUPABASE_PUBLISHABLE_KEY", PUBLISHABLE_KEY)
        monkeypatch.setenv("SUPABASE_PLAN_TOKEN", mint_plan_token(JWT_SECRET, days=1))
        yield url, emulator


def test_postdeck_plan_compares_with_the_ledger_through_the_plan_token(
    capsys, project, tmp_path: Path
) -> None:
    url, _ = project
    writer = SupabaseLedger(url, SECRET_KEY)  # the workers' view: one delivery already posted
    writer.claim(request_for("c/a/bluesky", caption="hello"), owner="run", lease_seconds=60, now=NOW)
    writer.record("c/a/bluesky", Outcome(DeliveryStatus.POSTED, provider="postforme"), owner="run", now=NOW)
    writer.close()
    campaign = tmp_path / "c.yaml"
    campaign.write_text("name: c\nbatches:\n  - {id: a, caption: hello, platforms: [bluesky, twitter]}\n")
    result = run_cli(capsys, "plan", str(campaign), "--format", "json")
    assert result.code == 0, result.err
    actions = {change["key"]: change["action"] for change in json.loads(result.out)["changes"]}
    # Posted with another content than the file's now: only a plan that read the row can say so.
    assert actions == {"c/a/twitter": "create", "c/a/bluesky": "conflict"}


def test_postdeck_post_with_the_plan_token_stops_before_any_provider_call(
    capsys, project, box, sims: Sims, workdir
) -> None:
    result = run_cli(capsys, "post", "Hello from a pull request", "--to", "twitter", "--sandbox")
    assert result.code == 1
    assert "read-only plan token" in result.err and "SUPABASE_SECRET_KEY" in result.err
    assert sims.pfm_stats()["create_calls"] == 0 and sims.late_posts() == []


def test_every_write_of_the_reader_is_refused_before_a_request() -> None:
    never = httpx.Client(transport=httpx.MockTransport(lambda request: pytest.fail(f"sent {request.url}")))
    reader = SupabasePlanReader(
        "http://supabase.test", PUBLISHABLE_KEY, mint_plan_token(JWT_SECRET), http_client=never
    )
    assert {
        "claim",
        "claim_many",
        "record",
        "record_many",
        "note_attempt",
        "release",
        "revise",
    } <= BEYOND_READING
    for name in sorted(BEYOND_READING):
        with pytest.raises(LedgerError, match=f"read-only .*: {name} needs SUPABASE_SECRET_KEY"):
            getattr(reader, name)()


def test_the_plan_role_reads_deliveries_but_the_database_refuses_it_the_rest(pg_dsn: str) -> None:
    from postdeck.ledger.base import LedgerRefused

    emulator = PostgrestEmulator(pg_dsn)
    client = httpx.Client(transport=httpx.MockTransport(emulator))
    reader = SupabasePlanReader(
        "http://supabase.test", PUBLISHABLE_KEY, mint_plan_token(JWT_SECRET), http_client=client
    )
    assert reader.deliveries("c") == [] and reader.get("c/a/twitter") is None
    # Below the Python guard, PostgreSQL itself: the planner's own requests to other tables are refused.
    with pytest.raises(LedgerRefused, match="permission denied"):
        reader._run("credentials", lambda: reader._table("user_social_credentials").select("*").execute())
    with pytest.raises(LedgerRefused, match="permission denied"):
        reader._run(
            "claim",
            lambda: reader.client.rpc(
                "reopen_failed_delivery",
                {"p_key": "c/a/twitter", "p_owner": "x", "p_lease_seconds": 1.0, "p_now": NOW.isoformat()},
            ).execute(),
        )


def test_the_minted_token_is_one_the_gateway_takes_for_the_plan_role(capsys, pg_dsn: str) -> None:
    from postdeck.ledger.plan_token import main

    assert main(["--days", "2"], {"SUPABASE_JWT_SECRET": JWT_SECRET}) == 0
    token = capsys.readouterr().out.strip()
    client = httpx.Client(transport=httpx.MockTransport(PostgrestEmulator(pg_dsn)))
    assert (
        SupabasePlanReader("http://supabase.test", PUBLISHABLE_KEY, token, http_client=client).deliveries("c")
        == []
    )
    assert main([], {}) == 1 and "SUPABASE_JWT_SECRET" in capsys.readouterr().err
    assert main(["--days", "4000"], {"SUPABASE_JWT_SECRET": JWT_SECRET}) == 1
