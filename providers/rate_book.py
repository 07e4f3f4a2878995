"""What one provider key's rate budget holds, and where it is kept: the `RateBook` (the requests sent
in the last window, the limits the provider announced, a pause it asked for) and its stores.

`RateLimiter` (providers.ratelimit) does the arithmetic over a book; a store only keeps it. The
in-memory store here serves one process; providers.shared_rate keeps the book in a file that every
process with the key reads and writes, so they pace themselves together.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class RateBook:
    """One key's budget as it stands. The changes made since it was read are kept apart
    (`taken`, `announced`, `paused`), so that a store kept elsewhere writes only those."""

    hits: list[float] = field(default_factory=list)  # when each request went, oldest first
    learned: dict[float, int] = field(default_factory=dict)  # window seconds -> the limit announced
    paused_until: float = 0.0
    taken: list[float] = field(default_factory=list)
    announced: dict[float, int] = field(default_factory=dict)
    forgotten_before: float | None = None
    paused: bool = False
    moved: list[tuple[float, float]] = field(default_factory=list)  # (from, to): a request answered

    def take(self, at: float) -> None:
        bisect.insort(self.hits, at)
        self.taken.append(at)

    def finish(self, held_as: float, answered_at: float) -> None:
        """A request's hit, held as `held_as` while in flight, counts from `answered_at` now (a hit
        no longer in the book aged out: nothing to move)."""
        index = bisect.bisect_left(self.hits, held_as)
        if index < len(self.hits) and self.hits[index] == held_as:
            del self.hits[index]
            bisect.insort(self.hits, answered_at)
            self.moved.append((held_as, answered_at))

    def forget_before(self, moment: float) -> None:
        """Drop the hits at or before `moment`: no window reaches back that far."""
        keep = next((i for i, hit in enumerate(self.hits) if hit > moment), len(self.hits))
        del self.hits[:keep]
        self.forgotten_before = max(moment, self.forgotten_before or moment)

    def learn(self, seconds: float, limit: int) -> None:
        if self.learned.get(seconds) != limit:
            self.learned[seconds] = self.announced[seconds] = limit

    def pause_until(self, moment: float) -> None:
        if moment > self.paused_until:
            self.paused_until = moment
            self.paused = True

    def settled(self) -> None:
        """The changes are kept: start counting anew."""
        self.taken, self.announced, self.forgotten_before, self.paused = [], {}, None, False
        self.moved = []


class RateStore(Protocol):
    """Where a key's book is kept. `clock` is the time its hits are counted in."""

    clock: Callable[[], float]

    def transaction(self) -> AbstractContextManager[RateBook]:
        """The book, for reading and changing; the changes are kept when the block ends."""
        ...


class MemoryRateStore:
    """The book in this process only (monotonic time: no other process reads it)."""

    def __init__(self, book: RateBook | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._book = book or RateBook()
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[RateBook]:
        with self._lock:
            yield self._book
            self._book.settled()
