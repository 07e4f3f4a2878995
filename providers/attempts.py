"""Every call the chain makes to one provider: inside the caller's guard, fed to the circuit breaker,
and repeated only where that cannot post twice.

- a create is repeated after "not sent" (backoff with full jitter) or "throttled" (waiting as told),
  and after "maybe sent" only when a lookup of its post key says it is absent; a lookup that fails
  leaves it undecided. What the create came to is one of Created, Refused, Undecided, GaveUp;
- a lookup (a read) is repeated on failures that leave the question open (throttled: as told by
  Retry-After), within `RetryPolicy.lookup_budget` seconds of waiting;
- a post still publishing (PostForMe) is polled briefly so an immediate post comes back with its URL.
Retries of a create are ours alone (the clients never retry; tenacity drives the loop here).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_exception_type

from postdeck.providers.base import PostOutcome, PostRequest, TargetStatus
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.errors import (
    FailureKind,
    ProviderError,
    ProviderLookupIncomplete,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
)
from postdeck.providers.links import AttemptHook, Guard, Link

log = logging.getLogger("postdeck.chain")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the chain tries one provider before moving on (all waits go through the chain's sleep)."""

    create_retries: int = 1  # extra creates after "not sent", or "maybe sent" + lookup says absent
    # Lookups are reads: repeating them is harmless. A throttled or failing lookup is looked again
    # (Retry-After, or backoff) until `lookup_attempts` or `lookup_budget` seconds of waiting are used
    # up, and only then "cannot tell": a 429 burst must not leave a delivery unknown (issue 18).
    lookup_attempts: int = 8
    lookup_budget: float = 90.0
    max_throttle_waits: int = 5
    max_throttle_wait: float = 60.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    # After a timeout the provider may still be working on the request: give it a moment before the
    # lookup, or "absent" could be said of a post about to be stored.
    settle_before_lookup: float = 2.0
    pending_polls: int = 30


# --- what one create at one provider came to ---------------------------------------------------


@dataclass(frozen=True)
class Created:
    outcome: PostOutcome
    adopted: bool = False  # found by a lookup after "maybe sent"


@dataclass(frozen=True)
class Refused:
    error: ProviderRejected


@dataclass(frozen=True)
class Undecided:
    error: ProviderError
    lookup_error: ProviderError


@dataclass(frozen=True)
class GaveUp:
    error: ProviderError
    absent: bool = False  # maybe sent, and the lookup said it was not created


CreateResult = Created | Refused | Undecided | GaveUp


class _TryAgain(Exception):
    """A create that may be repeated at the same provider (throttled, not sent, or absent at lookup)."""

    def __init__(self, error: ProviderError, *, absent: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.absent = absent


class ProviderCalls:
    """The chain's calls to its links' providers, sharing one breaker, guard, policy and sleep."""

    def __init__(
        self,
        *,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        guard: Guard,
        sleep: Callable[[float], None],
        rng: random.Random,
        pending_poll_seconds: float,
    ) -> None:
        self.retry = retry
        self.breaker = breaker
        self.guard = guard
        self.sleep = sleep
        self.rng = rng
        self.pending_poll_seconds = pending_poll_seconds

    def call(self, link: Link, fn: Callable[..., T], *args: Any) -> T:
        """One provider operation inside the caller's guard (a place in the per-provider cap)."""
        with self.guard(link.provider.name):
            return fn(*args)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads retries of concurrent runs apart."""
        ceiling = self.backoff_ceiling(attempt)
        return self.rng.uniform(ceiling / 2, ceiling)

    def backoff_ceiling(self, attempt: int) -> float:
        return min(self.retry.backoff_max, self.retry.backoff_initial * 2 ** max(attempt - 1, 0))

    def unwell(self, link: Link, error: ProviderError) -> None:
        """Feed the breaker: only not-sent and maybe-sent failures say a provider is unwell."""
        if error.kind in (FailureKind.NOT_SENT, FailureKind.MAYBE_SENT):
            self.breaker.failure(link.provider.name, str(error))
        else:
            self.breaker.success(link.provider.name)

    def create(
        self, link: Link, request: PostRequest, keys: list[str], on_attempt: AttemptHook
    ) -> CreateResult:
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
            return self.backoff(tally["again"])

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
            return GaveUp(last.error, last.absent)

    def _create_once(
        self, link: Link, request: PostRequest, keys: list[str], on_attempt: AttemptHook, tally: Counter[str]
    ) -> CreateResult:
        # Record where the create may go before making it: the ledger must know, or we must not send.
        on_attempt(keys, link.label, request.post_key)
        name = link.provider.name
        attempted_at = datetime.now(UTC)  # a lookup need search no further back than this
        try:
            created = self.call(link, link.provider.create, request)
        except ProviderThrottled as exc:
            tally["throttled"] += 1
            raise _TryAgain(exc) from None
        except ProviderNotSent as exc:
            self.unwell(link, exc)
            tally["again"] += 1
            raise _TryAgain(exc) from None
        except ProviderRejected as exc:
            self.breaker.success(name)
            return Refused(exc)
        except ProviderMaybeSent as exc:
            self.unwell(link, exc)
            log.warning(
                "%s: may have been sent (%s); looking %s up there first", link.label, exc, request.post_key
            )
            if exc.status is None:  # a timeout or reset: the provider may still be working on it
                self.sleep(self.retry.settle_before_lookup)
            try:
                found = self.lookup(link, request.post_key, since=attempted_at)
            except ProviderError as lookup_exc:
                return Undecided(exc, lookup_exc)
            if found is None:
                tally["again"] += 1
                raise _TryAgain(exc, absent=True) from None
            return Created(found, adopted=True)
        self.breaker.success(name)
        return Created(created)

    def lookup(self, link: Link, post_key: str, *, since: datetime | None = None) -> PostOutcome | None:
        """A lookup, repeated on failures that leave the question open. `since`: no create of it was
        attempted before then (None: not known). An incomplete search would end the same way again:
        it is an answer, not a failure."""
        return self.read(
            link,
            lambda: link.provider.lookup(post_key, since=since),
            f"lookup of {post_key}",
            answers=(ProviderRejected, ProviderLookupIncomplete),
        )

    def read(
        self,
        link: Link,
        fn: Callable[[], T],
        what: str,
        *,
        answers: tuple[type[ProviderError], ...] = (ProviderRejected,),
        attempts: int | None = None,
    ) -> T:
        """A read, repeated on failures that leave the question open (a read changes nothing): after a
        throttle as long as the provider asked, else with backoff, within the policy's lookup budget of
        waiting and `attempts` tries (default the policy's lookup_attempts). `answers` are raised at once."""
        policy = self.retry
        most = attempts or policy.lookup_attempts

        def throttled_for(state: RetryCallState) -> float | None:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ProviderThrottled):
                return min(error.retry_after or 1.0, policy.max_throttle_wait)
            return None

        def wait(state: RetryCallState) -> float:
            told = throttled_for(state)
            return self.backoff(state.attempt_number) if told is None else told

        def stop(state: RetryCallState) -> bool:
            # The longest the next wait can be: waiting past the budget would hold the whole batch.
            told = throttled_for(state)
            longest = self.backoff_ceiling(state.attempt_number) if told is None else told
            over_budget = state.idle_for + longest > policy.lookup_budget
            return state.attempt_number >= most or over_budget

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s: %s: %s; asking again in %.1fs", link.label, what, error, delay)

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and not isinstance(e, answers)),
            stop=stop,
            wait=wait,
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(self.call, link, fn)

    def await_pending(self, link: Link, outcome: PostOutcome) -> PostOutcome:
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
                outcome = self.call(link, link.provider.get, outcome.provider_post_id)
            except ProviderError as exc:
                log.warning("%s: cannot read post %s yet: %s", link.label, outcome.provider_post_id, exc)
        return outcome
