"""Which of a campaign's deliveries the providers already have, found by post key in their post lists.

The ledger and the journal are what say "already posted". When both are gone (a new machine, a
worker container whose `.postdeck/` was not kept), the providers are the only witnesses left: each
post carries the post key it was created with (PostForMe `external_id`, LATE metadata), and a post
key is the hash of the campaign, the batch and the delivery keys of one create
(postdeck.core.keys.PostKey). A provider post is matched to a batch when the hash of that batch's
deliveries to the post's platforms is its key, which also finds what a failover sent on.

Each provider's list is read page by page, newest first, up to POSTDECK_CENSUS_MAX_POSTS posts a
link: a campaign published further down than that is not found, and the census says the bound was
reached (`Census.cut_short`). A list that cannot be read is not "no posts there": the first publish
refuses (CensusIncomplete) rather than send what that provider may already have.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from postdeck.core.keys import PostKey
from postdeck.engine.publisher import claim_request
from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.journal_guard import LedgerLostDeliveries
from postdeck.ledger.records import REBUILD_LEASE_SECONDS, REBUILD_OWNER, ClaimState
from postdeck.providers.base import PostOutcome
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import ProviderError
from postdeck.schemas.deliveries import Delivery
from postdeck.settings import settings

log = logging.getLogger("postdeck.engine.provider_census")
READ_ATTEMPTS = 3  # of one page of a provider's post list, before it counts as unreadable


@dataclass(frozen=True)
class FoundPost:
    """A provider post that carries the post key of some of the campaign's deliveries."""

    label: str  # the chain link that listed it
    provider: str
    post: PostOutcome
    deliveries: tuple[Delivery, ...]


class CensusIncomplete(LedgerError):
    """A provider's post list could not be read before a campaign's first publish into a ledger: it
    may hold the campaign's posts, so publishing could send them again."""


@dataclass(frozen=True)
class Census:
    found: tuple[FoundPost, ...]
    unreadable: tuple[str, ...]  # links whose post list could not be read (why, per link)
    cut_short: tuple[str, ...] = ()  # links whose list goes on past `max_posts` (not searched further)
    max_posts: int = 0

    def bound_note(self) -> str:
        """What was not searched, when the bound stopped a list ('' when every list was read to its end)."""
        if not self.cut_short:
            return ""
        return (
            f"only the newest {self.max_posts} posts (POSTDECK_CENSUS_MAX_POSTS) of {', '.join(self.cut_short)} "
            "were searched: posts of the campaign older than those are not found"
        )


def census(chain: Chain, deliveries: Sequence[Delivery], *, max_posts: int | None = None) -> Census:
    """The posts at every link of the chain that belong to these deliveries, each link's list read
    page by page up to `max_posts` posts (None: POSTDECK_CENSUS_MAX_POSTS)."""
    bound = settings().census_max_posts if max_posts is None else max_posts
    batches: dict[tuple[str, str], list[Delivery]] = {}
    for delivery in deliveries:
        batches.setdefault((delivery.campaign, delivery.batch_id), []).append(delivery)
    found: list[FoundPost] = []
    unreadable: list[str] = []
    cut_short: list[str] = []
    for link in chain.links:
        try:
            posts, complete = _read_posts(chain, link, bound)
        except ProviderError as exc:
            log.warning("%s: cannot list its posts: %s", link.label, exc)
            unreadable.append(f"{link.label}: {exc}")
            continue
        if not complete:
            log.warning(
                "%s: its post list goes on past the newest %d (POSTDECK_CENSUS_MAX_POSTS): older posts "
                "are not searched for the campaign's post keys",
                link.label,
                bound,
            )
            cut_short.append(link.label)
        found += [f for post in posts if (f := _match(link, post, batches)) is not None]
    return Census(tuple(found), tuple(unreadable), tuple(cut_short), bound)


def _read_posts(chain: Chain, link: Link, bound: int) -> tuple[list[PostOutcome], bool]:
    """Up to about `bound` of the link's posts, newest first, and whether that was its whole list."""
    posts: list[PostOutcome] = []
    page = 0
    while True:
        # A throttle or a passing error is asked again (a few times: a down provider refuses soon).
        listed = chain.calls.read(
            link,
            functools.partial(link.provider.list_page, page),
            f"its post list, page {page + 1}",
            attempts=READ_ATTEMPTS,
        )
        posts += listed.posts
        if not listed.more or not listed.posts:
            return posts, True
        if len(posts) >= bound:
            return posts, False
        page += 1


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
    (the ledger and the journal that knew them are gone), naming the rebuild that records them; and
    refuse if a provider's list cannot be read (it may have them)."""
    if not deliveries:
        return
    found = census(chain, deliveries)
    campaign = deliveries[0].campaign
    note = f" ({found.bound_note()})" if found.bound_note() else ""
    if found.found:
        batches = sorted({d.batch_id for f in found.found for d in f.deliveries})
        providers = sorted({f.provider for f in found.found})
        raise LedgerLostDeliveries(
            f"{campaign}: the ledger ({ledger}) has no record of this campaign, but {', '.join(providers)} "
            f"already has {len(found.found)} of its posts (batches {', '.join(batches[:5])}"
            f"{', …' if len(batches) > 5 else ''}{note}): the ledger is new or was replaced, and publishing "
            f"would send them again. Nothing was sent. Run `postdeck ledger rebuild --from-providers {path}` "
            "to record them first"
        )
    if found.unreadable:
        raise CensusIncomplete(
            f"{campaign}: the ledger ({ledger}) has no record of this campaign, so before its first publish "
            f"the providers' posts are searched for it, and {'; '.join(found.unreadable)}: its posts "
            "there cannot be ruled out. Nothing was sent. Publish again when it is reachable"
        )


@dataclass(frozen=True)
class ProviderRebuild:
    restored: list[str]  # the delivery keys recorded
    census: Census  # what was searched (its unreadable links and bound say what was not)


def rebuild_from_providers(
    ledger: LedgerWriter, chain: Chain, deliveries: Sequence[Delivery], *, now: datetime
) -> ProviderRebuild:
    """Record every delivery the providers have a post of and the ledger lacks (claimed as the publisher
    claims it, its attempt noted, the provider's word for its platform recorded)."""
    restored = []
    searched = census(chain, deliveries)
    for found in searched.found:
        post_key = found.post.post_key or ""
        for delivery in found.deliveries:
            request = claim_request(delivery)
            claim = ledger.claim(request, owner=REBUILD_OWNER, lease_seconds=REBUILD_LEASE_SECONDS, now=now)
            if claim.state not in (ClaimState.CLAIMED, ClaimState.RECOVERED):
                continue  # the ledger has it (RECOVERED: a rebuild's own claim, left half-way: ended now)
            ledger.note_attempt([delivery.key], owner=REBUILD_OWNER, provider=found.label, post_key=post_key)
            outcome = to_outcome(found.post, delivery.platform, found.provider, post_key)
            ledger.record(delivery.key, outcome, owner=REBUILD_OWNER, now=now)
            restored.append(delivery.key)
    return ProviderRebuild(restored, searched)
