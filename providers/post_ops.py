"""Changes to a post already made, through the link that made it (named by its label): read it, look
its post key up, update, cancel, or ask the provider to retry it. The flow applies plan changes and
follow-ups through these (as Chain.get, Chain.update, …)."""

from __future__ import annotations

from collections.abc import Callable

from postdeck.providers.attempts import ProviderCalls
from postdeck.providers.base import PostOutcome, PostRequest, SupportsRetry
from postdeck.providers.errors import ProviderRejected, ProviderUnsupported
from postdeck.providers.links import Link, label_provider


class PostOps:
    """Operations on one provider post, each a guarded call to the link `label` names in this run."""

    def __init__(self, link_for: Callable[[str], Link | None], calls: ProviderCalls) -> None:
        self._link_for = link_for
        self._calls = calls

    def _require(self, label: str) -> Link:
        link = self._link_for(label)
        if link is None:
            raise ProviderRejected(f"{label} is not configured in this run", provider=label_provider(label))
        return link

    def get(self, label: str, provider_post_id: str) -> PostOutcome:
        link = self._require(label)
        return self._calls.call(link, link.provider.get, provider_post_id)

    def lookup(self, label: str, post_key: str) -> PostOutcome | None:
        return self._calls.lookup(self._require(label), post_key)

    def update(self, label: str, provider_post_id: str, request: PostRequest) -> PostOutcome:
        link = self._require(label)
        return self._calls.call(link, link.provider.update, provider_post_id, request)

    def cancel(self, label: str, provider_post_id: str) -> None:
        link = self._require(label)
        self._calls.call(link, link.provider.cancel, provider_post_id)

    def retry_post(self, label: str, provider_post_id: str) -> PostOutcome:
        """Ask the provider to re-run a failed post (LATE); PostForMe cannot: create anew instead."""
        link = self._require(label)
        if not isinstance(link.provider, SupportsRetry):
            raise ProviderUnsupported(
                "this provider cannot retry a post; create a new one", provider=link.provider.name
            )
        return self._calls.call(link, link.provider.retry, provider_post_id)
