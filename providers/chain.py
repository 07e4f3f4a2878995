"""The failover chain: send one batch's deliveries through the first provider that can serve them.

Order (as the seed): the owner's PostForMe key, the owner's LATE key, the global PostForMe key, the
global LATE key. What happens after a failure depends only on its kind (providers.failures):

- not sent   → retry the same provider (backoff with jitter, `RetryPolicy.create_retries`), then the
               next provider: nothing reached this one;
- rejected   → record the reason; next provider only if the reason is this provider's own (bad key,
               account not connected there), never for content the platform refuses. A rejection that
               names one account (LATE 403 ACCOUNT_DISCONNECTED) sends the rest here again without it;
- throttled  → wait as told, retry the same provider;
- maybe sent → look the post key up at that same provider first: found → adopt it; absent → safe to
               retry or go on; lookup fails → `unknown`, reported, never sent elsewhere.

A post that comes back with some platforms failed fails over only those platforms, and only when the
failure is one another provider could fix (the account's connection or quota at this provider).
This module is that loop over the links: which provider gets what, and what its answer means for
the rest. Around it: providers.attempts (the calls to one provider and their retries), links (a
provider client and its accounts), link_accounts (kept or listed account lists), batch (what a send
carries), recovery (crash recovery, PostOutcome → Outcome), post_ops (changes to a post made), and
breaker (a circuit per provider skips one that keeps failing for a while).

Every provider call runs inside `guard(provider name)` — the flow passes its in-process cap per
provider (flows/limits.py ProviderCaps.call); this package never imports Prefect.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import datetime

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.providers.account_cache import AccountCache
from postdeck.providers.attempts import Created, GaveUp, ProviderCalls, Refused, RetryPolicy, Undecided
from postdeck.providers.base import Account, PostOutcome, PostRequest, Target, TargetStatus, ThreadPost
from postdeck.providers.batch import Sending, SendItem, Step, offered_to
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.errors import FailureKind, ProviderError, ProviderRejected
from postdeck.providers.link_accounts import AccountFinder
from postdeck.providers.links import (
    ACCOUNT_REFUSALS,
    AttemptHook,
    Guard,
    Link,
    MediaCache,
    PostKeyFn,
)
from postdeck.providers.media import upload_scope
from postdeck.providers.post_ops import PostOps
from postdeck.providers.recovery import recover, to_outcome
from postdeck.schemas.media import MediaRef

# Callers import these from here (the chain's vocabulary), wherever they are defined.
__all__ = [
    "NO_CREDENTIALS",
    "AttemptHook",
    "Chain",
    "Guard",
    "Link",
    "MediaCache",
    "PostKeyFn",
    "RetryPolicy",
    "SendItem",
    "to_outcome",
]

log = logging.getLogger("postdeck.chain")

NO_CREDENTIALS = (
    "No social posting credentials configured. Set POSTFORME_API_KEY or LATE_API_KEY, save a user's keys "
    "with `postdeck credentials set`, or run against the simulators with --sandbox."
)


class Chain:
    """Links in the order they are tried: one send() offers a batch to each until all is settled."""

    def __init__(
        self,
        links: Sequence[Link],
        *,
        media_cache: MediaCache | None = None,
        account_cache: AccountCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_throttle_waits: int | None = None,
        pending_poll_seconds: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        guard: Guard | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.links = list(links)
        self.media_cache = media_cache or MediaCache()
        self.sleep = sleep
        policy = retry or RetryPolicy()
        if max_throttle_waits is not None:
            policy = RetryPolicy(**{**policy.__dict__, "max_throttle_waits": max_throttle_waits})
        self.calls = ProviderCalls(
            retry=policy,
            breaker=breaker or CircuitBreaker(),
            guard=guard or (lambda _name: nullcontext()),
            sleep=sleep,
            rng=rng or random.Random(),
            pending_poll_seconds=pending_poll_seconds,
        )
        # The calls' own settings, as `after` hands them on (and tests read the breaker).
        self.retry, self.breaker, self.pending_poll_seconds = policy, self.calls.breaker, pending_poll_seconds
        self.finder = AccountFinder(account_cache or AccountCache(), self.calls)
        self.account_cache = self.finder.cache
        self.posts = PostOps(self.link, self.calls)
        self._upload_lock = threading.Lock()

    def after(self, label: str) -> Chain:
        """The rest of the chain after `label`: where a post that failed there is sent next."""
        labels = [link.label for link in self.links]
        rest = self.links[labels.index(label) + 1 :] if label in labels else []
        other = Chain(
            rest,
            media_cache=self.media_cache,
            account_cache=self.account_cache,
            sleep=self.sleep,
            retry=self.retry,
            pending_poll_seconds=self.pending_poll_seconds,
            breaker=self.breaker,
            guard=self.calls.guard,
        )
        return other

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
        """Send items (one batch) through the chain; return an outcome for every item.

        An item no provider was asked to create, for reasons that pass (a circuit open, a provider
        that could not be reached to list accounts or take the media), comes back with status
        `claimed`: nothing was sent, so the caller releases its claim and a later run sends it,
        instead of recording a failure no one attempted."""
        run = Sending(post_key_for, media, scheduled_at, on_attempt, {item.key: [] for item in items})
        remaining = self._through(run, list(items))
        # A platform no provider had an account for, while some list came from an earlier run: one of
        # them may be out of date (an account connected since), so list those again before giving up.
        unplaced = [item for item in remaining if item.key not in run.placed]
        kept = [link for link in self.links if link.cached and not link.disabled]
        if unplaced and kept:
            for link in kept:
                self.finder.refresh(link)
            if any(item.platform in link.accounts() for link in kept for item in unplaced):
                self._through(run, unplaced)
                remaining = [item for item in remaining if item.key not in run.outcomes]
        for item in remaining:
            reason = "; ".join(run.reasons[item.key]) or f"No connected accounts for: ['{item.platform}']"
            if item.key in run.passing and item.key not in run.tried:
                run.outcomes[item.key] = Outcome(DeliveryStatus.CLAIMED, error=f"not sent anywhere: {reason}")
            else:
                run.outcomes[item.key] = Outcome(DeliveryStatus.FAILED, error=reason)
        return run.outcomes

    def _through(self, run: Sending, items: list[SendItem]) -> list[SendItem]:
        """Offer items to each link in order; the ones no link settled come back."""
        reasons, remaining = run.reasons, items
        for link in self.links:
            if not remaining:
                break
            name = link.provider.name
            if link.disabled:
                self._note(reasons, remaining, link.disabled)
                continue
            if self.breaker.is_open(name):
                wait = self.breaker.remaining(name)
                self._note(reasons, remaining, f"{link.label}: skipped, circuit open for {wait:.0f}s more")
                run.passing.update(item.key for item in remaining)
                continue
            offered = offered_to(name, link.label, remaining, reasons)
            if not offered:
                continue
            try:
                accounts = self.accounts_of(link)
            except ProviderError as exc:
                log.warning("%s: cannot list accounts, trying the next provider: %s", link.label, exc)
                self._note(reasons, offered, f"{link.label}: cannot list accounts: {exc}")
                if exc.status != 401:  # a refused key disabled the link; anything else passes
                    run.passing.update(item.key for item in offered)
                continue
            servable = [item for item in offered if item.platform in accounts]
            run.placed.update(
                item.key for item in offered if item.platform in accounts or item.platform in link.excluded
            )
            for item in offered:
                if item.platform in link.excluded:
                    why = link.excluded[item.platform]
                    reasons[item.key].append(
                        f"{link.label}: its {item.platform} account is not usable ({why})"
                    )
            # Each round excludes at least one platform, or lists a kept list again (once).
            for _ in range(len(Platform) + 2):
                if not servable:
                    break
                step = self._send_to(
                    link, servable, accounts, run.post_key_for, run.media, run.scheduled_at, run.attempting
                )
                run.outcomes.update(step.settled)
                for item, why in step.passed:
                    reasons[item.key].append(why)
                if step.passing:
                    run.passing.update(item.key for item, _ in step.passed)
                servable = step.again
                accounts = link.accounts()
            remaining = [item for item in remaining if item.key not in run.outcomes]
        return remaining

    def accounts_of(self, link: Link) -> dict[Platform, Account]:
        """The link's usable accounts, kept or listed (providers.link_accounts)."""
        return self.finder.accounts_of(link)

    def keep_accounts(self, link: Link, accounts: list[Account]) -> None:
        """A complete listing made elsewhere (`postdeck accounts`) becomes the kept list later runs use."""
        self.finder.keep(link, accounts)

    @staticmethod
    def _note(reasons: dict[str, list[str]], items: list[SendItem], why: str) -> None:
        for item in items:
            reasons[item.key].append(why)

    def _send_to(
        self,
        link: Link,
        items: list[SendItem],
        accounts: dict[Platform, Account],
        post_key_for: PostKeyFn,
        media: Sequence[MediaRef],
        scheduled_at: datetime | None,
        on_attempt: AttemptHook,
    ) -> Step:
        """Try one provider with these items: what it settled, and what goes elsewhere."""
        keys = [item.key for item in items]
        post_key = post_key_for(keys)
        name = link.provider.name
        try:  # the batch's media, and each thread part's own
            media_urls = tuple(self.media_urls(link, media))
            targets = tuple(
                Target(
                    item.platform,
                    accounts[item.platform].id,
                    item.caption,
                    item.options,
                    tuple(ThreadPost(p.caption, tuple(self.media_urls(link, p.media))) for p in item.thread),
                )
                for item in items
            )
        except ProviderError as exc:
            self.calls.unwell(link, exc)
            return Step(
                passed=[(item, f"{link.label}: media upload failed: {exc}") for item in items],
                passing=exc.kind is not FailureKind.REJECTED,
            )
        request = PostRequest(
            post_key=post_key,
            caption=items[0].caption,
            targets=targets,
            media_urls=media_urls,
            scheduled_at=scheduled_at,
        )
        result = self.calls.create(link, request, keys, on_attempt)
        common = {"provider": name, "post_key": post_key}
        match result:
            case GaveUp(error, absent):
                why = f"{link.label}: {error}" + (" (looked up: not created)" if absent else "")
                log.warning("%s: giving up on this provider: %s", link.label, why)
                return Step(passed=[(item, why) for item in items])
            case Refused(error) if error.provider_specific:
                return self._refused_here(link, items, error, accounts)
            case Refused(error):
                return Step(
                    settled={k: Outcome(DeliveryStatus.FAILED, error=str(error), **common) for k in keys}
                )
            case Undecided(error, lookup_error):
                why = (
                    f"may have been sent through {link.label} ({error}); lookup failed, so it cannot "
                    f"tell ({lookup_error}): not sent anywhere else; the follow-up looks again"
                )
                log.error("%s: post key %s is unknown: %s", link.label, post_key, why)
                return Step(settled={k: Outcome(DeliveryStatus.UNKNOWN, error=why, **common) for k in keys})
            case Created(outcome, adopted):
                if adopted:
                    log.info("%s: post key %s was created after all: adopted", link.label, post_key)
                return self._settle(link, items, post_key, self.calls.await_pending(link, outcome))
        raise AssertionError(result)  # pragma: no cover

    def _refused_here(
        self, link: Link, items: list[SendItem], error: ProviderRejected, used: dict[Platform, Account]
    ) -> Step:
        """A rejection of this provider's own: the named accounts (or everything) go elsewhere.

        Unless the request named accounts from an earlier run's list: then the list is made again
        (if no batch has yet) and, when an account it named is gone from it or has a new id, the
        items this provider still has accounts for are sent here once more (a refused create posted
        nothing). A list made in this run never changes, so this never repeats."""
        why = f"{link.label}: {error}"
        if error.status in ACCOUNT_REFUSALS:
            self.finder.refresh(link)
            listed, now = {a.platform: a.id for a in link.listing()}, link.accounts()
            if any(listed.get(item.platform) != used[item.platform].id for item in items):
                return Step(
                    passed=[(item, why) for item in items if item.platform not in now],
                    again=[item for item in items if item.platform in now],
                )
        named = {Platform(p) for p in error.platforms if p in Platform._value2member_map_}
        named &= {item.platform for item in items}
        if named and len(named) < len({item.platform for item in items}):
            link.exclude(named, str(error))
            return Step(
                passed=[(item, why) for item in items if item.platform in named],
                again=[item for item in items if item.platform not in named],
            )
        if named:
            link.exclude(named, str(error))
        if error.status == 401:  # a bad key stays bad for the whole run
            link.disabled = why
        log.warning("%s: refused for a reason of its own, failing over: %s", link.label, error)
        return Step(passed=[(item, why) for item in items])

    def _settle(self, link: Link, items: list[SendItem], post_key: str, outcome: PostOutcome) -> Step:
        step = Step()
        name = link.provider.name
        for item in items:
            result = outcome.result_for(item.platform)
            if result is not None and result.status is TargetStatus.FAILED and result.portable:
                # Never attempted on the platform (this provider's connection to the account failed):
                # another provider may post it without any risk of a duplicate.
                link.exclude({item.platform}, result.error or "failed")
                if link.cached:  # the account may have gone since the list was made: next run lists
                    self.account_cache.forget(link.account_scope)
                step.passed.append((item, f"{link.label}: {item.platform} failed: {result.error}"))
                continue
            step.settled[item.key] = to_outcome(outcome, item.platform, name, post_key)
        return step

    def media_urls(self, link: Link, media: Sequence[MediaRef]) -> list[str]:
        """The URLs `link`'s provider can fetch these media from: uploaded once per file (guarded)."""
        return [self._media_url(link, ref) for ref in media]

    def _media_url(self, link: Link, ref: MediaRef) -> str:
        if ref.url:
            return ref.url
        assert ref.path is not None and ref.sha256 is not None
        with self._upload_lock:  # one upload per file and provider, even with concurrent batches
            scope = upload_scope(link.label, link.provider)  # the provider and account, not the label
            cached = self.media_cache.get(ref.sha256, scope)
            if cached:
                return cached
            data = ref.path.read_bytes()
            url = self.calls.call(
                link, lambda: link.provider.upload(data, content_type=ref.content_type, filename=ref.filename)
            )
            self.media_cache.put(ref.sha256, scope, url)
            return url

    # --- recovery ---------------------------------------------------------------------------

    def recover(self, post_key: str, labels: Sequence[str], platform: Platform) -> Outcome | None:
        """After a crash: the post key looked up wherever it may have gone (providers.recovery)."""
        return recover(self.calls, self.link, post_key, labels, platform)

    # --- plan changes (providers.post_ops: the flow applies updates and cancels through these) --

    def get(self, label: str, provider_post_id: str) -> PostOutcome:
        return self.posts.get(label, provider_post_id)

    def lookup(self, label: str, post_key: str) -> PostOutcome | None:
        return self.posts.lookup(label, post_key)

    def update(self, label: str, provider_post_id: str, request: PostRequest) -> PostOutcome:
        return self.posts.update(label, provider_post_id, request)

    def cancel(self, label: str, provider_post_id: str) -> None:
        self.posts.cancel(label, provider_post_id)

    def retry_post(self, label: str, provider_post_id: str) -> PostOutcome:
        """Ask the provider to re-run a failed post (LATE); PostForMe cannot: create anew instead."""
        return self.posts.retry_post(label, provider_post_id)
