"""The SQLite ledger's caches: where each file was uploaded (media_uploads) and the providers'
account lists (account_lists). Both only save a provider call; JournaledLedger tolerates their outage."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from postdeck.ledger.rows import iso
from postdeck.ledger.sqlite_connection import SqliteConnection


class SqliteCaches(SqliteConnection):
    """MediaUrlCache and AccountListCache over the ledger file."""

    # --- media cache --------------------------------------------------------------------------

    def cached_media_url(self, sha256: str, provider: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT media_url FROM media_uploads WHERE sha256 = ? AND provider = ?", (sha256, provider)
            ).fetchone()
        return row["media_url"] if row else None

    def cache_media_url(self, sha256: str, provider: str, url: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO media_uploads (sha256, provider, media_url, created_at) VALUES (?, ?, ?, ?)",
                (sha256, provider, url, iso(datetime.now(UTC))),
            )

    # --- account lists ----------------------------------------------------------------------

    def cached_accounts(self, scope: str, *, listed_after: datetime) -> list[dict] | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT accounts FROM account_lists WHERE scope = ? AND listed_at > ?",
                (scope, iso(listed_after)),
            ).fetchone()
        return json.loads(row["accounts"]) if row else None

    def cache_accounts(self, scope: str, accounts: list[dict], *, now: datetime) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO account_lists (scope, accounts, listed_at) VALUES (?, ?, ?)",
                (scope, json.dumps(accounts), iso(now)),
            )

    def forget_accounts(self, scope: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM account_lists WHERE scope = ?", (scope,))

    def forget_accounts_at(self, provider: str) -> None:
        prefix = f"{provider}:"
        with self._connect() as conn:
            conn.execute("DELETE FROM account_lists WHERE substr(scope, 1, ?) = ?", (len(prefix), prefix))
