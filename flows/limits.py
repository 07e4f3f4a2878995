"""Prefect global concurrency limits that cap provider calls across every flow run and worker.

`provider:postforme` and `provider:late` hold how many calls to each provider may be in flight at
once, whatever the number of runs and workers. They are caps, not pacers: each client's own token
bucket keeps to the provider's per-second and per-minute budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound

# PostForMe allows 5 requests/s per key; LATE 60-1,200/min by plan. In-flight caps that stay under both.
DEFAULT_LIMITS = {"provider:postforme": 4, "provider:late": 8}


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


def provider_slot(provider: str) -> AbstractContextManager[None]:
    """Hold one slot of `provider:<name>` for the length of a provider call (the chain's guard)."""
    return _slot(f"provider:{provider}")


@contextmanager
def _slot(name: str) -> Iterator[None]:
    # Not strict: without `make limits` Prefect logs that the limit is missing and lets the call through.
    with concurrency(name, occupy=1, strict=False):
        yield
