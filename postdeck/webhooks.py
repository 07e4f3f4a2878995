"""Webhook receivers for both providers: outcomes arrive as they happen, recorded like a follow-up.

- PostForMe sends a static secret in `Post-For-Me-Webhook-Secret` (POSTFORME_WEBHOOK_SECRET).
  Its result events carry no platform name, so a post's events trigger a follow-up read of that post.
- LATE signs the raw body: `X-Zernio-Signature` (legacy `X-Late-Signature`) = hex HMAC-SHA256 with
  LATE_WEBHOOK_SECRET. Its post events carry every platform's outcome, recorded directly.
Account events (connected, updated, disconnected) drop the account lists kept for that provider.
Secrets are compared in constant time. A request that fails the check changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.engine.follow_up import OPEN_STATUSES, follow_up
from postdeck.errors import LedgerError
from postdeck.ledger.base import DeliveryRecord, LedgerWriter
from postdeck.providers.chain import Chain
from postdeck.settings import settings

log = logging.getLogger("postdeck.webhooks")

_LATE_STATUS = {"published": DeliveryStatus.POSTED, "failed": DeliveryStatus.FAILED}
# Account events (connected, updated, disconnected): they make the kept account lists stale.
_POSTFORME_ACCOUNT_EVENTS = frozenset({"social.account.created", "social.account.updated"})
_LATE_ACCOUNT_EVENTS = frozenset({"account.connected", "account.disconnected"})


def valid_postforme_secret(header: str | None, secret: str) -> bool:
    return bool(secret) and header is not None and hmac.compare_digest(header.encode(), secret.encode())


def valid_late_signature(body: bytes, header: str | None, secret: str) -> bool:
    if not secret or not header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


def create_app(
    ledger: LedgerWriter,
    *,
    chain_for: Callable[[str | None], Chain],
    postforme_secret: str | None = None,
    late_secret: str | None = None,
) -> Starlette:
    """chain_for(owner) gives the chain used to read a PostForMe post after its events."""
    postforme_secret = (
        postforme_secret if postforme_secret is not None else settings().get("POSTFORME_WEBHOOK_SECRET") or ""
    )
    late_secret = late_secret if late_secret is not None else settings().get("LATE_WEBHOOK_SECRET") or ""

    async def postforme(request: Request) -> JSONResponse:
        if not valid_postforme_secret(request.headers.get("post-for-me-webhook-secret"), postforme_secret):
            return JSONResponse({"error": "invalid webhook secret"}, status_code=401)
        event = await _json(request)
        if event is None:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if event.get("event_type") in _POSTFORME_ACCOUNT_EVENTS:
            return _accounts_changed(ledger, "postforme")
        data = event.get("data") or {}
        post_id = (
            data.get("post_id") if event.get("event_type") == "social.post.result.created" else data.get("id")
        )
        records = _open_records(ledger, "postforme", post_id)
        changed = 0
        for owner in {r.user_id for r in records}:
            owned = [r for r in records if r.user_id == owner]
            reports = follow_up(owned, ledger=ledger, chain=chain_for(owner))
            changed += sum(r.before != r.after for r in reports)
        return JSONResponse({"received": True, "changed": changed})

    async def late(request: Request) -> JSONResponse:
        body = await request.body()
        signature = request.headers.get("x-zernio-signature") or request.headers.get("x-late-signature")
        if not valid_late_signature(body, signature, late_secret):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            event = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(event, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        if event.get("event") in _LATE_ACCOUNT_EVENTS:
            return _accounts_changed(ledger, "late")
        post = event.get("post") or {}
        records = {r.platform: r for r in _open_records(ledger, "late", post.get("id"))}
        changed = 0
        for target in post.get("platforms") or []:
            record = records.get(target.get("platform"))
            status = _LATE_STATUS.get(target.get("status"))
            if record is None or status is None:
                continue
            outcome = Outcome(
                status,
                provider="late",
                provider_post_id=post.get("id"),
                platform_post_id=target.get("platformPostId"),
                url=target.get("publishedUrl"),
                error=target.get("error"),
            )
            try:
                ledger.record(record.key, outcome, owner=None, now=datetime.now(UTC))
                changed += 1
            except LedgerError as exc:
                log.warning("webhook outcome for %s not recorded: %s", record.key, exc)
        return JSONResponse({"received": True, "changed": changed})

    return Starlette(
        routes=[
            Route("/webhooks/postforme", postforme, methods=["POST"]),
            Route("/webhooks/late", late, methods=["POST"]),
        ]
    )


def _accounts_changed(ledger: LedgerWriter, provider: str) -> JSONResponse:
    """An account was connected, changed or disconnected at `provider`: the account lists runs keep
    (providers.account_cache) may be stale, so the next run lists again."""
    try:
        ledger.forget_accounts_at(provider)
    except LedgerError as exc:  # the lists still age out
        log.warning("%s account event: kept account lists not dropped: %s", provider, exc)
    return JSONResponse({"received": True, "changed": 0})


def _open_records(ledger: LedgerWriter, provider: str, provider_post_id: str | None) -> list[DeliveryRecord]:
    if not provider_post_id:
        return []
    return [
        r
        for status in OPEN_STATUSES
        for r in ledger.all_deliveries(status=str(status))
        if r.provider == provider and r.provider_post_id == provider_post_id
    ]


async def _json(request: Request) -> dict | None:
    try:
        data = await request.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
