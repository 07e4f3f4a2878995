"""Send one post's deliveries through the exactly-once publisher and say what happened as a PostResult.

Shared by SocialPostingService, the seed's provider classes and `postdeck post`: every one of them
claims each delivery in the ledger first (postdeck.engine.publisher), so a repeated call never posts twice.
Each send is a run (campaign_runs, kind `post`) that its deliveries name, as a publish's do.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from postdeck.core.platform import Platform
from postdeck.engine.publisher import publish_batch
from postdeck.engine.runs import file_source, recorded_run
from postdeck.engine.verdict import verdict
from postdeck.errors import LedgerError, PostdeckError
from postdeck.ledger.journal_guard import require_keys_not_lost
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import DeliveryRecord
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


def send(
    deliveries: Sequence[Delivery], *, ledger, chain: Chain, owner: str, source_file: Path | None = None
) -> PostResult:
    """Publish the deliveries (one batch: each exactly once) as a run of their campaign, and read back
    what the ledger recorded. `source_file` is the file they were rendered from (an ad-hoc post's, a
    campaign's): the run names it, and its commit when git has it. Refused before anything is sent
    (a lost ledger, no connected account), it is no run."""
    new = [d for d in deliveries if _record(ledger, d.key) is None]
    require_keys_not_lost(ledger, [d.key for d in new])  # a new ledger would post them again
    # Checked before anything is claimed: a "not connected" answer is not recorded as a failed post,
    # so the same call succeeds once the account is connected. Done deliveries need no account.
    require_connected(chain, [d.platform for d in new])
    reports = []
    if deliveries:
        first, started = deliveries[0], False
        source = file_source(source_file, deliveries)
        try:
            with recorded_run(ledger, first.campaign, source=source, kind="post", user_id=first.owner) as run:
                started = True
                reports = publish_batch(deliveries, ledger=ledger, chain=chain, owner=owner, stamp=run.stamp)
                run.outcome = verdict([asdict(r) for r in reports])
        except LedgerError as exc:
            if started:
                raise
            # As for a claim that cannot be written: nothing is sent without its run.
            raise type(exc)(f"not sent: the run could not be recorded: {exc}") from None
    records = {d.key: _record(ledger, d.key) for d in deliveries}
    return post_result(deliveries, reports, records)


def _record(ledger, key: str) -> DeliveryRecord | None:
    try:
        return ledger.get(key)
    except LedgerError as exc:  # the claim will say so; the result is built from the reports
        log.warning("cannot read %s from the ledger: %s", key, exc)
        return None
