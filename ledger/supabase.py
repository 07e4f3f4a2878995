"""The production ledger: Supabase (PostgREST) through supabase-py, with a secret key (sb_secret_…, or
the legacy service-role JWT; ledger.supabase_keys says how each is sent).

Atomic steps are SQL functions from supabase/migrations called as RPCs (claim_delivery,
note_delivery_attempt, record_delivery_outcome, and their batch forms claim_deliveries and
record_delivery_outcomes): PostgREST runs each in one transaction, so the claim is insert-if-absent
with lease takeover exactly as in SQLite, and a batch is all-or-nothing (claims) or refused item by
item (outcomes) as in SQLite. Everything else is plain table access. Deliveries are here; the calls
and their error mapping are ledger.supabase_transport's, campaign runs and their stamps on deliveries
ledger.supabase_runs', the history, caches and credential rows ledger.supabase_history's,
supabase_caches' and supabase_credentials'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import httpx
from pydantic import SecretStr

from postdeck.core.outcome import Outcome
from postdeck.errors import LedgerError
from postdeck.ledger.backend import LedgerBackend
from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.claim_scope import check_claim_scope
from postdeck.ledger.queries import DeliveryQuery, newest_first
from postdeck.ledger.records import Claim, ClaimRequest, ClaimState, DeliveryRecord
from postdeck.ledger.rows import commit_prefix, delivery_record, iso
from postdeck.ledger.supabase_caches import SupabaseCaches
from postdeck.ledger.supabase_cancel_requests import SupabaseCancelRequests
from postdeck.ledger.supabase_client import connect, ledger_http
from postdeck.ledger.supabase_credentials import SupabaseCredentialRows
from postdeck.ledger.supabase_history import SupabasePostHistory
from postdeck.ledger.supabase_keys import KeyKind, apikey_only, key_kind, require_secret, server_key
from postdeck.ledger.supabase_reads import SupabaseDeliveryReads
from postdeck.ledger.supabase_runs import SupabaseRuns
from postdeck.ledger.supabase_transport import recorded, user_uuid
from postdeck.settings import settings


class SupabaseLedger(
    SupabaseRuns,
    SupabaseCancelRequests,
    SupabaseDeliveryReads,
    SupabasePostHistory,
    SupabaseCaches,
    SupabaseCredentialRows,
    LedgerBackend,
):
    """Ledger (deliveries, history, caches, campaign runs) and CredentialRows over Supabase."""

    def __init__(
        self,
        url: str,
        key: str | SecretStr,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 15.0,
        key_variable: str = "SUPABASE_SECRET_KEY",
    ) -> None:
        secret = key.get_secret_value() if isinstance(key, SecretStr) else key
        if not url or not secret:
            raise LedgerError("the Supabase ledger needs SUPABASE_URL and SUPABASE_SECRET_KEY")
        require_secret(secret, key_variable)  # a publishable key or a plan token cannot write
        self.url = url.rstrip("/")
        self.key_variable = key_variable
        http = ledger_http(http_client, timeout)
        self._http: httpx.Client | None = http  # from_client leaves it None: the client is the caller's
        self.client = connect(self.url, secret, http)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SupabaseLedger | None:
        config = settings(environ)
        found = server_key(config)
        return (
            cls(config.supabase_url, found[0], key_variable=found[1])
            if config.supabase_url and found
            else None
        )

    @property
    def ident(self) -> str:
        return f"supabase:{self.url}"

    def __repr__(self) -> str:
        return f"SupabaseLedger({self.url!r})"

    @classmethod
    def from_client(cls, client: Any) -> SupabaseLedger:
        """The ledger on a supabase-py client the caller made (seed 000's `service.init(supabase)`).

        The caller keeps the client: its key, session and HTTP connections are left as they are, except
        that with an sb_secret_ key its requests stop carrying that key as a bearer token (see
        ledger.supabase_keys). A publishable or anon key is refused: it cannot record outcomes."""
        url = str(getattr(client, "supabase_url", "") or "").rstrip("/")
        if not url or not hasattr(client, "table") or not hasattr(client, "rpc"):
            raise LedgerError("service.init() needs a supabase-py client (supabase.create_client(url, key))")
        key = getattr(client, "supabase_key", None)
        if isinstance(key, str):
            require_secret(key, "the supabase-py client's key")
            session = getattr(getattr(client, "postgrest", None), "session", None)
            if key_kind(key) == KeyKind.SECRET and isinstance(session, httpx.Client):
                # Only drops the bearer copy of the sb_secret_ key, which the gateway refuses anyway.
                apikey_only(session, key)
        ledger = cls.__new__(cls)
        ledger.url = url
        ledger.client = client
        ledger._http = None
        return ledger

    def close(self) -> None:
        if self._http is not None:  # None: the client belongs to the caller (from_client)
            self._http.close()

    # --- reader (get, deliveries, all_deliveries: SupabaseDeliveryReads) ---------------------------

    def find_deliveries(
        self, query: DeliveryQuery, *, limit: int | None = None, offset: int = 0
    ) -> list[DeliveryRecord]:
        """Deliveries matching every filter of `query`, newest first (history, retry, cancel)."""
        keys = list(query.keys) if query.keys is not None else [None]
        statuses = list(query.statuses) if query.statuses is not None else [None]
        if len(keys) == 1 and len(statuses) == 1 and limit is not None:
            # One query: let PostgreSQL page it.
            built = self._delivery_query(query, keys[0], statuses[0])
            rows = self._run("deliveries", lambda: built.range(offset, offset + limit - 1).execute().data)
            return [delivery_record(r) for r in rows]
        # Several keys or statuses: one query each (equality filters only), merged here.
        found: dict[str, DeliveryRecord] = {}
        for key in keys:
            for status in statuses:
                rows = self._select_all("deliveries", partial(self._delivery_query, query, key, status))
                found.update((r["key"], delivery_record(r)) for r in rows)
        ordered = newest_first(list(found.values()))
        return ordered[offset : offset + limit] if limit is not None else ordered[offset:]

    def _delivery_query(self, query: DeliveryQuery, key: str | None, status: str | None):
        built = self._table("deliveries").select("*")
        for column, value in (
            ("key", key),
            ("status", status),
            ("platform", query.platform),
            ("campaign", query.campaign),
            ("provider_post_id", query.provider_post_id),
        ):
            if value is not None:
                built = built.eq(column, value)
        if query.user_id is not None:
            built = built.eq("user_id", user_uuid(query.user_id, LedgerRefused))
        if query.created_since is not None:
            built = built.gte("created_at", iso(query.created_since))
        if query.created_before is not None:
            built = built.lt("created_at", iso(query.created_before))
        if query.commit is not None:
            built = built.like("commit_sha", commit_prefix(query.commit) + "*")  # hex only: no wildcard
        return built.order("created_at", desc=True).order("key")

    # --- writer ---------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest, *, owner: str, lease_seconds: float, now: datetime) -> Claim:
        user_id = user_uuid(request.user_id, LedgerRefused)
        check_claim_scope(request)  # as claim_delivery and the table's deliveries_key_scope check would
        reply = self._rpc(
            "claim_delivery",
            {
                "p_key": request.key,
                "p_campaign": request.campaign,
                "p_batch_id": request.batch_id,
                "p_platform": request.platform,
                "p_content_hash": request.content_hash,
                "p_schedule_hash": request.schedule_hash,
                "p_caption": request.caption,
                "p_scheduled_for": iso(request.scheduled_for),
                "p_user_id": user_id,
                "p_owner": owner,
                "p_lease_seconds": float(lease_seconds),
                "p_now": iso(now),
            },
        )
        return Claim(state=ClaimState(reply["state"]), record=delivery_record(reply["delivery"]))

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, owner: str, lease_seconds: float, now: datetime
    ) -> list[Claim]:
        """One claim_deliveries RPC (one transaction): every request claimed, or a LedgerError and none."""
        if not requests:
            return []
        items = [
            {
                "key": request.key,
                "campaign": request.campaign,
                "batch_id": request.batch_id,
                "platform": request.platform,
                "content_hash": request.content_hash,
                "schedule_hash": request.schedule_hash,
                "caption": request.caption,
                "scheduled_for": iso(request.scheduled_for),
                "user_id": user_uuid(request.user_id, LedgerRefused),  # all checked before sending
            }
            for request in requests
        ]
        for request in requests:
            check_claim_scope(request)
        replies = self._rpc(
            "claim_deliveries",
            {
                "p_requests": items,
                "p_owner": owner,
                "p_lease_seconds": float(lease_seconds),
                "p_now": iso(now),
            },
        )
        if not isinstance(replies, list) or len(replies) != len(items):
            raise self._miscounted("claim_deliveries", len(items), replies)
        return [
            Claim(state=ClaimState(reply["state"]), record=delivery_record(reply["delivery"]))
            for reply in replies
        ]

    def note_attempt(self, keys: list[str], *, owner: str, provider: str, post_key: str) -> None:
        self._rpc(
            "note_delivery_attempt",
            {"p_keys": list(keys), "p_owner": owner, "p_provider": provider, "p_post_key": post_key},
        )

    def renew_claims(self, owner: str, *, lease_seconds: float, now: datetime) -> int:
        renewed = self._rpc(
            "renew_claims", {"p_owner": owner, "p_lease_seconds": float(lease_seconds), "p_now": iso(now)}
        )
        return int(renewed or 0)

    def release(self, keys: Sequence[str], *, owner: str) -> list[str]:
        """One DELETE: only the owner's first claims no create was attempted for (as in SQLite)."""
        if not keys:
            return []
        released = self._run(
            "release claims",
            lambda: (
                self._table("deliveries")
                .delete()
                .in_("key", list(keys))
                .eq("owner", owner)
                .eq("status", "claimed")
                .eq("attempts", 1)
                .eq("attempted_providers", "{}")
                .is_("post_key", "null")
                .execute()
                .data
            ),
        )
        return [row["key"] for row in released]

    def record(self, key: str, outcome: Outcome, *, owner: str | None, now: datetime) -> DeliveryRecord:
        reply = self._rpc(
            "record_delivery_outcome",
            {
                "p_key": key,
                "p_status": str(outcome.status),
                "p_provider": outcome.provider,
                "p_provider_post_id": outcome.provider_post_id,
                "p_post_key": outcome.post_key,
                "p_platform_post_id": outcome.platform_post_id,
                "p_url": outcome.url,
                "p_error": outcome.error,
                "p_owner": owner,
                "p_now": iso(now),
            },
        )
        return delivery_record(reply)

    def record_many(
        self, outcomes: Sequence[tuple[str, Outcome]], *, owner: str | None, now: datetime
    ) -> list[DeliveryRecord | LedgerError]:
        """One record_delivery_outcomes RPC (one transaction). Never raises: a refused item is its
        LedgerRefused (the others are stored); a failed call is the same error for every item."""
        if not outcomes:
            return []
        items = [
            {
                "key": key,
                "status": str(outcome.status),
                "provider": outcome.provider,
                "provider_post_id": outcome.provider_post_id,
                "post_key": outcome.post_key,
                "platform_post_id": outcome.platform_post_id,
                "url": outcome.url,
                "error": outcome.error,
            }
            for key, outcome in outcomes
        ]
        try:
            replies = self._rpc(
                "record_delivery_outcomes", {"p_outcomes": items, "p_owner": owner, "p_now": iso(now)}
            )
        except LedgerError as exc:
            return [exc for _ in items]
        if not isinstance(replies, list) or len(replies) != len(items):
            odd = self._miscounted("record_delivery_outcomes", len(items), replies)
            return [odd for _ in items]
        return [recorded(reply) for reply in replies]

    def _update_scheduled(self, key: str, values: dict[str, Any]) -> DeliveryRecord | None:
        rows = self._run(
            f"revise {key}",
            lambda: (
                self._table("deliveries")
                .update(values)
                .eq("key", key)
                .eq("status", "scheduled")
                .execute()
                .data
            ),
        )
        return delivery_record(rows[0]) if rows else None

    def reopen_failed(
        self, key: str, *, owner: str, lease_seconds: float, now: datetime
    ) -> DeliveryRecord | None:
        """An explicit retry: failed → claimed by `owner` (reopen_failed_delivery, atomic); else None."""
        reply = self._rpc(
            "reopen_failed_delivery",
            {"p_key": key, "p_owner": owner, "p_lease_seconds": float(lease_seconds), "p_now": iso(now)},
        )
        return delivery_record(reply) if reply else None
