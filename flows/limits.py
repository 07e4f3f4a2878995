"""How many provider calls a flow run makes at once: in this process, and all workers together.

- In this process, at no server cost: a bounded semaphore per provider around every call (the chain's
  guard), sized by POSTDECK_PROVIDER_CONCURRENCY (default 16; it also sizes the flow's task workers),
  and a window of tasks in their provider phase (`batch`), at most the run's reservation.
- All runs and workers together: the Prefect global concurrency limits `provider:postforme` and
  `provider:late` (`postdeck limits`). A run reserves its window, min(setting, the limits, its
  tasks), of every limit its chain can reach, once, for its whole provider phase (`reserve`); Prefect
  renews the lease while the run holds it and lets it expire if the worker dies. A task makes its
  calls one at a time, so the slots reserved by all runs cap the calls in flight, whatever provider
  fails over where. Runs beyond the limits wait for slots before their first call.

Why once per run and not once per batch or per call: each slot request is a write on the Prefect
server, and they serialize there. Measured on a SQLite server (bench/README.md): 250 batches holding a
slot each took 15-28 s where the calls alone take 8 s; a slot per call took the flow to 17 × its floor.
A run that leaves room for another therefore sets POSTDECK_PROVIDER_CONCURRENCY to the limit ÷ the
runs meant to publish side by side. These are caps, not pacers: each client's own token bucket keeps
to the provider's per-second and per-minute budget.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound

from postdeck.settings import settings

# PostForMe allows 5 requests/s per key; LATE 60-1,200/min by plan. In-flight caps that stay under both.
DEFAULT_LIMITS = {"provider:postforme": 4, "provider:late": 8}

CONCURRENCY_ENV = "POSTDECK_PROVIDER_CONCURRENCY"
DEFAULT_CONCURRENCY = 16


def ensure_limits(limits: dict[str, int] | None = None) -> dict[str, str]:
    """Create or update the limits on the Prefect API in PREFECT_API_URL; returns what was done per name."""
    done = {}
    with get_client(sync_client=True) as client:
        for name, limit in (limits or DEFAULT_LIMITS).items():
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
                done[name] = f"created (limit {limit})"
                continue
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=limit))
            done[name] = f"updated (limit {limit})"
    return done


def process_concurrency(environ: Mapping[str, str] | None = None) -> int:
    """POSTDECK_PROVIDER_CONCURRENCY: calls in flight per provider from one process (and task workers)."""
    return settings(environ).provider_concurrency  # at least 1, checked there


def server_limits(names: Iterable[str]) -> dict[str, int]:
    """The active limits among `names` on the Prefect server (one read each, once per run)."""
    found = {}
    with get_client(sync_client=True) as client:
        for name in names:
            try:
                limit = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                continue
            if limit.active:
                found[name] = limit.limit
    return found


class ProviderCaps:
    """The caps of one flow run: `call` is the chain's guard; `reserve` wraps the run's provider phase
    and `batch` each task's share of it."""

    def __init__(self, per_process: int, server: Mapping[str, int] | None = None) -> None:
        self.per_process = per_process
        self.server = dict(server or {})  # the provider:* limits that exist on the server
        self.window = max(1, min([per_process, *self.server.values()]))
        self._calls: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._places: threading.BoundedSemaphore | None = None

    @classmethod
    def for_providers(cls, providers: Iterable[str]) -> ProviderCaps:
        """Caps for a chain reaching these providers: the setting, and their limits on the server."""
        names = sorted({f"provider:{provider}" for provider in providers})
        return cls(process_concurrency(), server_limits(names))

    def call(self, provider: str) -> AbstractContextManager[object]:
        """Hold one of this process's `per_process` places for `provider` during one call."""
        with self._lock:
            if provider not in self._calls:
                self._calls[provider] = threading.BoundedSemaphore(self.per_process)
            return self._calls[provider]

    @contextmanager
    def reserve(self, tasks: int) -> Iterator[int]:
        """Slots for `tasks` tasks, at most the window: one request to the server for the whole phase."""
        size = max(1, min(self.window, tasks))
        self._places = threading.BoundedSemaphore(size)
        try:
            with self._server_slots(size):
                yield size
        finally:
            self._places = None

    def _server_slots(self, size: int) -> AbstractContextManager[None]:
        if not self.server:  # `postdeck limits` not run: no cross-worker cap, as Prefect's non-strict mode
            return nullcontext()
        return concurrency(sorted(self.server), occupy=size, strict=False)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One task's provider phase: a place in the run's reservation (no server request)."""
        places = self._places
        if places is None:
            raise RuntimeError("caps.batch() outside caps.reserve(): its calls would escape the limits")
        with places:
            yield
