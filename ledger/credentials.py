"""Per-user provider keys, encrypted at rest with Fernet (seed 000's user_social_credentials).

ENCRYPTION_KEY may hold several Fernet keys, comma-separated, newest first: all of them decrypt
(MultiFernet), the newest encrypts, and `rotate` re-encrypts every row with the newest.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from postdeck.errors import CredentialsError
from postdeck.ledger.sqlite import SqliteLedger

PROVIDERS = ("postforme", "late")


@dataclass(frozen=True)
class StoredCredentials:
    user_id: str
    provider: str
    api_key: SecretStr
    connected_platforms: tuple[str, ...] = ()
    updated_at: datetime | None = None


def load_fernet(value: str | None = None) -> MultiFernet:
    raw = value if value is not None else os.environ.get("ENCRYPTION_KEY", "")
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise CredentialsError(
            "ENCRYPTION_KEY is not set: generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise CredentialsError(
                f"ENCRYPTION_KEY entry {position} is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from None
    return MultiFernet(fernets)


class CredentialStore:
    """Encrypted provider keys in the ledger database."""

    def __init__(self, ledger: SqliteLedger, *, encryption_key: str | None = None) -> None:
        self.ledger = ledger
        self._encryption_key = encryption_key

    def _fernet(self) -> MultiFernet:
        return load_fernet(self._encryption_key)

    def save(
        self,
        user_id: str,
        provider: str,
        api_key: str | SecretStr,
        connected_platforms: list[str] | None = None,
    ) -> None:
        _check_provider(provider)
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not secret:
            raise CredentialsError("an empty API key cannot be saved")
        token = self._fernet().encrypt(secret.encode()).decode()
        with self.ledger._connect() as conn:
            conn.execute(
                """INSERT INTO user_social_credentials (user_id, provider, encrypted_api_key, connected_platforms,
                       updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (user_id, provider) DO UPDATE SET encrypted_api_key = excluded.encrypted_api_key,
                       connected_platforms = excluded.connected_platforms, updated_at = excluded.updated_at""",
                (
                    user_id,
                    provider,
                    token,
                    json.dumps(connected_platforms or []),
                    datetime.now(UTC).isoformat(),
                ),
            )

    def get(self, user_id: str, provider: str) -> StoredCredentials | None:
        _check_provider(provider)
        with self.ledger._connect() as conn:
            row = conn.execute(
                "SELECT * FROM user_social_credentials WHERE user_id = ? AND provider = ?",
                (user_id, provider),
            ).fetchone()
        return self._decrypt(row) if row else None

    def providers_of(self, user_id: str) -> list[str]:
        with self.ledger._connect() as conn:
            rows = conn.execute(
                "SELECT provider FROM user_social_credentials WHERE user_id = ? ORDER BY provider", (user_id,)
            ).fetchall()
        return [r["provider"] for r in rows]

    def delete(self, user_id: str, provider: str) -> bool:
        _check_provider(provider)
        with self.ledger._connect() as conn:
            return (
                conn.execute(
                    "DELETE FROM user_social_credentials WHERE user_id = ? AND provider = ?",
                    (user_id, provider),
                ).rowcount
                > 0
            )

    def set_connected_platforms(self, user_id: str, provider: str, platforms: list[str]) -> None:
        with self.ledger._connect() as conn:
            conn.execute(
                "UPDATE user_social_credentials SET connected_platforms = ?, updated_at = ?"
                " WHERE user_id = ? AND provider = ?",
                (json.dumps(sorted(platforms)), datetime.now(UTC).isoformat(), user_id, provider),
            )

    def rotate(self) -> int:
        """Re-encrypt every row with the newest key. Returns how many rows were rewritten."""
        fernet = self._fernet()
        with self.ledger._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT user_id, provider, encrypted_api_key FROM user_social_credentials"
            ).fetchall()
            for row in rows:
                try:
                    token = fernet.rotate(row["encrypted_api_key"].encode()).decode()
                except InvalidToken:
                    conn.execute("ROLLBACK")
                    raise _undecryptable(row["user_id"], row["provider"]) from None
                conn.execute(
                    "UPDATE user_social_credentials SET encrypted_api_key = ? WHERE user_id = ? AND provider = ?",
                    (token, row["user_id"], row["provider"]),
                )
            conn.execute("COMMIT")
        return len(rows)

    def _decrypt(self, row: sqlite3.Row) -> StoredCredentials:
        try:
            key = self._fernet().decrypt(row["encrypted_api_key"].encode()).decode()
        except InvalidToken:
            raise _undecryptable(row["user_id"], row["provider"]) from None
        return StoredCredentials(
            user_id=row["user_id"],
            provider=row["provider"],
            api_key=SecretStr(key),
            connected_platforms=tuple(json.loads(row["connected_platforms"] or "[]")),
            updated_at=datetime.fromisoformat(row["updated_at"]) if row["updated_at"] else None,
        )


def _undecryptable(user_id: str, provider: str) -> CredentialsError:
    return CredentialsError(
        f"the stored {provider} key of user {user_id} cannot be decrypted: ENCRYPTION_KEY is wrong (add the old "
        "key after the new one, comma-separated) or the row is corrupted (save the key again)"
    )


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise CredentialsError(f"unknown provider '{provider}': use one of {', '.join(PROVIDERS)}")
