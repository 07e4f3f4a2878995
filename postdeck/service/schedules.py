"""Seed 002's schedule management over the ledger: what retry (service.retrying) and cancel
(service.cancelling) share, and the listing (schedules.list)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from postdeck.core.outcome import Outcome
from postdeck.engine.verdict import Verdict
from postdeck.errors import LedgerError, PostdeckError
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import DeliveryRecord

Progress = Callable[[DeliveryRecord], None]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ScheduleReport:
    key: str
    platform: str
    before: str
    after: str
    action: str  # retried | cancelled | refreshed | skipped | kept cancelled
    provider: str | None = None
    url: str | None = None
    error: str | None = None


# What a retry or a cancel run is for: its deliveries end in one of these, or the run has not done it.
RETRIED = frozenset({"posted", "scheduled"})
CANCELLED = frozenset({"cancelled"})


def run_outcome(reports: Sequence[ScheduleReport], *, goal: frozenset[str]) -> Verdict:
    """What a retry or cancel run came to, for its campaign_runs row: each delivery's status after it
    (`skipped` for one it did not act on), unresolved unless in `goal` (as the CLI's exit code)."""
    words = ["skipped" if r.action == "skipped" else r.after for r in reports]
    return Verdict(
        total=len(words), counts=dict(Counter(words)), unresolved=sum(w not in goal for w in words)
    )


def list_deliveries(
    ledger, query: DeliveryQuery, *, page: int = 1, per_page: int = 50
) -> list[DeliveryRecord]:
    """One page of deliveries, newest first (seed 002's schedules.list)."""
    if page < 1 or not 1 <= per_page <= 1000:
        raise PostdeckError("pages start at 1 and hold 1 to 1000 deliveries")
    return ledger.find_deliveries(query, limit=per_page, offset=(page - 1) * per_page)


def skipped(record: DeliveryRecord, why: str) -> ScheduleReport:
    return ScheduleReport(
        record.key, record.platform, str(record.status), str(record.status), "skipped", error=why
    )


def siblings(
    ledger, group: list[DeliveryRecord], provider: str, post_id: str, status: str
) -> list[DeliveryRecord]:
    """The other deliveries one provider post carries, in `status` (a post holds every platform of
    its batch: it is cancelled or re-run for all of them at once)."""
    chosen = {r.key for r in group}
    return [
        s
        for s in ledger.find_deliveries(DeliveryQuery(provider_post_id=post_id, statuses=(status,)))
        if s.provider == provider and s.key not in chosen
    ]


def recorded(
    ledger, record: DeliveryRecord, outcome: Outcome, owner: str | None, now: Clock, action: str
) -> ScheduleReport:
    error = outcome.error
    try:
        ledger.record(record.key, outcome, owner=owner, now=now())
    except LedgerError as exc:
        error = f"{outcome.error or ''} (not recorded: {exc})".strip()
    return ScheduleReport(
        record.key,
        record.platform,
        str(record.status),
        str(outcome.status),
        action,
        outcome.provider,
        outcome.url,
        error,
    )
