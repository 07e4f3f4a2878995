"""Scheduled posts followed to the end: by polling (follow_up) and by the providers' webhooks.

Real simulators over loopback; the simulators' clocks are moved past the posts' time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from postdeck.chain_factory import build_chain, sandbox_links
from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.follow_up import follow_up
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox
from postdeck.schemas.deliveries import Delivery
from postdeck.webhooks import create_app, valid_late_signature, valid_postforme_secret


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = start_sandbox(persist=False)
    yield sandbox
    sandbox.stop()


def chain_for(box: Sandbox, ledger: SqliteLedger, only: str | None = None):
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    return build_chain([link for link in links if only is None or link.label.startswith(only)], ledger)


def schedule(ledger: SqliteLedger, chain, when: datetime) -> list[Delivery]:
    deliveries = [
        Delivery(str(DeliveryKey("launch", "teaser", p)), "launch", "teaser", p, "Coming soon", (), when)
        for p in (Platform.TWITTER, Platform.BLUESKY)
    ]
    reports = publish_batch(deliveries, ledger=ledger, chain=chain, owner="run")
    assert {r.status for r in reports} == {"scheduled"}
    return deliveries


@pytest.mark.parametrize("provider", ["postforme", "late"])
def test_follow_up_records_posted_once_the_time_has_passed(
    box: Sandbox, tmp_path: Path, provider: str
) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    chain = chain_for(box, ledger, only=provider)
    schedule(ledger, chain, datetime.now(UTC) + timedelta(minutes=10))
    records = ledger.deliveries("launch")

    early = follow_up(records, ledger=ledger, chain=chain)
    assert {r.after for r in early} == {"scheduled"}

    box.advance_clock(15 * 60)  # the simulators' notion of now
    (box.postforme if provider == "postforme" else box.late).tick()
    reports = follow_up(records, ledger=ledger, chain=chain)
    assert {(r.before, r.after) for r in reports} == {("scheduled", "posted")}
    assert all(r.url and r.url.startswith("https://") for r in reports)
    assert {r.status for r in ledger.deliveries("launch")} == {DeliveryStatus.POSTED}
    # Followed up again: nothing left to do, nothing re-recorded.
    assert follow_up(ledger.deliveries("launch"), ledger=ledger, chain=chain) == []


def test_late_webhook_with_a_valid_signature_records_the_outcome(box: Sandbox, tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    chain = chain_for(box, ledger, only="late")
    schedule(ledger, chain, datetime.now(UTC) + timedelta(minutes=10))
    post_id = ledger.get("launch/teaser/twitter").provider_post_id
    payload = {
        "id": "evt_1",
        "event": "post.published",
        "timestamp": datetime.now(UTC).isoformat(),
        "post": {
            "id": post_id,
            "content": "Coming soon",
            "status": "published",
            "platforms": [
                {
                    "platform": "twitter",
                    "status": "published",
                    "platformPostId": "1",
                    "publishedUrl": "https://twitter.com/a/status/1",
                },
                {"platform": "bluesky", "status": "failed", "error": "rate limited by the platform"},
            ],
        },
    }
    body = json.dumps(payload).encode()
    client = TestClient(create_app(ledger, chain_for=lambda owner: chain, late_secret="s3cret"))

    forged = client.post("/webhooks/late", content=body, headers={"X-Zernio-Signature": "0" * 64})
    assert (
        forged.status_code == 401 and ledger.get("launch/teaser/twitter").status == DeliveryStatus.SCHEDULED
    )

    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    ok = client.post("/webhooks/late", content=body, headers={"X-Zernio-Signature": signature})
    assert ok.status_code == 200 and ok.json()["changed"] == 2
    assert ledger.get("launch/teaser/twitter").url == "https://twitter.com/a/status/1"
    bluesky = ledger.get("launch/teaser/bluesky")
    assert bluesky.status == DeliveryStatus.FAILED and bluesky.error == "rate limited by the platform"


def test_postforme_webhook_checks_the_secret_then_reads_the_post(box: Sandbox, tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    chain = chain_for(box, ledger, only="postforme")
    schedule(ledger, chain, datetime.now(UTC) + timedelta(minutes=10))
    post_id = ledger.get("launch/teaser/twitter").provider_post_id
    box.advance_clock(15 * 60)
    box.postforme.tick()
    client = TestClient(create_app(ledger, chain_for=lambda owner: chain, postforme_secret="whsec_abc"))
    event = {"event_type": "social.post.updated", "data": {"id": post_id, "status": "processed"}}

    wrong = client.post("/webhooks/postforme", json=event, headers={"Post-For-Me-Webhook-Secret": "whsec_x"})
    assert wrong.status_code == 401 and ledger.get("launch/teaser/twitter").status == DeliveryStatus.SCHEDULED

    ok = client.post("/webhooks/postforme", json=event, headers={"Post-For-Me-Webhook-Secret": "whsec_abc"})
    assert ok.status_code == 200 and ok.json()["changed"] == 2
    assert {r.status for r in ledger.deliveries("launch")} == {DeliveryStatus.POSTED}


def test_account_events_drop_the_account_lists_kept_for_that_provider(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    scopes = {
        "postforme": "postforme:0f0f@https://api.postforme.dev",
        "late": "late:0f0f@https://zernio.com/api",
    }
    for scope in scopes.values():
        ledger.cache_accounts(scope, [], now=datetime.now(UTC))

    def kept() -> set[str]:
        since = datetime.now(UTC) - timedelta(hours=1)
        return {
            name
            for name, scope in scopes.items()
            if ledger.cached_accounts(scope, listed_after=since) is not None
        }

    client = TestClient(
        create_app(ledger, chain_for=lambda owner: None, postforme_secret="whsec_abc", late_secret="s3cret")  # type: ignore[arg-type,return-value]
    )
    event = {"event_type": "social.account.updated", "data": {"id": "spc_1", "status": "disconnected"}}
    forged = client.post("/webhooks/postforme", json=event, headers={"Post-For-Me-Webhook-Secret": "whsec_x"})
    assert forged.status_code == 401 and kept() == {"postforme", "late"}
    ok = client.post("/webhooks/postforme", json=event, headers={"Post-For-Me-Webhook-Secret": "whsec_abc"})
    assert ok.status_code == 200 and kept() == {"late"}

    body = json.dumps(
        {
            "id": "evt_2",
            "event": "account.disconnected",
            "timestamp": datetime.now(UTC).isoformat(),
            "account": {
                "accountId": "a1",
                "platform": "twitter",
                "username": "n",
                "disconnectionType": "intentional",
            },
        }
    ).encode()
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    ok = client.post("/webhooks/late", content=body, headers={"X-Zernio-Signature": signature})
    assert ok.status_code == 200 and kept() == set()

    body = b"[]"  # JSON, but not an event
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    refused = client.post("/webhooks/late", content=body, headers={"X-Zernio-Signature": signature})
    assert refused.status_code == 400


def test_signature_checks() -> None:
    body = b'{"a":1}'
    good = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert valid_late_signature(body, good, "k") and valid_late_signature(body, good.upper(), "k")
    assert not valid_late_signature(body, good, "other") and not valid_late_signature(body, None, "k")
    assert not valid_late_signature(body, good, "")  # no secret configured: refuse everything
    assert valid_postforme_secret("whsec_1", "whsec_1") and not valid_postforme_secret("whsec_1", "")


@pytest.mark.slow
def test_postdeck_webhooks_serves_the_receivers_over_http(box: Sandbox) -> None:
    """`postdeck webhooks --sandbox` as its own process: a PostForMe event is followed up at the running
    simulator and recorded in the ledger the command opened (POSTDECK_LEDGER of this test)."""
    ledger = SqliteLedger(Path(os.environ["POSTDECK_LEDGER"]))
    chain = chain_for(box, ledger, only="postforme")
    schedule(ledger, chain, datetime.now(UTC) + timedelta(minutes=10))
    post_id = ledger.get("launch/teaser/twitter").provider_post_id
    box.advance_clock(15 * 60)
    box.postforme.tick()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "POSTDECK_SANDBOX_POSTFORME_URL": box.postforme_url,
        "POSTDECK_SANDBOX_LATE_URL": box.late_url,
        "POSTFORME_WEBHOOK_SECRET": "whsec_abc",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "postdeck.cli", "webhooks", "--sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/webhooks/postforme"
    event = {"event_type": "social.post.updated", "data": {"id": post_id, "status": "processed"}}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.post(url, json=event, headers={"Post-For-Me-Webhook-Secret": "whsec_abc"})
                break
            except httpx.ConnectError:
                assert server.poll() is None and time.monotonic() < deadline, server.communicate()[0]
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["changed"] == 2
        late = httpx.post(
            url.replace("postforme", "late"), content=b"{}", headers={"X-Zernio-Signature": "0"}
        )
        assert late.status_code == 401  # LATE_WEBHOOK_SECRET unset: refused, not accepted unsigned
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert {r.status for r in ledger.deliveries("launch")} == {DeliveryStatus.POSTED}
    assert "LATE_WEBHOOK_SECRET is not set" in output


@pytest.mark.slow
def test_postdeck_webhooks_refuses_an_embedded_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSTDECK_SANDBOX_POSTFORME_URL", "POSTDECK_SANDBOX_LATE_URL"):
        monkeypatch.delenv(name, raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "postdeck.cli", "webhooks", "--sandbox"], capture_output=True, text=True
    )
    assert done.returncode == 1 and "POSTDECK_SANDBOX_POSTFORME_URL" in done.stderr
