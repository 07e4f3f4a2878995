"""Client-side rate limiting, so a big campaign stays under a provider's documented limits instead of
collecting 429s, plus the parsing of the rate-limit headers each provider sends.

One `RateLimiter` per (provider, API key) in a process (`limiter_for`): every client built with the
same key shares it, and through a file of the key's (providers.shared_rate) so does every process
on the machine. Each documented window ("5 per second", "40 per minute") is enforced as a sliding
log: at most `limit` requests in any `seconds`-long interval. (A token bucket holding `limit` tokens
and refilled at limit/seconds would let almost twice the limit through in one window, which is what
the server's sliding window refuses.) What the provider says wins over what we assumed:
`pause()` after a 429 or a `Remaining: 0`, `set_limit()` when LATE announces its real limit.

`time_scale` is for simulators that enforce the documented limits time-scaled (the sandbox,
postdeck.chain_factory.sandbox_links): every window, assumed or announced, lasts its seconds ÷ the scale.
A limiter's scale is part of its identity in `limiter_for`, so a scaled one is never shared with a
client that has none.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from postdeck.providers.rate_book import MemoryRateStore, RateBook, RateStore
from postdeck.providers.shared_rate import SqliteRateStore
from postdeck.settings import settings

# A request in flight holds its hit this far ahead: longer than any request waits for its answer
# (the clients' timeouts), so it counts until answered; short enough that a crash frees it soon.
IN_FLIGHT_HOLD = 330.0
MAX_SLEEP = 0.5  # the longest the limiter sleeps before looking at the book again
MAX_PAUSE_SECONDS = 120.0  # a provider asking for more is treated as this (the chain has its own cap)


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float


# Documented limits (reference §1.9, §2.11). LATE's depends on the team's account count: start at the
# lowest tier and learn the real one from X-RateLimit-Limit.
POSTFORME_WINDOWS = (Window(5, 1.0), Window(40, 60.0))
LATE_WINDOWS = (Window(60, 60.0),)


class RateLimiter:
    """Blocks in `acquire()` until a request may go without exceeding any window. Thread-safe.

    The arithmetic is here; the requests sent, the limits announced and the pause asked for are in
    the `store`'s book: this process's memory (the default), or a file every process with the key
    shares (providers.shared_rate), whose clock is then the wall clock."""

    def __init__(
        self,
        windows: Sequence[Window] = (),
        *,
        clock: Callable[[], float] | None = None,  # default: the store's
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.05,  # seconds of slack per window, for the trip to the server
        time_scale: float = 1.0,
        store: RateStore | None = None,
    ) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a finite number above 0, not {time_scale!r}")
        self._scale = time_scale
        self._assumed = tuple(Window(w.limit, w.seconds / time_scale) for w in windows)
        self.store: RateStore = store or MemoryRateStore()
        self._clock = clock or self.store.clock
        self._sleep = sleep
        self._margin = margin

    @property
    def windows(self) -> tuple[Window, ...]:
        """The windows enforced (their seconds ÷ time_scale): the assumed ones, each replaced by the
        limit the provider announced for its length, then any other announced."""
        with self.store.transaction() as book:
            return self._windows(book)

    @property
    def time_scale(self) -> float:
        return self._scale

    def _windows(self, book: RateBook) -> tuple[Window, ...]:
        assumed = tuple(Window(book.learned.get(w.seconds, w.limit), w.seconds) for w in self._assumed)
        lengths = {w.seconds for w in self._assumed}
        return assumed + tuple(Window(n, s) for s, n in book.learned.items() if s not in lengths)

    def _wait(self, book: RateBook, now: float) -> float:
        windows = self._windows(book)
        # The longest window is as far back as any count looks (none: nothing is counted).
        book.forget_before(now - max((w.seconds for w in windows), default=0.0) - self._margin)
        wait = book.paused_until - now
        for window in windows:
            recent = [hit for hit in book.hits if hit > now - window.seconds - self._margin]
            if len(recent) >= window.limit:
                oldest = recent[len(recent) - window.limit]
                wait = max(wait, oldest + window.seconds + self._margin - now)
        return wait

    def delay(self) -> float:
        """How long a caller asking now would wait (0 if none)."""
        with self.store.transaction() as book:
            return max(self._wait(book, self._clock()), 0.0)

    def acquire(self) -> float:
        """Take a slot counted from now, sleeping as long as needed; returns the seconds waited."""
        return self._take(hold=0.0)[0]

    @contextmanager
    def slot(self) -> Iterator[float]:
        """A slot for one request (yields the seconds waited for it). While the request is in flight
        its hit counts as the newest in every window; once answered, it counts from the answer, which
        came after the server counted it. So a request held up on its way (a loaded machine, a slow
        network) never lets the next one reach the server inside the window, whatever the margin.
        A process that dies mid-request leaves its hit to age out IN_FLIGHT_HOLD seconds later."""
        waited, held_as = self._take(hold=IN_FLIGHT_HOLD)
        try:
            yield waited
        finally:
            with self.store.transaction() as book:
                book.finish(held_as, self._clock())

    def _take(self, *, hold: float) -> tuple[float, float]:
        waited = 0.0
        while True:
            with self.store.transaction() as book:
                now = self._clock()  # read inside: the transaction may have waited for another process
                wait = self._wait(book, now)
                if wait <= 0:
                    book.take(now + hold)
                    return waited, now + hold
            # Outside the transaction: headers seen meanwhile may shorten or lengthen it, and a
            # request in flight ends sooner than its hold: look again at least every MAX_SLEEP.
            wait = min(wait, MAX_SLEEP)
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """The provider said: nothing more for `seconds` (Retry-After, Remaining 0). Taken as said,
        time_scale or not: a time-scaled server counts its waits in its own, scaled, windows."""
        seconds = min(max(seconds, 0.0), MAX_PAUSE_SECONDS)
        with self.store.transaction() as book:
            book.pause_until(self._clock() + seconds)

    def set_limit(self, seconds: float, limit: int) -> None:
        """Replace (or add) the window of this length: the provider announced its real limit. `seconds`
        is the documented length (LATE's minute), ÷ time_scale like the assumed windows."""
        if limit <= 0:
            return
        with self.store.transaction() as book:
            book.learn(seconds / self._scale, limit)


_REGISTRY: dict[tuple[str, Path | None], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(
    provider: str, api_key: str, windows: Sequence[Window], *, time_scale: float | None = None
) -> RateLimiter:
    """The limiter of one provider key (keyed by a hash: the key itself is not kept), one per process,
    whose budget is shared with every process of this machine (providers.shared_rate, in the
    settings' rate folder) unless POSTDECK_RATE_PER_PROCESS=1. The first caller's `windows` make it;
    later callers share it. A limiter given a `time_scale` (1 included) is another one, keyed by it:
    it never reaches a client built without one, in this process or another."""
    identity = f"{provider}\0{api_key}" + (f"\0scale={float(time_scale)!r}" if time_scale is not None else "")
    digest = hashlib.sha256(identity.encode()).hexdigest()
    folder = settings().rate_folder()
    folder = folder.absolute() if folder is not None else None  # the same files whatever the cwd later
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get((digest, folder))
        if limiter is None:
            scale = 1.0 if time_scale is None else time_scale
            store = SqliteRateStore(folder / f"{digest}.db") if folder is not None else None
            limiter = _REGISTRY[digest, folder] = RateLimiter(windows, time_scale=scale, store=store)
        return limiter


# --- headers ------------------------------------------------------------------------------------


def _number(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


@dataclass(frozen=True)
class RateHeaders:
    """What a reply says about the key's budget (all optional)."""

    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None  # seconds from now
    retry_after: float | None = None
    window: float | None = None  # seconds the limit applies to, when said (PostForMe Duration)


def postforme_rate_headers(headers: Mapping[str, str]) -> RateHeaders:
    """PostForMe sends `X-Rate-Limit-*` only on 429; its Reset is seconds remaining, not an epoch."""
    limit, remaining = (
        _number(headers.get("x-rate-limit-limit")),
        _number(headers.get("x-rate-limit-remaining")),
    )
    return RateHeaders(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_in=_number(headers.get("x-rate-limit-reset")),
        retry_after=retry_after_seconds(headers),
        window=_number(headers.get("x-rate-limit-duration")),
    )


def late_rate_headers(headers: Mapping[str, str], *, now_epoch: float | None = None) -> RateHeaders:
    """LATE sends `X-RateLimit-*` on every reply, Reset in Unix epoch seconds; Retry-After on 429."""
    limit, remaining = (
        _number(headers.get("x-ratelimit-limit")),
        _number(headers.get("x-ratelimit-remaining")),
    )
    reset = _number(headers.get("x-ratelimit-reset"))
    now_epoch = time.time() if now_epoch is None else now_epoch
    return RateHeaders(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_in=max(reset - now_epoch, 0.0) if reset is not None else None,
        retry_after=retry_after_seconds(headers),
        window=60.0 if limit is not None else None,  # a per-minute sliding window (§2.11)
    )


def wait_hint(rate: RateHeaders) -> float | None:
    """How long a throttled caller should wait: Retry-After, else the reset."""
    if rate.retry_after is not None:
        return rate.retry_after
    return rate.reset_in


def observe(limiter: RateLimiter, rate: RateHeaders, *, throttled: bool) -> None:
    """Feed what a reply said into the limiter."""
    if rate.limit is not None and rate.window is not None and not throttled:
        limiter.set_limit(rate.window, rate.limit)
    if throttled:
        hint = wait_hint(rate)
        limiter.pause(hint if hint is not None else 1.0)
    elif rate.remaining == 0 and rate.reset_in is not None:
        limiter.pause(rate.reset_in)
