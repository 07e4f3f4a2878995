"""The supabase-py client of a Supabase ledger: which key goes in which header, and no sleeping retries."""

from __future__ import annotations

from typing import Any

import httpx

from postdeck.errors import LedgerError, MissingExtra
from postdeck.ledger.supabase_keys import KeyKind, apikey_only, key_kind


def ledger_http(http_client: httpx.Client | None, timeout: float) -> httpx.Client:
    return http_client or httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))


def connect(url: str, apikey: str, http: httpx.Client, *, bearer: str | None = None) -> Any:
    """A supabase-py client sending `apikey`, and `bearer` (a JWT) as the Authorization token if given.

    Without a bearer, a new opaque key (sb_…) goes as `apikey` only (see ledger.supabase_keys), a legacy
    JWT key as both headers, as the gateway expects each."""
    MissingExtra.require("supabase", extra="supabase", needed_for="the Supabase ledger")
    from supabase import ClientOptions, create_client

    if bearer is None and key_kind(apikey) in (KeyKind.SECRET, KeyKind.PUBLISHABLE):
        apikey_only(http, apikey)
    options = ClientOptions(
        httpx_client=http,
        postgrest_client_retry=False,  # fail fast: the journal, not a sleeping retry, keeps outcomes
        auto_refresh_token=False,
        persist_session=False,
    )
    if bearer:  # kept by supabase-py over the apikey (supabase-py #766)
        options.headers = {**options.headers, "Authorization": f"Bearer {bearer}"}
    try:
        return create_client(url, apikey, options=options)
    except Exception as exc:  # supabase-py validates the URL and key shapes
        raise LedgerError(f"cannot use the Supabase project at {url}: {type(exc).__name__}") from None
