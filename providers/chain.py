"""The failover chain: send one batch's deliveries through the first provider that can serve them.

Order (as the seed): the owner's PostForMe key, the owner's LATE key, the global PostForMe key, the
global LATE key. What happens after a failure depends only on its kind (providers.errors):

- not sent   → next provider (nothing reached this one);
- rejected   → record the reason; next provider only if the reason is this provider's own
               (account not connected there, bad key), not for content the platform refuses;
- throttled  → wait as told, retry the same provider;
- maybe sent → look the post key up at that same provider first: found → adopt it; absent → safe to
               go on; lookup fails → `unknown`, reported, never sent elsewhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from postdeck.ledger.base import DeliveryStatus, Outcome
from postdeck.providers.base import (
    Account,
    Platform,
    PostOutcome,
    PostRequest,
    Provider,
    Target,
    TargetStatus,
)
from postdeck.providers.errors import (
    ProviderError,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
)
from postdeck.schemas.media import MediaRef

log = logging.getLogger("postdeck.chain")

NO_CREDENTIALS = (
    "No social posting credentials configured. Set POSTFORME_API_KEY or LATE_API_KEY, save a user's keys "
    "with `postdeck credentials set`, or run against the simulators with --sandbox."
)


@dataclass(frozen=True)
class SendItem:
    """One delivery as the chain sees it."""

    key: str
    platform: Platform
    caption: str
    options: dict = field(default_factory=dict)


@dataclass
class Link:
    """One provider client with the credentials it was built with (label says whose)."""

    label: str  # e.g. "postforme:owner", "late:global": recorded so a crash can be looked up again
    provider: Provider
    _accounts: dict[Platform, Account] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accounts(self) -> dict[Platform, Account]:
        with self._lock:
            if self._accounts is None:
                found: dict[Platform, Account] = {}
                for account in self.provider.accounts():
                    if account.connected:
                        found.setdefault(account.platform, account)
                self._accounts = found
            return self._accounts


class MediaCache:
    """Where an uploaded file can be found at each provider (the ledger keeps it across runs)."""

    def get(self, sha256: str, provider: str) -> str | None:
        return None

    def put(self, sha256: str, provider: str, url: str) -> None:
        return None


AttemptHook = Callable[[list[str], str, str], None]
"""Called with (delivery keys, link label, post key) just before a create: must record it or raise."""

PostKeyFn = Callable[[list[str]], str]


class Chain:
    def __init__(
        self,
        links: Sequence[Link],
        *,
        media_cache: MediaCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_throttle_waits: int = 5,
        pending_poll_seconds: float = 10.0,
    ) -> None:
        self.links = list(links)
        self.media_cache = media_cache or MediaCache()
        self.sleep = sleep
        self.max_throttle_waits = max_throttle_waits
        self.pending_poll_seconds = pending_poll_seconds
        self._upload_lock = threading.Lock()

    def link(self, label: str) -> Link | None:
        return next((link for link in self.links if link.label == label), None)

    # --- sending ----------------------------------------------------------------------------

    def send(
        self,
        items: Sequence[SendItem],
        *,
        post_key_for: PostKeyFn,
        media: Sequence[MediaRef],
        scheduled_at: datetime | None,
        on_attempt: AttemptHook,
    ) -> dict[str, Outcome]:
        """Send items (one batch) through the chain; return an outcome for every item."""
        outcomes: dict[str, Outcome] = {}
        reasons: list[str] = []
        remaining = list(items)
        for link in self.links:
            if not remaining:
                break
            try:
                accounts = link.accounts()
            except ProviderError as exc:
                reasons.append(str(exc))
                log.warning("%s: cannot list accounts, trying the next provider: %s", link.label, exc)
                continue
            servable = [item for item in remaining if item.platform in accounts]
            if not servable:
                continue
            done = self._send_to(
                link, servable, accounts, post_key_for, media, scheduled_at, on_attempt, reasons
            )
            outcomes.update(done)
            remaining = [item for item in remaining if item.key not in outcomes]
        for item in remaining:
            reason = "; ".join(reasons) or f"No connected accounts for: ['{item.platform}']"
            outcomes[item.key] = Outcome(DeliveryStatus.FAILED, error=reason)
        return outcomes

    def _send_to(
        self,
        link: Link,
        items: list[SendItem],
        accounts: dict[Platform, Account],
        post_key_for: PostKeyFn,
        media: Sequence[MediaRef],
        scheduled_at: datetime | None,
        on_attempt: AttemptHook,
        reasons: list[str],
    ) -> dict[str, Outcome]:
        """Try one provider. Returns outcomes for the items it settled; the rest go to the next link."""
        keys = [item.key for item in items]
        post_key = post_key_for(keys)
        try:
            media_urls = tuple(self._media_url(link, ref) for ref in media)
        except ProviderError as exc:
            reasons.append(f"{link.label}: media upload failed: {exc}")
            return {}
        shared_caption = items[0].caption
        request = PostRequest(
            post_key=post_key,
            caption=shared_caption,
            targets=tuple(
                Target(item.platform, accounts[item.platform].id, item.caption, item.options)
                for item in items
            ),
            media_urls=media_urls,
            scheduled_at=scheduled_at,
        )
        # Record where the create may go before making it: the ledger must know, or we must not send.
        on_attempt(keys, link.label, post_key)
        for _ in range(self.max_throttle_waits + 1):
            try:
                outcome = link.provider.create(request)
            except ProviderThrottled as exc:
                wait = min(exc.retry_after or 1.0, 60.0)
                log.warning(
                    "%s: throttled, waiting %.1fs before retrying the same provider", link.label, wait
                )
                self.sleep(wait)
                continue
            except ProviderNotSent as exc:
                reasons.append(str(exc))
                log.warning("%s: not sent (%s), failing over", link.label, exc)
                return {}
            except ProviderRejected as exc:
                if exc.provider_specific:
                    reasons.append(str(exc))
                    log.warning("%s: rejected for a reason of its own (%s), failing over", link.label, exc)
                    return {}
                return {
                    k: Outcome(
                        DeliveryStatus.FAILED, provider=link.provider.name, post_key=post_key, error=str(exc)
                    )
                    for k in keys
                }
            except ProviderMaybeSent as exc:
                log.warning("%s: outcome unknown (%s), looking the post up", link.label, exc)
                try:
                    found = link.provider.lookup(post_key)
                except ProviderError as lookup_exc:
                    error = f"may have been sent; lookup failed: {lookup_exc}"
                    return {
                        k: Outcome(
                            DeliveryStatus.UNKNOWN,
                            provider=link.provider.name,
                            post_key=post_key,
                            error=error,
                        )
                        for k in keys
                    }
                if found is None:
                    reasons.append(f"{exc} (lookup: not created)")
                    return {}  # safe: the provider has no such post
                outcome = found
            return self._settle(link, items, post_key, self._await_pending(link, outcome))
        reasons.append(f"{link.label}: still throttled after {self.max_throttle_waits} waits")
        return {}

    def _settle(
        self, link: Link, items: list[SendItem], post_key: str, outcome: PostOutcome
    ) -> dict[str, Outcome]:
        return {item.key: to_outcome(outcome, item.platform, link.provider.name, post_key) for item in items}

    def _await_pending(self, link: Link, outcome: PostOutcome) -> PostOutcome:
        """PostForMe publishes asynchronously: poll briefly so immediate posts come back with their URL."""
        deadline = time.monotonic() + self.pending_poll_seconds
        delay = 0.05
        while any(r.status == TargetStatus.PENDING for r in outcome.results) and time.monotonic() < deadline:
            self.sleep(delay)
            delay = min(delay * 2, 1.0)
            try:
                outcome = link.provider.get(outcome.provider_post_id)
            except ProviderError as exc:
                log.warning("%s: cannot read post %s yet: %s", link.label, outcome.provider_post_id, exc)
        return outcome

    def _media_url(self, link: Link, ref: MediaRef) -> str:
        if ref.url:
            return ref.url
        assert ref.path is not None and ref.sha256 is not None
        with self._upload_lock:  # one upload per file and provider, even with concurrent batches
            cached = self.media_cache.get(ref.sha256, link.label)
            if cached:
                return cached
            url = link.provider.upload(
                ref.path.read_bytes(), content_type=ref.content_type, filename=ref.filename
            )
            self.media_cache.put(ref.sha256, link.label, url)
            return url

    # --- recovery ---------------------------------------------------------------------------

    def recover(self, post_key: str, labels: Sequence[str], platform: Platform) -> Outcome | None:
        """After a crash: look the post key up wherever it may have gone.

        Returns the adopted outcome, None when no provider has it (safe to send), or an `unknown`
        outcome when a provider cannot tell.
        """
        for label in labels:
            link = self.link(label)
            if link is None:
                return Outcome(
                    DeliveryStatus.UNKNOWN,
                    post_key=post_key,
                    error=f"may have been sent through {label}, which is not configured now",
                )
            try:
                found = link.provider.lookup(post_key)
            except ProviderError as exc:
                return Outcome(
                    DeliveryStatus.UNKNOWN,
                    provider=link.provider.name,
                    post_key=post_key,
                    error=f"may have been sent; lookup failed: {exc}",
                )
            if found is not None:
                return to_outcome(self._await_pending(link, found), platform, link.provider.name, post_key)
        return None


def to_outcome(outcome: PostOutcome, platform: Platform, provider: str, post_key: str) -> Outcome:
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
    return Outcome(
        status, platform_post_id=result.platform_post_id, url=result.url, error=result.error, **common
    )
