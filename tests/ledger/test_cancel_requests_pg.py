"""Users' cancel requests are acted on (issue 21: recorded, never acted on): a signed-in user asks
through request_delivery_cancel on the real PostgreSQL; the workers' handler (what the sync flow runs)
cancels the post at the simulator over HTTP, records and pins the deliveries, and closes the requests
with what came of them. Asking for one platform of a post that carries two is closed with that said."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from postdeck.chain_factory import build_chain, close_chain, sandbox_links
from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.base import CancelRequests
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox
from postdeck.schemas.deliveries import Delivery
from postdeck.service.cancel_requests import handle_cancel_requests
from tests.ledger_fixtures.postgrest import PostgrestEmulator
from tests.pg import as_role

pytest_plugins = ["tests.pg"]
psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres

ALICE = "00000000-0000-4000-8000-00000000a11c"
SERVICE_KEY = "test-service-role-key"


@pytest.fixture
def box(tmp_path) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path / "box", persist=False)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def ledger(pg_dsn: str) -> SupabaseLedger:
    emulator = PostgrestEmulator(pg_dsn, service_key=SERVICE_KEY)
    return SupabaseLedger(
        "http://supabase.test", SERVICE_KEY, http_client=httpx.Client(transport=httpx.MockTransport(emulator))
    )


def scheduled_batch() -> list[Delivery]:
    at = datetime.now(UTC) + timedelta(days=3)
    return [
        Delivery(
            str(DeliveryKey("launch", "teaser", p, owner=ALICE)),
            "launch",
            "teaser",
            p,
            "Soon",
            (),
            at,
            owner=ALICE,
        )
        for p in (Platform.TWITTER, Platform.LINKEDIN)
    ]


def ask(pg_dsn: str, key: str, reason: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn, as_role(conn, "authenticated", ALICE):
        conn.execute("select request_delivery_cancel(%s, %s)", (key, reason))


def requests_of(pg_dsn: str) -> list[tuple]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn, as_role(conn, "service_role"):
        return conn.execute(
            "select delivery_key, handled_at is not null, result from delivery_cancel_requests order by requested_at"
        ).fetchall()


def test_requested_cancels_are_acted_on_and_closed_with_what_came_of_them(
    pg_dsn: str, ledger: SupabaseLedger, box: Sandbox
) -> None:
    assert isinstance(ledger, CancelRequests)
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    chain = build_chain(links, ledger)
    try:
        batch = scheduled_batch()
        sent = publish_batch(batch, ledger=ledger, chain=chain, owner="run")
        assert {r.status for r in sent} == {DeliveryStatus.SCHEDULED}
        (post_id,) = list(box.postforme.posts)
        twitter, linkedin = (d.key for d in batch)

        ask(pg_dsn, twitter, "wrong date")  # one platform of a post that carries two
        (only,) = handle_cancel_requests(ledger.open_cancel_requests(), ledger=ledger, chain=chain)
        assert only.closed and f"also carries {linkedin}" in only.result
        assert ledger.get(twitter).status == DeliveryStatus.SCHEDULED
        assert requests_of(pg_dsn) == [(twitter, True, only.result)]

        ask(pg_dsn, twitter, "wrong date")
        ask(pg_dsn, linkedin, "wrong date")
        done = handle_cancel_requests(ledger.open_cancel_requests(), ledger=ledger, chain=chain)
        assert sorted((r.key, r.result, r.closed) for r in done) == sorted(
            [(twitter, "cancelled", True), (linkedin, "cancelled", True)]
        )
        for key in (twitter, linkedin):
            record = ledger.get(key)
            assert (
                record.status == DeliveryStatus.CANCELLED and record.keep_cancelled
            )  # the file won't redo it
        assert post_id not in box.postforme.posts  # deleted at the provider
        assert ledger.open_cancel_requests() == []
        assert [r[1:] for r in requests_of(pg_dsn)][1:] == [(True, "cancelled"), (True, "cancelled")]
    finally:
        close_chain(chain)
