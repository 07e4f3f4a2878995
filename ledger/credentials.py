"""Per-user provider keys, encrypted at rest with Fernet (seed 000's user_social_credentials).

ENCRYPTION_KEY may hold several Fernet keys, comma-separated, newest first: all of them decrypt
(MultiFernet), the newest encrypts, and `rotate` re-encrypts every row with the newest.
The store works on any ledger backend (SQLite, Supabase): backends keep opaque tokens, only this
module sees plaintext, and only as SecretStr. Errors name what to fix, never the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from postdeck.errors import CredentialsError
from postdeck.ledger.rows import parse_time
from postdeck.settings import settings

log = logging.getLogger("postdeck.credentials")

PROVIDERS = ("postforme", "late")


@dataclass(frozen=True)
class StoredCredentials:
    user_id: str
    provider: str
    api_key: SecretStr
    connected_platforms: tuple[str, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CredentialStatus:
    """What `credentials show` may print: never the key, only whether it is there and readable."""

    provider: str
    connected_platforms: tuple[str, ...]
    updated_at: datetime | None
    problem: str | None = None  # why the stored key cannot be used, if it cannot


class CredentialRows(Protocol):
    """What a ledger backend offers the store: rows of opaque tokens, keyed by (user_id, provider)."""

    def credential_rows(self, user_id: str | None = None) -> list[dict[str, Any]]: ...

    def credential_row(self, user_id: str, provider: str) -> dict[str, Any] | None: ...

    def upsert_credential_row(
        self, user_id: str, provider: str, token: str, platforms: list[str], now: datetime
    ) -> None: ...

    def update_credential_row(
        self,
        user_id: str,
        provider: str,
        *,
        now: datetime,
        token: str | None = None,
        platforms: list[str] | None = None,
        expect_token: str | None = None,
    ) -> bool: ...

    def delete_credential_row(self, user_id: str, provider: str) -> bool: ...


class AccountsSource(Protocol):
    """A provider client (PostForMeClient, LateClient): its accounts carry a `.platform`."""

    def accounts(self) -> Iterable[Any]: ...


# Builds a provider's client from a key (`factory(api_key=...)`): postdeck.chain_factory.CLIENTS.
ClientFactory = Callable[..., AccountsSource]


def load_fernet(value: str | SecretStr | None = None) -> MultiFernet:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw is None:
        raw = settings().get("ENCRYPTION_KEY") or ""
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
    """Encrypted provider keys in the ledger database (SQLite or Supabase).

    `client_factories` (provider → factory) build the clients `refresh_connected_platforms` asks
    when it is given none: the caller injects them, so the ledger never imports the providers.
    """

    def __init__(
        self,
        ledger: Any,
        *,
        encryption_key: str | SecretStr | None = None,
        client_factories: Mapping[str, ClientFactory] | None = None,
    ) -> None:
        # A journaled ledger wraps a backend; credentials are not journaled, so talk to the backend.
        self.rows: CredentialRows = getattr(ledger, "inner", ledger)
        self._encryption_key = encryption_key
        self._client_factories = dict(client_factories or {})

    def _fernet(self) -> MultiFernet:
        return load_fernet(self._encryption_key)

    def save(
        self,
        user_id: str,
        provider: str,
        api_key: str | SecretStr,
        connected_platforms: Iterable[str] | None = None,
    ) -> None:
        _check_provider(provider)
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not secret or not secret.strip():
            raise CredentialsError("an empty API key cannot be saved")
        token = self._fernet().encrypt(secret.strip().encode()).decode()
        platforms = sorted(set(connected_platforms or ()))
        self.rows.upsert_credential_row(user_id, provider, token, platforms, datetime.now(UTC))

    def get(self, user_id: str, provider: str) -> StoredCredentials | None:
        """The decrypted key, or None when the user has none for this provider."""
        _check_provider(provider)
        row = self.rows.credential_row(user_id, provider)
        return self._decrypt(row) if row else None

    def require(self, user_id: str, provider: str) -> StoredCredentials:
        stored = self.get(user_id, provider)
        if stored is None:
            raise CredentialsError(
                f"user {user_id} has no {provider} key: save one with "
                f"`postdeck credentials set --user {user_id} --provider {provider}`"
            )
        return stored

    def providers_of(self, user_id: str) -> list[str]:
        return [row["provider"] for row in self.rows.credential_rows(user_id)]

    def status(self, user_id: str) -> list[CredentialStatus]:
        """Which providers are set for a user and whether their keys decrypt. Unknown user → error."""
        rows = self.rows.credential_rows(user_id)
        if not rows:
            raise CredentialsError(
                f"no provider keys are stored for user {user_id}: save one with "
                f"`postdeck credentials set --user {user_id} --provider postforme`"
            )
        statuses = []
        for row in rows:
            problem = None
            try:
                self._decrypt(row)
            except CredentialsError as exc:
                problem = str(exc)
            statuses.append(
                CredentialStatus(
                    row["provider"], _platforms(row, strict=False), parse_time(row["updated_at"]), problem
                )
            )
        return statuses

    def delete(self, user_id: str, provider: str) -> bool:
        _check_provider(provider)
        return self.rows.delete_credential_row(user_id, provider)

    def set_connected_platforms(self, user_id: str, provider: str, platforms: Iterable[str]) -> None:
        _check_provider(provider)
        if not self.rows.update_credential_row(
            user_id, provider, now=datetime.now(UTC), platforms=sorted(set(platforms))
        ):
            raise CredentialsError(f"user {user_id} has no {provider} key to attach connected platforms to")

    def refresh_connected_platforms(
        self, user_id: str, clients: Mapping[str, AccountsSource] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Ask each provider which accounts the user has connected and store their platforms.

        `clients` maps provider → client; by default one is built from each stored key by the
        store's `client_factories`.
        """
        providers = self.providers_of(user_id)
        if not providers:
            raise CredentialsError(
                f"no provider keys are stored for user {user_id}: nothing to refresh "
                f"(save one with `postdeck credentials set --user {user_id} --provider postforme`)"
            )
        refreshed: dict[str, tuple[str, ...]] = {}
        for provider in providers:
            client = clients.get(provider) if clients is not None else self._client(user_id, provider)
            if client is None:
                continue
            try:
                platforms = sorted(
                    {_platform_name(a.platform) for a in client.accounts() if getattr(a, "connected", True)}
                )
            finally:
                if clients is None and hasattr(client, "close"):
                    client.close()
            self.set_connected_platforms(user_id, provider, platforms)
            refreshed[provider] = tuple(platforms)
        return refreshed

    def _client(self, user_id: str, provider: str) -> AccountsSource:
        factory = self._client_factories.get(provider)
        if factory is None:
            raise CredentialsError(
                f"no {provider} client to ask: build the store with client_factories "
                "(postdeck.chain_factory.credential_store) or pass the clients"
            )
        stored = self.require(user_id, provider)
        return factory(api_key=stored.api_key.get_secret_value())

    def rotate(self) -> int:
        """Re-encrypt every row with the newest key. Returns how many rows were rewritten.

        Every row is decrypted first, so an unreadable one stops the rotation before anything changes;
        each row is then replaced only if nobody changed it meanwhile (compare-and-set on the token).
        """
        fernet = self._fernet()
        rows = self.rows.credential_rows()
        for row in rows:
            self._decrypt(row, fernet)
        rotated = 0
        for row in rows:
            token = fernet.rotate(row["encrypted_api_key"].encode()).decode()
            if self.rows.update_credential_row(
                row["user_id"],
                row["provider"],
                now=datetime.now(UTC),
                token=token,
                expect_token=row["encrypted_api_key"],
            ):
                rotated += 1
            else:
                log.warning(
                    "%s key of user %s changed during rotation; left as saved",
                    row["provider"],
                    row["user_id"],
                )
        return rotated

    def _decrypt(self, row: Mapping[str, Any], fernet: MultiFernet | None = None) -> StoredCredentials:
        user_id, provider = str(row["user_id"]), row["provider"]
        try:
            key = (fernet or self._fernet()).decrypt(str(row["encrypted_api_key"]).encode()).decode()
        except (InvalidToken, UnicodeDecodeError):
            raise _undecryptable(user_id, provider) from None
        return StoredCredentials(
            user_id=user_id,
            provider=provider,
            api_key=SecretStr(key),
            connected_platforms=_platforms(row),
            updated_at=parse_time(row.get("updated_at")),
        )

    # The seed service's names for the same operations.
    save_credentials = save
    get_credentials = get
    delete_credentials = delete


def _platforms(row: Mapping[str, Any], *, strict: bool = True) -> tuple[str, ...]:
    value = row.get("connected_platforms")
    try:
        platforms = json.loads(value) if isinstance(value, str) else (value or [])
        if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
            raise ValueError
    except ValueError:
        if not strict:
            return ()
        raise CredentialsError(
            f"the connected platforms stored for user {row['user_id']} at {row['provider']} are corrupted: "
            f"run `postdeck credentials refresh --user {row['user_id']}`"
        ) from None
    return tuple(platforms)


def _platform_name(platform: Any) -> str:
    return str(getattr(platform, "value", platform))


def _undecryptable(user_id: str, provider: str) -> CredentialsError:
    return CredentialsError(
        f"the stored {provider} key of user {user_id} cannot be decrypted: ENCRYPTION_KEY is wrong (add the old "
        "key after the new one, comma-separated) or the row is corrupted (save the key again with "
        f"`postdeck credentials set --user {user_id} --provider {provider}`)"
    )


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise CredentialsError(f"unknown provider '{provider}': use one of {', '.join(PROVIDERS)}")
