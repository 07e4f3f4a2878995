"""Reading deliveries from Supabase, and the read-only ledger `postdeck plan` uses with the plan token.

SupabasePlanReader reads what a plan compares (the deliveries) with the publishable key and a JWT for
the `postdeck_planner` role, which migration 20261207000001 lets select deliveries and nothing else.
Every writing method of the ledger Protocols is there too, and refuses at once with a LedgerError
before any request: a publish with the plan token stops before claiming, so before any provider call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from postdeck.errors import LedgerError
from postdeck.ledger.base import Ledger, LedgerReader
from postdeck.ledger.credentials import CredentialRows
from postdeck.ledger.records import DeliveryRecord
from postdeck.ledger.rows import delivery_record
from postdeck.ledger.supabase_client import connect, ledger_http
from postdeck.ledger.supabase_keys import require_plan_token
from postdeck.ledger.supabase_transport import SupabaseTransport


class SupabaseDeliveryReads(SupabaseTransport):
    """LedgerReader over Supabase (SupabaseLedger's and SupabasePlanReader's)."""

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


def _public_methods(protocol: type) -> set[str]:
    return {name for name in dir(protocol) if not name.startswith("_") and callable(getattr(protocol, name))}


# Everything a ledger or a credential store can do beyond reading deliveries.
BEYOND_READING = frozenset(
    (_public_methods(Ledger) | _public_methods(CredentialRows)) - _public_methods(LedgerReader)
)


class SupabasePlanReader(SupabaseDeliveryReads):
    """The deliveries of a Supabase ledger, read with SUPABASE_PUBLISHABLE_KEY + SUPABASE_PLAN_TOKEN."""

    read_only = True
    key_variable = "SUPABASE_PLAN_TOKEN (and SUPABASE_PUBLISHABLE_KEY)"

    def __init__(
        self,
        url: str,
        apikey: str | SecretStr,
        token: str | SecretStr,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 15.0,
    ) -> None:
        key, jwt = (v.get_secret_value() if isinstance(v, SecretStr) else v for v in (apikey, token))
        require_plan_token(jwt, key)
        self.url = url.rstrip("/")
        self._http = ledger_http(http_client, timeout)
        self.client = connect(self.url, key, self._http, bearer=jwt)

    @property
    def ident(self) -> str:
        return f"supabase:{self.url}"  # the same database as the writing ledger's

    def __repr__(self) -> str:
        return f"SupabasePlanReader({self.url!r})"

    def close(self) -> None:
        self._http.close()


def _refusing(name: str) -> Callable[..., Any]:
    def refuse(self: SupabasePlanReader, *args: Any, **kwargs: Any) -> Any:
        raise LedgerError(
            f"the Supabase ledger is open read-only (SUPABASE_PLAN_TOKEN, for `postdeck plan`): {name} "
            "needs SUPABASE_SECRET_KEY"
        )

    refuse.__name__ = name
    return refuse


for _name in sorted(BEYOND_READING):
    setattr(SupabasePlanReader, _name, _refusing(_name))
