"""The Supabase ledger's user_social_credentials rows: opaque tokens, encrypted by ledger.credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from postdeck.errors import CredentialsError
from postdeck.ledger.rows import iso
from postdeck.ledger.supabase_transport import SupabaseTransport, user_uuid


class SupabaseCredentialRows(SupabaseTransport):
    """CredentialRows (with LedgerBackend's update_credential_row) over Supabase."""

    # --- credential rows (encrypted by ledger.credentials, never here) -------------------------

    def credential_rows(self, user_id: str | None = None) -> list[dict[str, Any]]:
        def build():
            query = self._table("user_social_credentials").select("*")
            if user_id is not None:
                query = query.eq("user_id", user_uuid(user_id, CredentialsError))
            return query.order("user_id").order("provider")

        return self._select_all("credentials", build)

    def credential_row(self, user_id: str, provider: str) -> dict[str, Any] | None:
        uid = user_uuid(user_id, CredentialsError)
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
            "user_id": user_uuid(user_id, CredentialsError),
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
            .eq("user_id", user_uuid(user_id, CredentialsError))
            .eq("provider", provider)
        )
        if expect_token is not None:
            query = query.eq("encrypted_api_key", expect_token)
        return bool(self._run("update credentials", lambda: query.execute().data))

    def delete_credential_row(self, user_id: str, provider: str) -> bool:
        query = (
            self._table("user_social_credentials")
            .delete()
            .eq("user_id", user_uuid(user_id, CredentialsError))
            .eq("provider", provider)
        )
        return bool(self._run("delete credentials", lambda: query.execute().data))
