"""The production ledger: Supabase (PostgREST) through supabase-py, with the service role key.

Atomic steps are SQL functions from supabase/migrations called as RPCs (claim_delivery,
note_delivery_attempt, record_delivery_outcome, and their batch forms claim_deliveries and
record_delivery_outcomes): PostgREST runs each in one transaction, so the claim is insert-if-absent
with lease takeover exactly as in SQLite, and a batch is all-or-nothing (claims) or refused item by
item (outcomes) as in SQLite. Everything else is plain table access. Transport failures become
LedgerUnavailable (the journal keeps outcomes for later); PostgreSQL refusals become LedgerRefused.
The key never appears in a message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from postdeck.core.outcome import Outcome
from postdeck.errors import CredentialsError, LedgerError
from postdeck.ledger.backend import LedgerBackend
from postdeck.ledger.base import (
    CampaignRun,
    Claim,
    ClaimRequest,
    ClaimState,
    DeliveryRecord,
    LedgerRefused,
    LedgerUnavailable,
    PostRecord,
)
from postdeck.ledger.queries import DeliveryQuery, PostQuery, newest_first
from postdeck.ledger.rows import campaign_run, delivery_record, iso, post_record, social_post_row
from postdeck.settings import settings

T = TypeVar("T")
PAGE = 1000  # Supabase's default PostgREST max-rows: longer reads are paged
REFUSED_CODES = ("P0001", "23", "22", "42501")  # raised by our functions, constraint and data errors
UNAVAILABLE_CODES = (
    *("PGRST000", "PGRST001", "PGRST002", "PGRST003"),  # PostgREST cannot reach PostgreSQL
    # Transient in PostgreSQL: serialization failure, deadlock, lock or statement timeout, too many
    # connections. The transaction was rolled back whole, so the same call may simply be made again.
    *("40001", "40P01", "55P03", "57014", "53300"),
)
NO_SCHEMA_CODES = ("PGRST202", "PGRST205", "42P01", "42883")  # no such function or table: not migrated


class SupabaseLedger(LedgerBackend):
    """LedgerWriter, post history, campaign runs and credential rows over Supabase."""

    def __init__(
        self,
        url: str,
        key: str | SecretStr,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 15.0,
    ) -> None:
        from supabase import ClientOptions, create_client

        secret = key.get_secret_value() if isinstance(key, SecretStr) else key
        if not url or not secret:
            raise LedgerError("the Supabase ledger needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
        self.url = url.rstrip("/")
        self._http = http_client or httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        options = ClientOptions(
            httpx_client=self._http,
            postgrest_client_retry=False,  # fail fast: the journal, not a sleeping retry, keeps outcomes
            auto_refresh_token=False,
            persist_session=False,
        )
        try:
            self.client = create_client(self.url, secret, options=options)
        except Exception as exc:  # supabase-py validates the URL and key shapes
            raise LedgerError(
                f"cannot use the Supabase project at {self.url}: {type(exc).__name__}"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SupabaseLedger | None:
        config = settings(environ)
        url, key = config.supabase_url, config.get("SUPABASE_SERVICE_ROLE_KEY")
        return cls(url, key) if url and key else None

    @property
    def ident(self) -> str:
        return f"supabase:{self.url}"

    def __repr__(self) -> str:
        return f"SupabaseLedger({self.url!r})"

    @classmethod
    def from_client(cls, client: Any) -> SupabaseLedger:
        """The ledger on a supabase-py client the caller made (seed 000's `service.init(supabase)`).

        The caller keeps the client: its key, session and HTTP connections are left as they are."""
        url = str(getattr(client, "supabase_url", "") or "").rstrip("/")
        if not url or not hasattr(client, "table") or not hasattr(client, "rpc"):
            raise LedgerError("service.init() needs a supabase-py client (supabase.create_client(url, key))")
        ledger = cls.__new__(cls)
        ledger.url = url
        ledger.client = client
        ledger._http = None
        return ledger

    def close(self) -> None:
        if self._http is not None:  # None: the client belongs to the caller (from_client)
            self._http.close()

    # --- transport ------------------------------------------------------------------------------

    def _run(self, what: str, call: Callable[[], T]) -> T:
        from postgrest.exceptions import APIError

        host = urlsplit(self.url).netloc
        try:
            return call()
        except httpx.TransportError as exc:
            raise LedgerUnavailable(
                f"Supabase ledger {host} is unreachable ({what}): {type(exc).__name__}"
            ) from None
        except APIError as exc:
            raise _api_error(host, what, exc) from None

    def _table(self, name: str):
        return self.client.table(name)

    def _rpc(self, function: str, params: dict[str, Any]) -> Any:
        return self._run(function, lambda: self.client.rpc(function, params).execute().data)

    def _miscounted(self, function: str, sent: int, reply: Any) -> LedgerError:
        """A batch RPC must answer once per item: anything else is not this project's migration."""
        got = f"{len(reply)} answers" if isinstance(reply, list) else f"a {type(reply).__name__}"
        return LedgerError(
            f"Supabase ledger {urlsplit(self.url).netloc} ({function}): {sent} items sent, {got} back"
        )

    def _select_all(self, what: str, build: Callable[[], Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self._run(what, lambda: build().range(len(rows), len(rows) + PAGE - 1).execute().data)
            rows.extend(page)
            if len(page) < PAGE:
                return rows

    # --- reader ---------------------------------------------------------------------------------

    def get(self, key: str) -> DeliveryRecord | None:
        rows = self._run("get", lambda: self._table("deliveries").select("*").eq("key", key).execute().data)
        return delivery_record(rows[0]) if rows else None

    def deliveries(self, campaign: str) -> list[DeliveryRecord]:
        rows = self._select_all(
            "deliveries", lambda: self._table("deliveries").select("*").eq("campaign", campaign).order("key")
        )
        return [delivery_record(r) for r in rows]

    def all_deliveries(self, *, status: str | None = None) -> list[DeliveryRecord]:
        def build():
            query = self._table("deliveries").select("*")
            if status:
                query = query.eq("status", status)
            return query.order("created_at").order("key")

        return [delivery_record(r) for r in self._select_all("all deliveries", build)]

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
                rows = self._select_all(
                    "deliveries", lambda k=key, s=status: self._delivery_query(query, k, s)
                )
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
            built = built.eq("user_id", _user_uuid(query.user_id, LedgerRefused))
        if query.created_since is not None:
            built = built.gte("created_at", iso(query.created_since))
        if query.created_before is not None:
            built = built.lt("created_at", iso(query.created_before))
        return built.order("created_at", desc=True).order("key")

    # --- writer ---------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest, *, owner: str, lease_seconds: float, now: datetime) -> Claim:
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
                "p_user_id": _user_uuid(request.user_id, LedgerRefused),
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
                "user_id": _user_uuid(request.user_id, LedgerRefused),  # all checked before sending
            }
            for request in requests
        ]
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
        return [_recorded(reply) for reply in replies]

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

    # --- post history ---------------------------------------------------------------------------

    def record_social_post(self, row: dict) -> str:
        """Append one row to social_posts; returns its id. A known id is not added twice."""
        row = social_post_row(row)
        row["user_id"] = _user_uuid(row.get("user_id"), LedgerRefused)
        if row.get("id"):
            row["id"] = str(row["id"])
            self._run(
                "record post",
                lambda: (
                    self._table("social_posts")
                    .upsert(row, on_conflict="id", ignore_duplicates=True, returning="minimal")
                    .execute()
                ),
            )
            return row["id"]
        row.pop("id", None)  # the database draws it (gen_random_uuid)
        created = self._run("record post", lambda: self._table("social_posts").insert(row).execute().data)
        return str(created[0]["id"])

    def _find_posts(self, query: PostQuery, *, limit: int, offset: int) -> list[PostRecord]:
        built = self._table("social_posts").select("*")
        if query.user_id is not None:
            built = built.eq("user_id", _user_uuid(query.user_id, LedgerRefused))
        if query.status is not None:
            built = built.eq("status", query.status)
        if query.platform is not None:
            built = built.contains("platforms", [query.platform])
        if query.campaign is not None:
            built = built.eq("campaign", query.campaign)
        if query.since is not None:
            built = built.gte("created_at", iso(query.since))
        built = built.order("created_at", desc=True).order("id").range(offset, offset + limit - 1)
        return [post_record(r) for r in self._run("post history", lambda: built.execute().data)]

    def get_post(self, post_id: str) -> PostRecord | None:
        if not _is_uuid(post_id):
            return None
        rows = self._run(
            "get post", lambda: self._table("social_posts").select("*").eq("id", post_id).execute().data
        )
        return post_record(rows[0]) if rows else None

    def posts_by_provider_post_id(self, provider_post_id: str) -> list[PostRecord]:
        """History rows of one provider post (the seed's PostResult.post_id), newest first."""
        query = (
            self._table("social_posts")
            .select("*")
            .eq("provider_post_id", provider_post_id)
            .order("created_at", desc=True)
            .order("id")
        )
        return [post_record(r) for r in self._run("posts by provider id", lambda: query.execute().data)]

    # --- media cache ----------------------------------------------------------------------------

    def cached_media_url(self, sha256: str, provider: str) -> str | None:
        rows = self._run(
            "media cache",
            lambda: (
                self._table("media_uploads")
                .select("media_url")
                .eq("sha256", sha256)
                .eq("provider", provider)
                .execute()
                .data
            ),
        )
        return rows[0]["media_url"] if rows else None

    def cache_media_url(self, sha256: str, provider: str, url: str) -> None:
        self._run(
            "media cache",
            lambda: (
                self._table("media_uploads")
                .upsert(
                    {"sha256": sha256, "provider": provider, "media_url": url},
                    on_conflict="sha256,provider",
                    returning="minimal",
                )
                .execute()
            ),
        )

    # --- account lists ------------------------------------------------------------------------

    def cached_accounts(self, scope: str, *, listed_after: datetime) -> list[dict] | None:
        rows = self._run(
            "account list",
            lambda: (
                self._table("account_lists")
                .select("accounts")
                .eq("scope", scope)
                .gt("listed_at", iso(listed_after))
                .execute()
                .data
            ),
        )
        return rows[0]["accounts"] if rows else None

    def cache_accounts(self, scope: str, accounts: list[dict], *, now: datetime) -> None:
        self._run(
            "account list",
            lambda: (
                self._table("account_lists")
                .upsert(
                    {"scope": scope, "accounts": accounts, "listed_at": iso(now)},
                    on_conflict="scope",
                    returning="minimal",
                )
                .execute()
            ),
        )

    def forget_accounts(self, scope: str) -> None:
        self._run(
            "account list",
            lambda: self._table("account_lists").delete(returning="minimal").eq("scope", scope).execute(),
        )

    def forget_accounts_at(self, provider: str) -> None:
        if not provider.isalnum():  # a LIKE pattern follows: only the plain names the scopes start with
            raise LedgerRefused(f"not a provider name: {provider!r}")
        self._run(
            "account list",
            lambda: (
                self._table("account_lists")
                .delete(returning="minimal")
                .like("scope", f"{provider}:*")
                .execute()
            ),
        )

    # --- campaign runs --------------------------------------------------------------------------

    def start_campaign_run(
        self, campaign: str, *, flow_run_id: str | None, user_id: str | None, now: datetime
    ) -> str:
        row = {
            "campaign": campaign,
            "flow_run_id": flow_run_id,
            "user_id": _user_uuid(user_id, LedgerRefused),
            "started_at": iso(now),
        }
        created = self._run("start run", lambda: self._table("campaign_runs").insert(row).execute().data)
        return str(created[0]["id"])

    def _finish_running(self, run_id: str, changes: dict[str, Any]) -> bool:
        changed = self._run(
            "finish run",
            lambda: (
                self._table("campaign_runs")
                .update(changes)
                .eq("id", run_id)
                .eq("status", "running")
                .execute()
                .data
            ),
        )
        return bool(changed)

    def campaign_runs(self, campaign: str | None = None, *, limit: int = 20) -> list[CampaignRun]:
        query = self._table("campaign_runs").select("*")
        if campaign is not None:
            query = query.eq("campaign", campaign)
        query = query.order("started_at", desc=True).order("id").limit(limit)
        return [campaign_run(r) for r in self._run("campaign runs", lambda: query.execute().data)]

    # --- credential rows (encrypted by ledger.credentials, never here) -------------------------

    def credential_rows(self, user_id: str | None = None) -> list[dict[str, Any]]:
        def build():
            query = self._table("user_social_credentials").select("*")
            if user_id is not None:
                query = query.eq("user_id", _user_uuid(user_id, CredentialsError))
            return query.order("user_id").order("provider")

        return self._select_all("credentials", build)

    def credential_row(self, user_id: str, provider: str) -> dict[str, Any] | None:
        uid = _user_uuid(user_id, CredentialsError)
        rows = self._run(
            "credentials",
            lambda: (
                self._table("user_social_credentials")
                .select("*")
                .eq("user_id", uid)
                .eq("provider", provider)
                .execute()
                .data
            ),
        )
        return rows[0] if rows else None

    def upsert_credential_row(
        self, user_id: str, provider: str, token: str, platforms: list[str], now: datetime
    ) -> None:
        row = {
            "user_id": _user_uuid(user_id, CredentialsError),
            "provider": provider,
            "encrypted_api_key": token,
            "connected_platforms": list(platforms),
            "updated_at": iso(now),
        }
        self._run(
            "save credentials",
            lambda: (
                self._table("user_social_credentials")
                .upsert(row, on_conflict="user_id,provider", returning="minimal")
                .execute()
            ),
        )

    def _update_credentials(
        self, user_id: str, provider: str, changes: dict[str, Any], expect_token: str | None
    ) -> bool:
        query = (
            self._table("user_social_credentials")
            .update(changes)
            .eq("user_id", _user_uuid(user_id, CredentialsError))
            .eq("provider", provider)
        )
        if expect_token is not None:
            query = query.eq("encrypted_api_key", expect_token)
        return bool(self._run("update credentials", lambda: query.execute().data))

    def delete_credential_row(self, user_id: str, provider: str) -> bool:
        query = (
            self._table("user_social_credentials")
            .delete()
            .eq("user_id", _user_uuid(user_id, CredentialsError))
            .eq("provider", provider)
        )
        return bool(self._run("delete credentials", lambda: query.execute().data))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _user_uuid(value: str | None, error: type[Exception]) -> str | None:
    """Supabase user ids are auth.users UUIDs: say so plainly instead of a PostgreSQL cast error."""
    if value is None:
        return None
    if not _is_uuid(value):
        raise error(f"user '{value}' is not a Supabase user id (a UUID from auth.users)")
    return str(uuid.UUID(str(value)))


def _recorded(reply: Mapping[str, Any]) -> DeliveryRecord | LedgerError:
    """One answer of record_delivery_outcomes: the stored row, or the refusal PostgreSQL gave."""
    if reply.get("delivery") is not None:
        return delivery_record(reply["delivery"])
    message = reply.get("error") or "outcome refused"
    code = str(reply.get("code") or "")
    if code.startswith(REFUSED_CODES):
        return LedgerRefused(message)
    return LedgerError(f"{message} [{code}]")


def _api_error(host: str, what: str, exc: Any) -> LedgerError:
    code = str(exc.code or "")
    message = exc.message or "request failed"
    if code.startswith(REFUSED_CODES):
        return LedgerRefused(message)
    if code in UNAVAILABLE_CODES or (code.isdigit() and int(code) >= 500):
        return LedgerUnavailable(f"Supabase ledger {host} is unavailable ({what}): {message}")
    if code in NO_SCHEMA_CODES:
        return LedgerError(
            f"Supabase ledger {host} ({what}): {message}; apply supabase/migrations to the project "
            "(e.g. `supabase db push`)"
        )
    if code.startswith("PGRST3") or "api key" in message.lower() or code in ("401", "403"):
        return LedgerError(
            f"Supabase {host} refused the service role key ({what}): check SUPABASE_SERVICE_ROLE_KEY"
        )
    return LedgerError(f"Supabase ledger {host} ({what}): {message} [{code}]")
