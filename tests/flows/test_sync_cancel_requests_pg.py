"""The scheduled sync flow acts on users' cancel requests (issue 21) as its deployment runs it: the
real Prefect API, the Supabase ledger opened from SUPABASE_URL and SUPABASE_SECRET_KEY over loopback
HTTP (the PostgREST stand-in on the real PostgreSQL), the simulators. A user asks through
request_delivery_cancel; one sync run cancels the post at its provider, records and pins the
deliveries, closes the requests and reports a row for each; the next run finds nothing to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postdeck.chain_factory import build_chain, close_chain, sandbox_links
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox
from tests.ledger.test_cancel_requests_pg import ask, requests_of, scheduled_batch
from tests.ledger_fixtures.keys import SECRET_KEY
from tests.ledger_fixtures.postgrest import PostgrestEmulator
from tests.ledger_fixtures.serve import served

pytest_plugins = ["tests.pg"]
pytest.importorskip("psycopg")
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture
def project(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The project on loopback; the workers' environment points at it, as the sync deployment's does."""
    with served(PostgrestEmulator(pg_dsn)) as url:
        monkeypatch.setenv("SUPABASE_URL", url)
        monkeypatch.setenv("SUPABASE_SECRET_KEY", SECRET_KEY)
        yield url


def test_a_sync_run_cancels_what_users_asked_and_closes_their_requests(
    pg_dsn: str, project: str, box: Sandbox, tmp_path: Path
) -> None:
    from postdeck.flows.sync import sync_post_status

    ledger = SupabaseLedger(project, SECRET_KEY)
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    chain = build_chain(links, ledger)
    try:
        batch = scheduled_batch()
        assert {r.status for r in publish_batch(batch, ledger=ledger, chain=chain, owner="run")} == {
            DeliveryStatus.SCHEDULED
        }
    finally:
        close_chain(chain)
    (post_id,) = list(box.postforme.posts)
    for delivery in batch:
        ask(pg_dsn, delivery.key, "the launch moved")

    rows = sync_post_status(sandbox=True, campaigns=str(tmp_path))
    asked = {
        r["key"]: (r["before"], r["after"], r["error"]) for r in rows if r["before"] == "cancel requested"
    }
    assert asked == {d.key: ("cancel requested", "cancelled", "cancelled") for d in batch}
    assert post_id not in box.postforme.posts  # deleted at the provider
    for delivery in batch:
        record = ledger.get(delivery.key)
        assert record is not None and record.status == DeliveryStatus.CANCELLED and record.keep_cancelled
    assert [row[1:] for row in requests_of(pg_dsn)] == [(True, "cancelled"), (True, "cancelled")]

    again = sync_post_status(sandbox=True, campaigns=str(tmp_path))
    assert [r for r in again if r["before"] == "cancel requested"] == []
    ledger.close()
