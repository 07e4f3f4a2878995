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
Retries of a create are ours alone (the clients never retry; tenacity drives the loop here). A
circuit breaker per provider (providers.breaker) skips a provider that keeps failing for a while.

Every provider call runs inside `guard(provider name)` — the flow passes its in-process cap per
provider (flows/limits.py ProviderCaps.call); this package never imports Prefect.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_exception_type

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.providers.account_cache import AccountCache, account_scope
from postdeck.providers.base import (
    Account,
    PostOutcome,
    PostRequest,
    Provider,
    SupportsRetry,
    Target,
    TargetStatus,
)
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.errors import (
    FailureKind,
    ProviderError,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnsupported,
)
from postdeck.providers.media import upload_scope
from postdeck.schemas.media import MediaRef

log = logging.getLogger("postdeck.chain")

NO_CREDENTIALS = (
    "No social posting credentials configured. Set POSTFORME_API_KEY or LATE_API_KEY, save a user's keys "
    "with `postdeck credentials set`, or run against the simulators with --sandbox."
)

T = TypeVar("T")
Guard = Callable[[str], AbstractContextManager[Any]]


@dataclass(frozen=True)
class SendItem:
    """One delivery as the chain sees it."""

    key: str
    platform: Platform
    caption: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the chain tries one provider before moving on (all waits go through Chain.sleep)."""

    create_retries: int = 1  # extra creates after "not sent", or "maybe sent" + lookup says absent
    lookup_attempts: int = 3  # lookups are reads: repeating them is harmless
    max_throttle_waits: int = 5
    max_throttle_wait: float = 60.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    # After a timeout the provider may still be working on the request: give it a moment before the
    # lookup, or "absent" could be said of a post about to be stored.
    settle_before_lookup: float = 2.0
    pending_polls: int = 30


@dataclass
class Link:
    """One provider client with the credentials it was built with (label says whose)."""

    label: str  # e.g. "postforme:owner", "late:global": recorded so a crash can be looked up again
    provider: Provider
    _accounts: dict[Platform, Account] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Held while the accounts are being found (kept list or listing): other batches wait here, not
    # in a provider slot of their own.
    finding: threading.Lock = field(default_factory=threading.Lock)
    cached: bool = False  # the accounts came from an earlier run's list, not yet confirmed in this one
    disabled: str | None = None  # why this link serves nothing more in this run (a bad key)
    # Platforms whose account this provider could not use in this run, and why: a token does not heal
    # mid-run, so later batches go straight to the next provider instead of failing here first.
    excluded: dict[Platform, str] = field(default_factory=dict)

    def accounts(self) -> dict[Platform, Account]:
        with self._lock:
            if self._accounts is None:
                self._accounts = _one_per_platform(self.provider.accounts())
            return {p: a for p, a in self._accounts.items() if p not in self.excluded}

    def adopt(self, accounts: list[Account]) -> None:
        """Use an earlier run's list (providers.account_cache) instead of asking the provider."""
        with self._lock:
            if self._accounts is None:
                self._accounts = _one_per_platform(accounts)
                self.cached = True

    def relist(self) -> dict[Platform, Account]:
        """Ask the provider (again): the list in use, if any, is kept when that fails."""
        fresh = _one_per_platform(self.provider.accounts())
        with self._lock:
            self._accounts = fresh
            self.cached = False
        return self.accounts()

    def listing(self) -> list[Account]:
        """The accounts as listed (excluded ones too): what the account cache keeps."""
        with self._lock:
            return list((self._accounts or {}).values())

    @property
    def account_scope(self) -> str:
        """Where the account cache keeps this link's list (provider, key fingerprint, API address)."""
        return account_scope(self.label, self.provider)

    @property
    def listed(self) -> bool:
        """Whether the accounts were read already (later calls make no request)."""
        return self._accounts is not None

    def exclude(self, platforms: set[Platform], reason: str) -> None:
        """This provider cannot post these platforms for the rest of the run (account disconnected)."""
        with self._lock:
            for platform in platforms:
                if platform not in self.excluded:
                    self.excluded[platform] = reason
                    log.warning(
                        "%s: not using its %s account any more in this run: %s", self.label, platform, reason
                    )


# Statuses a create naming an account the provider no longer knows (or has disconnected) gets: worth
# listing the accounts again when the list came from an earlier run. Not 401 (the key) or 402 (the plan).
_ACCOUNT_REFUSALS = frozenset({400, 403, 404})


def _one_per_platform(accounts: list[Account]) -> dict[Platform, Account]:
    """The connected account each platform posts to: the first listed (the providers list newest first)."""
    found: dict[Platform, Account] = {}
    for account in accounts:
        if account.connected:
            found.setdefault(account.platform, account)
    return found


class MediaCache:
    """Where an uploaded file can be found at each provider (the ledger keeps it across runs)."""

    def get(self, sha256: str, provider: str) -> str | None:
        return None

    def put(self, sha256: str, provider: str, url: str) -> None:
        return None


AttemptHook = Callable[[list[str], str, str], None]
"""Called with (delivery keys, link label, post key) just before a create: must record it or raise."""

PostKeyFn = Callable[[list[str]], str]


# --- what one create at one provider came to ---------------------------------------------------


@dataclass(frozen=True)
class _Created:
    outcome: PostOutcome
    adopted: bool = False  # found by a lookup after "maybe sent"


@dataclass(frozen=True)
class _Refused:
    error: ProviderRejected


@dataclass(frozen=True)
class _Undecided:
    error: ProviderError
    lookup_error: ProviderError


@dataclass(frozen=True)
class _GaveUp:
    error: ProviderError
    absent: bool = False  # maybe sent, and the lookup said it was not created


class _TryAgain(Exception):
    """A create that may be repeated at the same provider (throttled, not sent, or absent at lookup)."""

    def __init__(self, error: ProviderError, *, absent: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.absent = absent


@dataclass
class _Step:
    settled: dict[str, Outcome] = field(default_factory=dict)
    passed: list[tuple[SendItem, str]] = field(default_factory=list)  # to the next provider, with why
    again: list[SendItem] = field(default_factory=list)  # to this provider once more
    passing: bool = False  # passed on untried, for a reason that passes (the media could not be uploaded)


@dataclass
class _Sending:
    """One send() call's request and what it has learned so far, shared by its passes over the links."""

    post_key_for: PostKeyFn
    media: Sequence[MediaRef]
    scheduled_at: datetime | None
    on_attempt: AttemptHook
    reasons: dict[str, list[str]]  # key → why each provider did not settle it
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)  # keys a create was attempted for, anywhere
    passing: set[str] = field(default_factory=set)  # keys passed over somewhere for a reason that passes
    placed: set[str] = field(default_factory=set)  # keys some provider had (or had had) an account for

    def attempting(self, keys: list[str], label: str, post_key: str) -> None:
        self.on_attempt(keys, label, post_key)
        self.tried.update(keys)


class Chain:
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
        self.account_cache = account_cache or AccountCache()
        self.sleep = sleep
        policy = retry or RetryPolicy()
        if max_throttle_waits is not None:
            policy = RetryPolicy(**{**policy.__dict__, "max_throttle_waits": max_throttle_waits})
        self.retry = policy
        self.pending_poll_seconds = pending_poll_seconds
        self.breaker = breaker or CircuitBreaker()
        self._guard: Guard = guard or (lambda _name: nullcontext())
        self._rng = rng or random.Random()
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
            guard=self._guard,
        )
        return other

    def link(self, label: str) -> Link | None:
        return next((link for link in self.links if link.label == label), None)

    def _call(self, link: Link, fn: Callable[..., T], *args: Any) -> T:
        """One provider operation inside the caller's guard (a place in the per-provider cap)."""
        with self._guard(link.provider.name):
            return fn(*args)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads retries of concurrent runs apart."""
        ceiling = min(self.retry.backoff_max, self.retry.backoff_initial * 2 ** max(attempt - 1, 0))
        return self._rng.uniform(ceiling / 2, ceiling)

    def _unwell(self, link: Link, error: ProviderError) -> None:
        """Feed the breaker: only not-sent and maybe-sent failures say a provider is unwell."""
        if error.kind in (FailureKind.NOT_SENT, FailureKind.MAYBE_SENT):
            self.breaker.failure(link.provider.name, str(error))
        else:
            self.breaker.success(link.provider.name)

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
        run = _Sending(post_key_for, media, scheduled_at, on_attempt, {item.key: [] for item in items})
        remaining = self._through(run, list(items))
        # A platform no provider had an account for, while some list came from an earlier run: one of
        # them may be out of date (an account connected since), so list those again before giving up.
        unplaced = [item for item in remaining if item.key not in run.placed]
        kept = [link for link in self.links if link.cached and not link.disabled]
        if unplaced and kept:
            for link in kept:
                self._refresh(link)
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

    def _through(self, run: _Sending, items: list[SendItem]) -> list[SendItem]:
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
            try:
                accounts = self.accounts_of(link)
            except ProviderError as exc:
                log.warning("%s: cannot list accounts, trying the next provider: %s", link.label, exc)
                self._note(reasons, remaining, f"{link.label}: cannot list accounts: {exc}")
                if exc.status != 401:  # a refused key disabled the link; anything else passes
                    run.passing.update(item.key for item in remaining)
                continue
            servable = [item for item in remaining if item.platform in accounts]
            run.placed.update(
                item.key for item in remaining if item.platform in accounts or item.platform in link.excluded
            )
            for item in remaining:
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
        """The link's usable accounts: a recent list kept by an earlier run (account cache), else
        listed once per run (only that request takes a guard slot). A refused key (401) disables the
        link for the rest of the run; the error is raised."""
        if not link.listed:
            with link.finding:
                if not link.listed:
                    kept = self.account_cache.get(link.account_scope, link.provider.name)
                    if kept is not None:
                        link.adopt(kept)
                    else:
                        self._list(link)
        return link.accounts()

    def _list(self, link: Link) -> dict[Platform, Account]:
        """Ask the provider for the link's accounts, and keep the list for later runs."""
        try:
            accounts = self._call(link, link.relist)
        except ProviderError as exc:
            self._unwell(link, exc)
            if exc.status == 401:
                link.disabled = f"{link.label}: {exc}"
            raise
        self.account_cache.put(link.account_scope, link.listing())
        return accounts

    def keep_accounts(self, link: Link, accounts: list[Account]) -> None:
        """A complete listing made elsewhere (`postdeck accounts`) becomes the kept list later runs use."""
        chosen = list(_one_per_platform(accounts).values())
        self.account_cache.put(link.account_scope, chosen)

    def _refresh(self, link: Link) -> None:
        """List a link's accounts again if they came from an earlier run's list: once per run (a
        concurrent batch may have done it already; a failed listing keeps the kept list)."""
        if not link.cached:
            return
        with link.finding:
            if not link.cached:
                return
            log.info("%s: the kept account list looks stale: listing again", link.label)
            self.account_cache.forget(link.account_scope)
            try:
                self._list(link)
            except ProviderError as exc:
                log.warning("%s: cannot list accounts again, keeping the kept list: %s", link.label, exc)
                link.cached = False  # asked once in this run: not again for every batch

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
    ) -> _Step:
        """Try one provider with these items: what it settled, and what goes elsewhere."""
        keys = [item.key for item in items]
        post_key = post_key_for(keys)
        name = link.provider.name
        try:
            media_urls = tuple(self.media_urls(link, media))
        except ProviderError as exc:
            self._unwell(link, exc)
            return _Step(
                passed=[(item, f"{link.label}: media upload failed: {exc}") for item in items],
                passing=exc.kind is not FailureKind.REJECTED,
            )
        request = PostRequest(
            post_key=post_key,
            caption=items[0].caption,
            targets=tuple(
                Target(item.platform, accounts[item.platform].id, item.caption, item.options)
                for item in items
            ),
            media_urls=media_urls,
            scheduled_at=scheduled_at,
        )
        result = self._create(link, request, keys, on_attempt)
        common = {"provider": name, "post_key": post_key}
        match result:
            case _GaveUp(error, absent):
                why = f"{link.label}: {error}" + (" (looked up: not created)" if absent else "")
                log.warning("%s: giving up on this provider: %s", link.label, why)
                return _Step(passed=[(item, why) for item in items])
            case _Refused(error) if error.provider_specific:
                return self._refused_here(link, items, error, accounts)
            case _Refused(error):
                return _Step(
                    settled={k: Outcome(DeliveryStatus.FAILED, error=str(error), **common) for k in keys}
                )
            case _Undecided(error, lookup_error):
                why = (
                    f"may have been sent through {link.label} ({error}); lookup failed, so it cannot "
                    f"tell ({lookup_error}): not sent anywhere else; the follow-up looks again"
                )
                log.error("%s: post key %s is unknown: %s", link.label, post_key, why)
                return _Step(settled={k: Outcome(DeliveryStatus.UNKNOWN, error=why, **common) for k in keys})
            case _Created(outcome, adopted):
                if adopted:
                    log.info("%s: post key %s was created after all: adopted", link.label, post_key)
                return self._settle(link, items, post_key, self._await_pending(link, outcome))
        raise AssertionError(result)  # pragma: no cover

    def _refused_here(
        self, link: Link, items: list[SendItem], error: ProviderRejected, used: dict[Platform, Account]
    ) -> _Step:
        """A rejection of this provider's own: the named accounts (or everything) go elsewhere.

        Unless the request named accounts from an earlier run's list: then the list is made again
        (if no batch has yet) and, when an account it named is gone from it or has a new id, the
        items this provider still has accounts for are sent here once more (a refused create posted
        nothing). A list made in this run never changes, so this never repeats."""
        why = f"{link.label}: {error}"
        if error.status in _ACCOUNT_REFUSALS:
            self._refresh(link)
            listed, now = {a.platform: a.id for a in link.listing()}, link.accounts()
            if any(listed.get(item.platform) != used[item.platform].id for item in items):
                return _Step(
                    passed=[(item, why) for item in items if item.platform not in now],
                    again=[item for item in items if item.platform in now],
                )
        named = {Platform(p) for p in error.platforms if p in Platform._value2member_map_}
        named &= {item.platform for item in items}
        if named and len(named) < len({item.platform for item in items}):
            link.exclude(named, str(error))
            return _Step(
                passed=[(item, why) for item in items if item.platform in named],
                again=[item for item in items if item.platform not in named],
            )
        if named:
            link.exclude(named, str(error))
        if error.status == 401:  # a bad key stays bad for the whole run
            link.disabled = why
        log.warning("%s: refused for a reason of its own, failing over: %s", link.label, error)
        return _Step(passed=[(item, why) for item in items])

    def _settle(self, link: Link, items: list[SendItem], post_key: str, outcome: PostOutcome) -> _Step:
        step = _Step()
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

    def _create(self, link: Link, request: PostRequest, keys: list[str], on_attempt: AttemptHook):
        """One provider's create, repeated only where that cannot post twice."""
        policy, name = self.retry, link.provider.name
        tally: Counter[str] = Counter()

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if not isinstance(error, _TryAgain):
                return True
            if isinstance(error.error, ProviderThrottled):
                return tally["throttled"] > policy.max_throttle_waits
            return tally["again"] > policy.create_retries or self.breaker.is_open(name)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _TryAgain) and isinstance(error.error, ProviderThrottled):
                return min(error.error.retry_after or 1.0, policy.max_throttle_wait)
            return self._backoff(tally["again"])

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s: %s; trying it again in %.1fs", link.label, error, delay)

        retrying = Retrying(
            retry=retry_if_exception_type(_TryAgain),
            stop=stop,
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._create_once, link, request, keys, on_attempt, tally)
        except _TryAgain as last:
            return _GaveUp(last.error, last.absent)

    def _create_once(
        self, link: Link, request: PostRequest, keys: list[str], on_attempt: AttemptHook, tally: Counter[str]
    ):
        # Record where the create may go before making it: the ledger must know, or we must not send.
        on_attempt(keys, link.label, request.post_key)
        name = link.provider.name
        try:
            created = self._call(link, link.provider.create, request)
        except ProviderThrottled as exc:
            tally["throttled"] += 1
            raise _TryAgain(exc) from None
        except ProviderNotSent as exc:
            self._unwell(link, exc)
            tally["again"] += 1
            raise _TryAgain(exc) from None
        except ProviderRejected as exc:
            self.breaker.success(name)
            return _Refused(exc)
        except ProviderMaybeSent as exc:
            self._unwell(link, exc)
            log.warning(
                "%s: may have been sent (%s); looking %s up there first", link.label, exc, request.post_key
            )
            if exc.status is None:  # a timeout or reset: the provider may still be working on it
                self.sleep(self.retry.settle_before_lookup)
            try:
                found = self._lookup(link, request.post_key)
            except ProviderError as lookup_exc:
                return _Undecided(exc, lookup_exc)
            if found is None:
                tally["again"] += 1
                raise _TryAgain(exc, absent=True) from None
            return _Created(found, adopted=True)
        self.breaker.success(name)
        return _Created(created)

    def _lookup(self, link: Link, post_key: str) -> PostOutcome | None:
        """A lookup, repeated on failures that leave the question open (a read changes nothing)."""
        policy = self.retry

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ProviderThrottled):
                return min(error.retry_after or 1.0, policy.max_throttle_wait)
            return self._backoff(state.attempt_number)

        retrying = Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, ProviderError) and not isinstance(e, ProviderRejected)
            ),
            stop=lambda state: state.attempt_number >= policy.lookup_attempts,
            wait=wait,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(self._call, link, link.provider.lookup, post_key)

    def _await_pending(self, link: Link, outcome: PostOutcome) -> PostOutcome:
        """PostForMe publishes asynchronously: poll briefly so immediate posts come back with their URL."""
        deadline = time.monotonic() + self.pending_poll_seconds
        delay, polls = 0.05, 0
        while (
            any(r.status == TargetStatus.PENDING for r in outcome.results)
            and polls < self.retry.pending_polls
            and time.monotonic() < deadline
        ):
            self.sleep(delay)
            delay, polls = min(delay * 2, 1.0), polls + 1
            try:
                outcome = self._call(link, link.provider.get, outcome.provider_post_id)
            except ProviderError as exc:
                log.warning("%s: cannot read post %s yet: %s", link.label, outcome.provider_post_id, exc)
        return outcome

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
            url = self._call(
                link, lambda: link.provider.upload(data, content_type=ref.content_type, filename=ref.filename)
            )
            self.media_cache.put(ref.sha256, scope, url)
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
                found = self._lookup(link, post_key)
            except ProviderError as exc:
                return Outcome(
                    DeliveryStatus.UNKNOWN,
                    provider=link.provider.name,
                    post_key=post_key,
                    error=f"may have been sent; lookup failed: {exc}",
                )
            if found is None:
                continue
            found = self._await_pending(link, found)
            result = found.result_for(platform)
            if result is not None and result.status is TargetStatus.FAILED and result.portable:
                continue  # never attempted on the platform there: as good as absent
            return to_outcome(found, platform, link.provider.name, post_key)
        return None

    # --- plan changes (the flow applies updates and cancels through these) ------------------

    def _require(self, label: str) -> Link:
        link = self.link(label)
        if link is None:
            raise ProviderRejected(f"{label} is not configured in this run", provider=label.split(":", 1)[0])
        return link

    def get(self, label: str, provider_post_id: str) -> PostOutcome:
        link = self._require(label)
        return self._call(link, link.provider.get, provider_post_id)

    def lookup(self, label: str, post_key: str) -> PostOutcome | None:
        return self._lookup(self._require(label), post_key)

    def update(self, label: str, provider_post_id: str, request: PostRequest) -> PostOutcome:
        link = self._require(label)
        return self._call(link, link.provider.update, provider_post_id, request)

    def cancel(self, label: str, provider_post_id: str) -> None:
        link = self._require(label)
        self._call(link, link.provider.cancel, provider_post_id)

    def retry_post(self, label: str, provider_post_id: str) -> PostOutcome:
        """Ask the provider to re-run a failed post (LATE); PostForMe cannot: create anew instead."""
        link = self._require(label)
        if not isinstance(link.provider, SupportsRetry):
            raise ProviderUnsupported(
                "this provider cannot retry a post; create a new one", provider=link.provider.name
            )
        return self._call(link, link.provider.retry, provider_post_id)


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
    error = result.error
    if result.status is TargetStatus.PENDING:
        error = f"still publishing at {provider}: the follow-up records the result"
    return Outcome(status, platform_post_id=result.platform_post_id, url=result.url, error=error, **common)
