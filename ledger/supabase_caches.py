"""The Supabase ledger's caches: where each file was uploaded (media_uploads) and the providers'
account lists (account_lists). Both only save a provider call; JournaledLedger tolerates their outage."""

from __future__ import annotations

from datetime import datetime

from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.rows import iso
from postdeck.ledger.supabase_transport import SupabaseTransport


class SupabaseCaches(SupabaseTransport):
    """MediaUrlCache and AccountListCache over Supabase."""

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
