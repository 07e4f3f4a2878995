"""What became of a post at its provider, in the ledger's words: a provider's PostOutcome as a core
Outcome (`to_outcome`), and after a crash, the post key looked up wherever it may have gone."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.providers.attempts import ProviderCalls
from postdeck.providers.base import PostOutcome, TargetStatus
from postdeck.providers.errors import ProviderError
from postdeck.providers.links import Link


def recover(
    calls: ProviderCalls,
    link_for: Callable[[str], Link | None],
    post_key: str,
    labels: Sequence[str],
    platform: Platform,
) -> Outcome | None:
    """After a crash: look the post key up at each link it may have gone through (`labels`).

    Through the provider's whole list (as far as its lookup goes): the claim row's time would not
    bound it safely, since a rebuild that died before recording leaves a row younger than the creates.

    Returns the adopted outcome, None when no provider has it (safe to send), or an `unknown`
    outcome when a provider cannot tell.
    """
    for label in labels:
        link = link_for(label)
        if link is None:
            return Outcome(
                DeliveryStatus.UNKNOWN,
                post_key=post_key,
                error=f"may have been sent through {label}, which is not configured now",
            )
        try:
            found = calls.lookup(link, post_key)
        except ProviderError as exc:
            return Outcome(
                DeliveryStatus.UNKNOWN,
                provider=link.provider.name,
                post_key=post_key,
                error=f"may have been sent; lookup failed: {exc}",
            )
        if found is None:
            continue
        found = calls.await_pending(link, found)
        result = found.result_for(platform)
        if result is not None and result.status is TargetStatus.FAILED and result.portable:
            continue  # never attempted on the platform there: as good as absent
        return to_outcome(found, platform, link.provider.name, post_key)
    return None


def to_outcome(outcome: PostOutcome, platform: Platform, provider: str, post_key: str) -> Outcome:
    """One platform's result in a provider's post, as the delivery's outcome."""
    result = outcome.result_for(platform)
    common = dict(provider=provider, provider_post_id=outcome.provider_post_id, post_key=post_key)
    if result is None:
        return Outcome(
            DeliveryStatus.UNKNOWN, error=f"the provider's post has no {platform} result", **common
        )
    status = {
        TargetStatus.POSTED: DeliveryStatus.POSTED,
        TargetStatus.SCHEDULED: DeliveryStatus.SCHEDULED,
        # Accepted and still publishing: followed up like a scheduled post.
        TargetStatus.PENDING: DeliveryStatus.SCHEDULED,
        TargetStatus.FAILED: DeliveryStatus.FAILED,
    }[result.status]
    error = result.error
    if result.status is TargetStatus.PENDING:
        error = f"still publishing at {provider}: the follow-up records the result"
    return Outcome(status, platform_post_id=result.platform_post_id, url=result.url, error=error, **common)
