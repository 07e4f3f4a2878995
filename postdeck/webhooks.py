"""Webhook receivers for both providers: outcomes arrive as they happen, recorded like a follow-up.

- PostForMe sends a static secret in `Post-For-Me-Webhook-Secret` (POSTFORME_WEBHOOK_SECRET).
  Its result events carry no platform name, so a post's events trigger a follow-up read of that post.
- LATE signs the raw body: `X-Zernio-Signature` (legacy `X-Late-Signature`) = hex HMAC-SHA256 with
  LATE_WEBHOOK_SECRET. Its post events carry every platform's outcome, recorded directly.
Account events (connected, updated, disconnected) drop the account lists kept for that provider.

Before a body is read, its credential header must be there and well formed (a PostForMe secret that
matches, a LATE signature of 64 hex digits); the body is read as a stream, at most 1 MB (413 beyond).
Secrets are compared in constant time. A request that fails a check changes nothing; an event of a
shape the receiver cannot read is a 400 with a short reason (postdeck.webhook_events).
LATE events carry a stable id and a timestamp (PostForMe's carry neither; they only trigger a re-read
of the post, which is harmless to repeat): one older than `max_event_age`, or whose id this process
has handled already (SeenEvents, in memory, per process and per receiver), is logged and answered 200
so that LATE stops retrying it, and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.engine.follow_up import OPEN_STATUSES, follow_up
from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.chain import Chain
from postdeck.settings import settings
from postdeck.webhook_events import LateEvent, late_event, postforme_event
from postdeck.webhook_intake import Refused, SeenEvents, json_object, read_body

log = logging.getLogger("postdeck.webhooks")

_LATE_STATUS = {"published": DeliveryStatus.POSTED, "failed": DeliveryStatus.FAILED}
# Account events (connected, updated, disconnected): they make the kept account lists stale.
_POSTFORME_ACCOUNT_EVENTS = frozenset({"social.account.created", "social.account.updated"})
_LATE_ACCOUNT_EVENTS = frozenset({"account.connected", "account.disconnected"})
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# LATE keeps an event's timestamp across retries; an older one is a replay, or a retry follow-up
# polling has long covered.
DEFAULT_MAX_EVENT_AGE = timedelta(hours=1)


def valid_postforme_secret(header: str | None, secret: str) -> bool:
    return bool(secret) and header is not None and hmac.compare_digest(header.encode(), secret.encode())


def well_formed_late_signature(header: str | None) -> bool:
    """A hex SHA-256 digest: 64 hex digits (checked before the body is read)."""
    value = (header or "").strip()
    return len(value) == 64 and set(value) <= _HEX_DIGITS


def valid_late_signature(body: bytes, header: str | None, secret: str) -> bool:
    if not secret or not well_formed_late_signature(header):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())  # type: ignore[union-attr]


def create_app(
    ledger: LedgerWriter,
    *,
    chain_for: Callable[[str | None], Chain],
    postforme_secret: str | None = None,
    late_secret: str | None = None,
    max_event_age: timedelta = DEFAULT_MAX_EVENT_AGE,
) -> Starlette:
    """chain_for(owner) gives the chain used to read a PostForMe post after its events."""
    postforme_secret = (
        postforme_secret if postforme_secret is not None else settings().get("POSTFORME_WEBHOOK_SECRET") or ""
    )
    late_secret = late_secret if late_secret is not None else settings().get("LATE_WEBHOOK_SECRET") or ""
    late_seen = SeenEvents()

    async def postforme(request: Request) -> JSONResponse:
        if not valid_postforme_secret(request.headers.get("post-for-me-webhook-secret"), postforme_secret):
            return JSONResponse({"error": "invalid webhook secret"}, status_code=401)
        try:
            event = postforme_event(json_object(await read_body(request)))
        except Refused as refused:
            return _refusal(refused)
        if event.kind in _POSTFORME_ACCOUNT_EVENTS:
            return _accounts_changed(ledger, "postforme")
        records = _open_records(ledger, "postforme", event.post_id)
        changed = 0
        for owner in {r.user_id for r in records}:
            owned = [r for r in records if r.user_id == owner]
            reports = follow_up(owned, ledger=ledger, chain=chain_for(owner))
            changed += sum(r.before != r.after for r in reports)
        return JSONResponse({"received": True, "changed": changed})

    async def late(request: Request) -> JSONResponse:
        signature = request.headers.get("x-zernio-signature") or request.headers.get("x-late-signature")
        if not late_secret or not well_formed_late_signature(signature):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            body = await read_body(request)
            if not valid_late_signature(body, signature, late_secret):
                return JSONResponse({"error": "invalid signature"}, status_code=401)
            event = late_event(json_object(body))
        except Refused as refused:
            return _refusal(refused)
        ignored = _ignored(event, late_seen, max_event_age)
        if ignored:
            return JSONResponse({"received": True, "changed": 0, "ignored": ignored})
        if event.kind in _LATE_ACCOUNT_EVENTS:
            answer = _accounts_changed(ledger, "late")
        else:
            answer = JSONResponse({"received": True, "changed": _record_late(ledger, event)})
        if event.event_id:
            late_seen.add(event.event_id)  # only once handled: a retry of a failed one is handled again
        return answer

    return Starlette(
        routes=[
            Route("/webhooks/postforme", postforme, methods=["POST"]),
            Route("/webhooks/late", late, methods=["POST"]),
        ]
    )


def _ignored(event: LateEvent, seen: SeenEvents, max_age: timedelta) -> str | None:
    """Why the event is answered without being handled: "stale", "duplicate", or None."""
    if event.timestamp is not None and datetime.now(UTC) - event.timestamp > max_age:
        log.info("LATE event %s (%s) ignored: older than %s", event.event_id, event.timestamp, max_age)
        return "stale"
    if event.event_id is not None and event.event_id in seen:
        log.info("LATE event %s ignored: seen before", event.event_id)
        return "duplicate"
    return None


def _record_late(ledger: LedgerWriter, event: LateEvent) -> int:
    records = {r.platform: r for r in _open_records(ledger, "late", event.post_id)}
    changed = 0
    for target in event.targets:
        record = records.get(target.platform)
        status = _LATE_STATUS.get(target.status)
        if record is None or status is None:
            continue
        outcome = Outcome(
            status,
            provider="late",
            provider_post_id=event.post_id,
            platform_post_id=target.platform_post_id,
            url=target.url,
            error=target.error,
        )
        try:
            ledger.record(record.key, outcome, owner=None, now=datetime.now(UTC))
            changed += 1
        except LedgerError as exc:
            log.warning("webhook outcome for %s not recorded: %s", record.key, exc)
    return changed


def _refusal(refused: Refused) -> JSONResponse:
    return JSONResponse({"error": refused.reason}, status_code=refused.status)


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
