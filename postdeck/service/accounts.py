"""Connected social accounts across the providers of a chain (seed 002's channels, seed 000's
get_connected_accounts), filtered by platform, by name and by whether they are active."""

from __future__ import annotations

from dataclasses import dataclass, field

from postdeck.core.platform import Platform
from postdeck.providers.chain import Chain
from postdeck.providers.errors import ProviderError
from postdeck.service.results import AccountInfo


@dataclass
class AccountListing:
    accounts: list[AccountInfo] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # link label → why it could not be asked


def list_accounts(
    chain: Chain,
    *,
    platform: Platform | None = None,
    name: str | None = None,
    active: bool | None = None,
    account_id: str | None = None,
) -> AccountListing:
    """Every provider's accounts (disconnected ones too, unless active=True), in chain order. A listing
    of every platform also replaces the account list publish runs reuse, so connecting or
    disconnecting an account and then running `postdeck accounts` takes effect at once."""
    listing = AccountListing()
    needle = (name or "").casefold()
    for link in chain.links:
        try:
            found = link.provider.accounts(platform=platform, include_disconnected=active is not True)
        except ProviderError as exc:
            listing.problems[link.label] = str(exc)
            continue
        if platform is None:  # the whole list: what publish uses from now on (providers.account_cache)
            chain.keep_accounts(link, found)
        for account in found:
            if needle and needle not in account.username.casefold():
                continue
            if account_id is not None and account.id != account_id:
                continue
            if active is not None and account.connected != active:
                continue
            listing.accounts.append(
                AccountInfo(
                    id=account.id,
                    platform=account.platform.value,
                    username=account.username,
                    profile_id=account.profile_id,
                    provider=account.provider,
                    connected=account.connected,
                    link=link.label,
                )
            )
    return listing
