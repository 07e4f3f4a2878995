"""Which of a campaign's deliveries the providers already have, found by post key in their post lists.

The ledger and the journal are what say "already posted". When both are gone (a new machine, a
worker container whose `.postdeck/` was not kept), the providers are the only witnesses left: each
post carries the post key it was created with (PostForMe `external_id`, LATE metadata), and a post
key is the hash of the campaign, the batch and the delivery keys of one create
(postdeck.core.keys.PostKey). A provider post is matched to a batch when the hash of that batch's
deliveries to the post's platforms is its key, which also finds what a failover sent on.

Only the newest posts each provider lists are searched (PostForMe's and LATE's first page): a
campaign published long ago and far down those lists is not found.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from postdeck.core.keys import PostKey
from postdeck.engine.publisher import claim_request
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.journal_guard import LedgerLostDeliveries
from postdeck.ledger.rebuild import REBUILD_OWNER
from postdeck.ledger.records import ClaimState
from postdeck.providers.base import PostOutcome
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import ProviderError
from postdeck.schemas.deliveries import Delivery

log = logging.getLogger("postdeck.engine.provider_census")


@dataclass(frozen=True)
class FoundPost:
    """A provider post that carries the post key of some of the campaign's deliveries."""

    label: str  # the chain link that listed it
    provider: str
    post: PostOutcome
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class Census:
    found: tuple[FoundPost, ...]
    unreadable: tuple[str, ...]  # links whose post list could not be read (why, per link)


def census(chain: Chain, deliveries: Sequence[Delivery]) -> Census:
    """The posts at every link of the chain that belong to these deliveries (one list call per link)."""
    batches: dict[tuple[str, str], list[Delivery]] = {}
    for delivery in deliveries:
        batches.setdefault((delivery.campaign, delivery.batch_id), []).append(delivery)
    found: list[FoundPost] = []
    unreadable: list[str] = []
    for link in chain.links:
        try:
            posts = chain.calls.call(link, link.provider.list_posts)
        except ProviderError as exc:
            log.warning("%s: cannot list its posts: %s", link.label, exc)
            unreadable.append(f"{link.label}: {exc}")
            continue
        found += [f for post in posts if (f := _match(link, post, batches)) is not None]
    return Census(tuple(found), tuple(unreadable))


def _match(link: Link, post: PostOutcome, batches: dict[tuple[str, str], list[Delivery]]) -> FoundPost | None:
    if not post.post_key or not post.post_key.startswith("pd_"):
        return None  # not made by postdeck
    platforms = {r.platform for r in post.results}
    for (campaign, batch_id), group in batches.items():
        served = [d for d in group if d.platform in platforms]
        if served and str(PostKey.of(campaign, batch_id, [d.key for d in served])) == post.post_key:
            return FoundPost(link.label, link.provider.name, post, tuple(served))
    return None


def require_not_at_providers(chain: Chain, deliveries: Sequence[Delivery], *, ledger: str, path: str) -> None:
    """Before a campaign's first publish into a ledger: refuse if the providers already have its posts
    (the ledger and the journal that knew them are gone), naming the rebuild that records them."""
    found = census(chain, deliveries).found
    if not found:
        return
    campaign = found[0].deliveries[0].campaign
    batches = sorted({d.batch_id for f in found for d in f.deliveries})
    providers = sorted({f.provider for f in found})
    raise LedgerLostDeliveries(
        f"{campaign}: the ledger ({ledger}) has no record of this campaign, but {', '.join(providers)} "
        f"already has {len(found)} of its posts (batches {', '.join(batches[:5])}"
        f"{', …' if len(batches) > 5 else ''}): the ledger is new or was replaced, and publishing would "
        f"send them again. Nothing was sent. Run `postdeck ledger rebuild --from-providers {path}` to "
        "record them first"
    )


def rebuild_from_providers(
    ledger: LedgerWriter, chain: Chain, deliveries: Sequence[Delivery], *, now: datetime
) -> list[str]:
    """Record every delivery the providers have a post of and the ledger lacks (claimed as the publisher
    claims it, its attempt noted, the provider's word for its platform recorded). Returns the keys."""
    restored = []
    for found in census(chain, deliveries).found:
        post_key = found.post.post_key or ""
        for delivery in found.deliveries:
            claim = ledger.claim(claim_request(delivery), owner=REBUILD_OWNER, lease_seconds=60, now=now)
            if claim.state != ClaimState.CLAIMED:
                continue  # the ledger has it
            ledger.note_attempt([delivery.key], owner=REBUILD_OWNER, provider=found.label, post_key=post_key)
            outcome = to_outcome(found.post, delivery.platform, found.provider, post_key)
            ledger.record(delivery.key, outcome, owner=REBUILD_OWNER, now=now)
            restored.append(delivery.key)
    return restored
