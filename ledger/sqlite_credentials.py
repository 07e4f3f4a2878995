"""The SQLite ledger's user_social_credentials rows: opaque tokens, encrypted by ledger.credentials."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from postdeck.ledger.rows import iso
from postdeck.ledger.sqlite_connection import SqliteConnection
from postdeck.ledger.sqlite_sql import assignments


class SqliteCredentialRows(SqliteConnection):
    """CredentialRows (with LedgerBackend's update_credential_row) over the ledger file."""

    # --- credential rows (encrypted by ledger.credentials, never here) -------------------------

    def credential_rows(self, user_id: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM user_social_credentials"
        args: tuple[str, ...] = ()
        if user_id is not None:
            query, args = query + " WHERE user_id = ?", (user_id,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY user_id, provider", args).fetchall()
        return [dict(r) for r in rows]

    def credential_row(self, user_id: str, provider: str) -> dict[str, Any] | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM user_social_credentials WHERE user_id = ? AND provider = ?",
                (user_id, provider),
            ).fetchone()
        return dict(row) if row else None

    def upsert_credential_row(
        self, user_id: str, provider: str, token: str, platforms: list[str], now: datetime
    ) -> None:
        with self._connect() as conn:
            conn.execute(
                """INSERT INTO user_social_credentials (user_id, provider, encrypted_api_key, connected_platforms,
                       updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (user_id, provider) DO UPDATE SET encrypted_api_key = excluded.encrypted_api_key,
                       connected_platforms = excluded.connected_platforms, updated_at = excluded.updated_at""",
                (user_id, provider, token, json.dumps(platforms), iso(now)),
            )

    def _update_credentials(
        self, user_id: str, provider: str, changes: dict[str, Any], expect_token: str | None
    ) -> bool:
        if "connected_platforms" in changes:
            changes = {**changes, "connected_platforms": json.dumps(changes["connected_platforms"])}
        where, where_args = "user_id = ? AND provider = ?", [user_id, provider]
        if expect_token is not None:
            where, where_args = where + " AND encrypted_api_key = ?", [*where_args, expect_token]
        with self._connect() as conn:
            changed = conn.execute(
                f"UPDATE user_social_credentials SET {assignments(changes)} WHERE {where}",
                (*changes.values(), *where_args),
            ).rowcount
        return changed > 0

    def delete_credential_row(self, user_id: str, provider: str) -> bool:
        with self._connect() as conn:
            deleted = conn.execute(
                "DELETE FROM user_social_credentials WHERE user_id = ? AND provider = ?", (user_id, provider)
            ).rowcount
        return deleted > 0
