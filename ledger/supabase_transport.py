"""How the Supabase ledger talks to PostgREST: calls, paging, RPCs, and what each failure means.

Transport failures become LedgerUnavailable (the journal keeps outcomes for later), PostgreSQL
refusals LedgerRefused, a missing migration or a refused key a LedgerError saying what to fix.
The key never appears in a message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerRefused, LedgerUnavailable
from postdeck.ledger.records import DeliveryRecord
from postdeck.ledger.rows import delivery_record

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


class SupabaseTransport:
    """The base of SupabaseLedger and its parts (history, caches, credential rows): `url`, `client`
    and the calls through it."""

    url: str
    client: Any
    key_variable: str = "SUPABASE_SECRET_KEY"  # named when the gateway refuses the key

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
            raise _api_error(host, what, exc, self.key_variable) from None

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


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def user_uuid(value: str | None, error: type[Exception]) -> str | None:
    """Supabase user ids are auth.users UUIDs: say so plainly instead of a PostgreSQL cast error."""
    if value is None:
        return None
    if not is_uuid(value):
        raise error(f"user '{value}' is not a Supabase user id (a UUID from auth.users)")
    return str(uuid.UUID(str(value)))


def recorded(reply: Mapping[str, Any]) -> DeliveryRecord | LedgerError:
    """One answer of record_delivery_outcomes: the stored row, or the refusal PostgreSQL gave."""
    if reply.get("delivery") is not None:
        return delivery_record(reply["delivery"])
    message = reply.get("error") or "outcome refused"
    code = str(reply.get("code") or "")
    if code.startswith(REFUSED_CODES):
        return LedgerRefused(message)
    return LedgerError(f"{message} [{code}]")


def _api_error(host: str, what: str, exc: Any, variable: str) -> LedgerError:
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
        return LedgerError(f"Supabase {host} refused the key ({what}): check {variable}")
    return LedgerError(f"Supabase ledger {host} ({what}): {message} [{code}]")
