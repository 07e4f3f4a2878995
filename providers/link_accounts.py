"""Which accounts each link posts to in a run: a recent list kept by an earlier run (the account
cache), else listed once per run; listed again, once, when a kept list proves stale."""

from __future__ import annotations

import logging

from postdeck.core.platform import Platform
from postdeck.providers.account_cache import AccountCache
from postdeck.providers.attempts import ProviderCalls
from postdeck.providers.base import Account
from postdeck.providers.errors import ProviderError
from postdeck.providers.links import Link, one_per_platform

log = logging.getLogger("postdeck.chain")


class AccountFinder:
    """The chain's account lists: kept in `cache` across runs, asked for through `calls` (guarded)."""

    def __init__(self, cache: AccountCache, calls: ProviderCalls) -> None:
        self.cache = cache
        self.calls = calls

    def accounts_of(self, link: Link) -> dict[Platform, Account]:
        """The link's usable accounts: a recent list kept by an earlier run (account cache), else
        listed once per run (only that request takes a guard slot). A refused key (401) disables the
        link for the rest of the run; the error is raised."""
        if not link.listed:
            with link.finding:
                if not link.listed:
                    kept = self.cache.get(link.account_scope, link.provider.name)
                    if kept is not None:
                        link.adopt(kept)
                    else:
                        self._list(link)
        return link.accounts()

    def _list(self, link: Link) -> dict[Platform, Account]:
        """Ask the provider for the link's accounts, and keep the list for later runs."""
        try:
            accounts = self.calls.call(link, link.relist)
        except ProviderError as exc:
            self.calls.unwell(link, exc)
            if exc.status == 401:
                link.disabled = f"{link.label}: {exc}"
            raise
        self.cache.put(link.account_scope, link.listing())
        return accounts

    def keep(self, link: Link, accounts: list[Account]) -> None:
        """A complete listing made elsewhere (`postdeck accounts`) becomes the kept list later runs use."""
        chosen = list(one_per_platform(accounts).values())
        self.cache.put(link.account_scope, chosen)

    def refresh(self, link: Link) -> None:
        """List a link's accounts again if they came from an earlier run's list: once per run (a
        concurrent batch may have done it already; a failed listing keeps the kept list)."""
        if not link.cached:
            return
        with link.finding:
            if not link.cached:
                return
            log.info("%s: the kept account list looks stale: listing again", link.label)
            self.cache.forget(link.account_scope)
            try:
                self._list(link)
            except ProviderError as exc:
                log.warning("%s: cannot list accounts again, keeping the kept list: %s", link.label, exc)
                link.cached = False  # asked once in this run: not again for every batch
