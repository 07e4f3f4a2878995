"""The webhook receivers under attack: bodies bounded and read only after a well-formed credential
header, malformed signed events refused with a 400 (never a 500), stale and repeated events ignored.

The ASGI app is driven directly where it matters how much of the body it pulls (a TestClient would
buffer the whole body before the app sees it); elsewhere through Starlette's TestClient.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox, start_sandbox
from postdeck.webhook_intake import MAX_BODY_BYTES, SeenEvents
from postdeck.webhooks import create_app
from tests.webhooks.test_follow_up_and_webhooks import chain_for, schedule

SECRET = "s3cret"
PFM_SECRET = "whsec_abc"
CHUNK = 64 * 1024


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = start_sandbox(persist=False)
    yield sandbox
    sandbox.stop()


def app_for(ledger: SqliteLedger, chain: Any = None, **kw: Any):
    return create_app(
        ledger, chain_for=lambda owner: chain, postforme_secret=PFM_SECRET, late_secret=SECRET, **kw
    )


def signed(payload: Any) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {"X-Zernio-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


def call(app, path: str, headers: dict[str, str], chunks: int) -> tuple[int, int]:
    """POST `chunks` chunks of CHUNK bytes (chunked, no length) straight to the ASGI app; returns the
    status and how many body messages the app pulled."""
    pulled = 0
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status[0], pulled


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/late", {}),
        ("/webhooks/late", {"X-Zernio-Signature": "not-hex"}),
        ("/webhooks/late", {"X-Late-Signature": "0" * 63}),
        ("/webhooks/postforme", {}),
        ("/webhooks/postforme", {"Post-For-Me-Webhook-Secret": "whsec_wrong"}),
    ],
)
def test_no_body_is_read_without_a_well_formed_credential(tmp_path: Path, path: str, headers) -> None:
    app = app_for(SqliteLedger(tmp_path / "l.db"))
    status, pulled = call(app, path, headers, chunks=16_000)  # 1 GiB, were it all read
    assert status == 401 and pulled == 0


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/late", {"X-Zernio-Signature": "ab" * 32}),
        ("/webhooks/postforme", {"Post-For-Me-Webhook-Secret": PFM_SECRET}),
    ],
)
def test_a_body_over_1_mb_is_413_and_never_read_whole(tmp_path: Path, path: str, headers) -> None:
    app = app_for(SqliteLedger(tmp_path / "l.db"))
    status, pulled = call(app, path, headers, chunks=16_000)
    assert status == 413 and pulled * CHUNK <= MAX_BODY_BYTES + CHUNK
    # A declared length over the bound is refused before a byte is read.
    status, pulled = call(app, path, {**headers, "Content-Length": str(2**30)}, chunks=16_000)
    assert status == 413 and pulled == 0


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "e", "event": "post.published", "post": {"id": "p", "platforms": "notalist"}},
        {"id": "e", "event": "post.published", "post": "str"},
        {"id": "e", "event": "post.published", "post": {"id": 7, "platforms": []}},
        {"id": "e", "event": "post.published", "post": {"id": "p", "platforms": [1]}},
        {"id": "e", "event": "post.published", "post": {"id": "p", "platforms": [{"platform": 5}]}},
        {"id": "e", "event": "post.published", "post": {"id": "p", "platforms": [{"platform": "x"}]}},
        {"id": 5, "event": "post.published"},
        {"id": "e", "event": ["post.published"]},
        {"id": "e", "event": "post.published", "timestamp": "yesterday"},
        {"id": "e", "event": "post.published", "timestamp": 12},
        DEEP,
        b"\xff\xfe not text",
        b"[]",
    ],
)
def test_a_signed_but_malformed_late_event_is_a_short_400(tmp_path: Path, payload) -> None:
    client = TestClient(app_for(SqliteLedger(tmp_path / "l.db")), raise_server_exceptions=False)
    body, headers = signed(payload)
    answer = client.post("/webhooks/late", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert 0 < len(answer.json()["error"]) <= 80 and "Traceback" not in answer.text


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type": "social.post.updated", "data": "str"},
        {"event_type": "social.post.updated", "data": {"id": 5}},
        {"event_type": "social.post.result.created", "data": {"post_id": ["sp_1"]}},
        {"event_type": 5, "data": {}},
        {"data": {"id": "sp_1"}},
        DEEP,
        b"not json",
    ],
)
def test_a_malformed_postforme_event_is_a_short_400(tmp_path: Path, payload) -> None:
    client = TestClient(app_for(SqliteLedger(tmp_path / "l.db")), raise_server_exceptions=False)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    answer = client.post(
        "/webhooks/postforme", content=body, headers={"Post-For-Me-Webhook-Secret": PFM_SECRET}
    )
    assert answer.status_code == 400, answer.text
    assert 0 < len(answer.json()["error"]) <= 80 and "Traceback" not in answer.text


def published(post_id: str, event_id: str, at: datetime) -> dict[str, Any]:
    return {
        "id": event_id,
        "event": "post.published",
        "timestamp": at.isoformat(),
        "post": {
            "id": post_id,
            "status": "published",
            "platforms": [{"platform": "twitter", "status": "published", "publishedUrl": "https://t.co/1"}],
        },
    }


def test_stale_and_repeated_late_events_are_ignored_with_a_200(
    box: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    chain = chain_for(box, ledger, only="late")
    schedule(ledger, chain, datetime.now(UTC) + timedelta(minutes=10))
    post_id = ledger.get("launch/teaser/twitter").provider_post_id
    client = TestClient(app_for(ledger, chain, max_event_age=timedelta(hours=1)))
    caplog.set_level(logging.INFO, logger="postdeck.webhooks")

    # A captured old event, replayed: signed, but older than the tolerance. Nothing recorded.
    body, headers = signed(published(post_id, "evt_old", datetime.now(UTC) - timedelta(hours=2)))
    old = client.post("/webhooks/late", content=body, headers=headers)
    assert old.status_code == 200 and old.json() == {"received": True, "changed": 0, "ignored": "stale"}
    assert ledger.get("launch/teaser/twitter").status == DeliveryStatus.SCHEDULED
    assert "evt_old" in caplog.text and "older than" in caplog.text

    body, headers = signed(published(post_id, "evt_new", datetime.now(UTC)))
    first = client.post("/webhooks/late", content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"received": True, "changed": 1}
    assert ledger.get("launch/teaser/twitter").status == DeliveryStatus.POSTED
    again = client.post("/webhooks/late", content=body, headers=headers)
    assert again.status_code == 200 and again.json()["ignored"] == "duplicate"
    assert "evt_new" in caplog.text and "seen before" in caplog.text


def test_a_failed_event_is_not_marked_seen(tmp_path: Path) -> None:
    """An event whose handling broke is retried by the provider: the retry must not be a duplicate."""

    class Broken(SqliteLedger):
        def all_deliveries(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("database went away")

    client = TestClient(app_for(Broken(tmp_path / "l.db")), raise_server_exceptions=False)
    body, headers = signed(published("p1", "evt_x", datetime.now(UTC)))
    assert client.post("/webhooks/late", content=body, headers=headers).status_code == 500
    assert client.post("/webhooks/late", content=body, headers=headers).status_code == 500


def test_seen_events_are_bounded() -> None:
    seen = SeenEvents(capacity=3)
    for event_id in ("a", "b", "c", "d"):
        seen.add(event_id)
    assert "a" not in seen and all(e in seen for e in ("b", "c", "d")) and len(seen) == 3
    seen.add("b")  # seen again: it is the newest now, so "c" goes first
    seen.add("e")
    assert "c" not in seen and "b" in seen
