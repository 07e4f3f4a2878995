"""One provider client in the failover chain (a Link), the account it posts each platform to, and
the hooks the chain is given (guard, post key, attempt record, media cache)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from postdeck.core.platform import Platform
from postdeck.providers.account_cache import account_scope
from postdeck.providers.base import Account, Provider

log = logging.getLogger("postdeck.chain")

Guard = Callable[[str], AbstractContextManager[Any]]
"""Called with a provider name around every call to that provider (the flow's per-provider cap)."""

AttemptHook = Callable[[list[str], str, str], None]
"""Called with (delivery keys, link label, post key) just before a create: must record it or raise."""

PostKeyFn = Callable[[list[str]], str]

# Statuses a create naming an account the provider no longer knows (or has disconnected) gets: worth
# listing the accounts again when the list came from an earlier run. Not 401 (the key) or 402 (the plan).
ACCOUNT_REFUSALS = frozenset({400, 403, 404})


def label_provider(label: str) -> str:
    """The provider a link label names: `postforme` of `postforme:owner`."""
    return label.split(":", 1)[0]


def one_per_platform(accounts: list[Account]) -> dict[Platform, Account]:
    """The connected account each platform posts to: the first listed (the providers list newest first)."""
    found: dict[Platform, Account] = {}
    for account in accounts:
        if account.connected:
            found.setdefault(account.platform, account)
    return found


@dataclass
class Link:
    """One provider client with the credentials it was built with (label says whose)."""

    label: str  # e.g. "postforme:owner", "late:global": recorded so a crash can be looked up again
    provider: Provider
    _accounts: dict[Platform, Account] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Held while the accounts are being found (kept list or listing): other batches wait here, not
    # in a provider slot of their own.
    finding: threading.Lock = field(default_factory=threading.Lock)
    cached: bool = False  # the accounts came from an earlier run's list, not yet confirmed in this one
    disabled: str | None = None  # why this link serves nothing more in this run (a bad key)
    # Platforms whose account this provider could not use in this run, and why: a token does not heal
    # mid-run, so later batches go straight to the next provider instead of failing here first.
    excluded: dict[Platform, str] = field(default_factory=dict)

    def accounts(self) -> dict[Platform, Account]:
        with self._lock:
            if self._accounts is None:
                self._accounts = one_per_platform(self.provider.accounts())
            return {p: a for p, a in self._accounts.items() if p not in self.excluded}

    def adopt(self, accounts: list[Account]) -> None:
        """Use an earlier run's list (providers.account_cache) instead of asking the provider."""
        with self._lock:
            if self._accounts is None:
                self._accounts = one_per_platform(accounts)
                self.cached = True

    def relist(self) -> dict[Platform, Account]:
        """Ask the provider (again): the list in use, if any, is kept when that fails."""
        fresh = one_per_platform(self.provider.accounts())
        with self._lock:
            self._accounts = fresh
            self.cached = False
        return self.accounts()

    def listing(self) -> list[Account]:
        """The accounts as listed (excluded ones too): what the account cache keeps."""
        with self._lock:
            return list((self._accounts or {}).values())

    @property
    def account_scope(self) -> str:
        """Where the account cache keeps this link's list (provider, key fingerprint, API address)."""
        return account_scope(self.label, self.provider)

    @property
    def listed(self) -> bool:
        """Whether the accounts were read already (later calls make no request)."""
        return self._accounts is not None

    def exclude(self, platforms: set[Platform], reason: str) -> None:
        """This provider cannot post these platforms for the rest of the run (account disconnected)."""
        with self._lock:
            for platform in platforms:
                if platform not in self.excluded:
                    self.excluded[platform] = reason
                    log.warning(
                        "%s: not using its %s account any more in this run: %s", self.label, platform, reason
                    )


class MediaCache:
    """Where an uploaded file can be found at each provider (the ledger keeps it across runs)."""

    def get(self, sha256: str, provider: str) -> str | None:
        return None

    def put(self, sha256: str, provider: str, url: str) -> None:
        return None
