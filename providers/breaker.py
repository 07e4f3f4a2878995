"""A circuit breaker per provider, for one run: after `threshold` consecutive failures that say the
provider is unwell (not sent, maybe sent), stop sending to it for `cooldown` seconds, then let one
call through to see whether it recovered. Rejections and throttling are answers from a healthy
provider and reset the count. Opening is logged once per opening, with the reason."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("postdeck.chain")


@dataclass
class _State:
    failures: int = 0
    open_until: float | None = None
    last_error: str = ""


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 3,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()
        self.openings: list[tuple[str, str]] = []  # (provider, reason): what the run's log said

    def is_open(self, provider: str) -> bool:
        """True while cooling down. Once the cool-down is over, calls go through again (half-open):
        the next failure re-opens at once, the next success closes."""
        with self._lock:
            state = self._states.get(provider)
            return bool(state and state.open_until is not None and self._clock() < state.open_until)

    def remaining(self, provider: str) -> float:
        with self._lock:
            state = self._states.get(provider)
            if state is None or state.open_until is None:
                return 0.0
            return max(state.open_until - self._clock(), 0.0)

    def success(self, provider: str) -> None:
        with self._lock:
            self._states[provider] = _State()

    def failure(self, provider: str, error: str) -> None:
        with self._lock:
            state = self._states.setdefault(provider, _State())
            half_open = state.open_until is not None  # the cool-down ran out and the trial failed
            state.failures += 1
            state.last_error = error
            if state.failures >= self.threshold or half_open:
                if state.open_until is not None and self._clock() < state.open_until:
                    return  # already open (concurrent callers): say it once
                state.open_until = self._clock() + self.cooldown
                reason = f"{state.failures} consecutive failures, last: {error}"
                self.openings.append((provider, reason))
                log.warning(
                    "%s: circuit open, not sending to it for %.0fs (%s)", provider, self.cooldown, reason
                )
