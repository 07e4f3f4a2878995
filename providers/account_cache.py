"""A provider key's connected accounts, reused across runs for a while instead of listed every run.

A create names accounts by id, so every run used to begin with one account listing per provider. The
ledger keeps the last list per scope (provider, key fingerprint, API address) and a run takes it while
it is younger than POSTDECK_ACCOUNT_LIST_MAX_AGE seconds (default 900; 0 lists every run).

A list can go stale within that time; the chain (providers.chain) heals where the provider says so:
- an account deleted or reconnected under a new id: the create is refused, nothing was posted, so the
  chain lists again and sends the batch to that provider once more with the new ids;
- an account disconnected (same id): LATE refuses the create (healed as above); an immediate post at
  PostForMe fails that platform as a connection failure, which fails over like any other and drops
  the list;
- a platform newly connected: a delivery with no account anywhere makes the chain list again.
What it cannot see: PostForMe takes a *scheduled* post for a disconnected account and fails it at
publish time (as it does for one disconnected any time after scheduling), and a second account
connected for a platform already served is not picked up. `postdeck accounts` (every platform)
replaces the kept list, so listing the accounts after changing them takes effect at once, and the
providers' account webhooks (postdeck.webhooks) drop that provider's lists.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from postdeck.core.platform import Platform
from postdeck.errors import LedgerError
from postdeck.providers.base import Account
from postdeck.providers.media import upload_scope
from postdeck.settings import settings

log = logging.getLogger("postdeck.accounts")

MAX_AGE_ENV = "POSTDECK_ACCOUNT_LIST_MAX_AGE"
DEFAULT_MAX_AGE = timedelta(minutes=15)
MAX_AGE_LIMIT = timedelta(days=1)  # a list older than a day is read again whatever the setting


def max_age(environ: Mapping[str, str] | None = None) -> timedelta:
    """POSTDECK_ACCOUNT_LIST_MAX_AGE in seconds (0: never reuse a list); 15 minutes when unset."""
    # Bounds (0 to MAX_AGE_LIMIT, finite) and the message naming the variable: postdeck.settings.
    return timedelta(seconds=settings(environ).account_list_max_age)


def account_scope(label: str, provider: Any) -> str:
    """Whose accounts a list is: the provider and key fingerprint (as the media cache scopes uploads)
    and the API address, so a simulator's accounts never answer for the real provider's."""
    base_url = getattr(provider, "base_url", None)
    scope = upload_scope(label, provider)
    return f"{scope}@{base_url}" if base_url else scope


def to_row(account: Account) -> dict[str, Any]:
    """What is kept of an account: how to address it, never its platform tokens."""
    return {
        "id": account.id,
        "platform": account.platform.value,
        "username": account.username,
        "profile_id": account.profile_id,
        "external_id": account.external_id,
    }


def from_row(provider: str, row: Mapping[str, Any]) -> Account | None:
    """The account a stored row describes; None for a row this version cannot read (skipped)."""
    try:
        return Account(
            provider=provider,
            id=str(row["id"]),
            platform=Platform(row["platform"]),
            username=str(row.get("username") or ""),
            profile_id=row.get("profile_id"),
            external_id=row.get("external_id"),
        )
    except (KeyError, TypeError, ValueError):
        return None


class AccountCache:
    """Keeps nothing: every run lists (tests that build a Chain directly, and MAX_AGE 0)."""

    def get(self, scope: str, provider: str) -> list[Account] | None:
        return None

    def put(self, scope: str, accounts: list[Account]) -> None:
        return None

    def forget(self, scope: str) -> None:
        return None


class LedgerAccountCache(AccountCache):
    """The ledger's account_lists table, reused while younger than `max_age`. A ledger error only
    costs a listing: it is logged, never raised (claims and outcomes meet the ledger on their own)."""

    def __init__(self, ledger: Any, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self.ledger = ledger
        self.max_age = max_age

    def get(self, scope: str, provider: str) -> list[Account] | None:
        if not self.max_age:
            return None
        try:
            rows = self.ledger.cached_accounts(scope, listed_after=datetime.now(UTC) - self.max_age)
        except LedgerError as exc:
            log.warning("%s: kept account list unreadable, listing: %s", scope, exc)
            return None
        if not isinstance(rows, list):
            return None
        accounts = [a for a in (from_row(provider, r) for r in rows if isinstance(r, Mapping)) if a]
        if len(accounts) != len(rows):
            log.warning("%s: the kept account list has rows this version cannot read: listing again", scope)
            return None
        return accounts

    def put(self, scope: str, accounts: list[Account]) -> None:
        if not self.max_age:
            return
        try:
            self.ledger.cache_accounts(scope, [to_row(a) for a in accounts], now=datetime.now(UTC))
        except LedgerError as exc:
            log.warning("%s: account list not kept: %s", scope, exc)

    def forget(self, scope: str) -> None:
        try:
            self.ledger.forget_accounts(scope)
        except LedgerError as exc:  # it still ages out
            log.warning("%s: stale account list not dropped: %s", scope, exc)
