"""Send one post's deliveries through the exactly-once publisher and say what happened as a PostResult.

Shared by SocialPostingService, the seed's provider classes and `postdeck post`: every one of them
claims each delivery in the ledger first (postdeck.engine.publisher), so a repeated call never posts twice.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence

from postdeck.core.platform import Platform
from postdeck.engine.publisher import publish_batch
from postdeck.errors import LedgerError, PostdeckError
from postdeck.ledger.base import DeliveryRecord
from postdeck.ledger.journal_guard import require_keys_not_lost
from postdeck.ledger.queries import DeliveryQuery
from postdeck.providers.chain import Chain
from postdeck.providers.errors import ProviderError, every_failure
from postdeck.schemas.deliveries import Delivery
from postdeck.service.results import PostResult, post_result

log = logging.getLogger("postdeck.service")


class NotConnected(PostdeckError):
    """No provider has a connected account for some of the platforms (the seed's wording)."""

    def __init__(self, platforms: Iterable[Platform | str]) -> None:
        self.platforms = [str(getattr(p, "value", p)) for p in platforms]
        super().__init__(f"No connected accounts for: {self.platforms}")


def new_owner(kind: str = "api") -> str:
    """Who holds the claims of this call: unique per call, readable in the ledger."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def sent_in(ledger) -> Callable[[list[str]], bool]:
    """`prepare`'s `sent`: whether the ledger holds any of these delivery keys (claimed or sent)."""

    def sent(keys: list[str]) -> bool:
        return bool(ledger.find_deliveries(DeliveryQuery(keys=tuple(keys)), limit=1))

    return sent


def connected_platforms(chain: Chain) -> set[Platform]:
    """Platforms some provider of the chain can post to. Raises a ProviderError naming every provider
    only when none could be asked at all (one that is down is skipped: the others may serve)."""
    found: set[Platform] = set()
    errors: list[ProviderError] = []
    asked = 0
    for link in chain.links:
        if link.disabled:
            continue
        try:
            found |= set(link.accounts())
            asked += 1
        except ProviderError as exc:
            errors.append(exc)
    if not asked and errors:
        raise every_failure(errors)
    return found


def require_connected(chain: Chain, platforms: Iterable[Platform]) -> None:
    wanted = list(dict.fromkeys(platforms))
    if not wanted:
        return
    available = connected_platforms(chain)
    missing = [p for p in wanted if p not in available]
    if missing:
        raise NotConnected(missing)


def send(deliveries: Sequence[Delivery], *, ledger, chain: Chain, owner: str) -> PostResult:
    """Publish the deliveries (each exactly once) and read back what the ledger recorded."""
    new = [d for d in deliveries if _record(ledger, d.key) is None]
    require_keys_not_lost(ledger, [d.key for d in new])  # a new ledger would post them again
    # Checked before anything is claimed: a "not connected" answer is not recorded as a failed post,
    # so the same call succeeds once the account is connected. Done deliveries need no account.
    require_connected(chain, [d.platform for d in new])
    reports = publish_batch(deliveries, ledger=ledger, chain=chain, owner=owner)
    records = {d.key: _record(ledger, d.key) for d in deliveries}
    return post_result(deliveries, reports, records)


def _record(ledger, key: str) -> DeliveryRecord | None:
    try:
        return ledger.get(key)
    except LedgerError as exc:  # the claim will say so; the result is built from the reports
        log.warning("cannot read %s from the ledger: %s", key, exc)
        return None
