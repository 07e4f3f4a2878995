"""The delivery state machine. No state is skipped silently and none moves backwards."""

from __future__ import annotations

from postdeck.core.status import DeliveryStatus as S
from postdeck.ledger.base import LedgerRefused

ALLOWED: dict[S, frozenset[S]] = {
    S.CLAIMED: frozenset({S.POSTED, S.SCHEDULED, S.FAILED, S.UNKNOWN, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.POSTED, S.FAILED, S.CANCELLED, S.SCHEDULED}),  # scheduled→scheduled: reschedule
    # Only through a lookup at the provider, or a person's `postdeck resolve`; not-sent when no
    # provider had it over their idempotency window.
    S.UNKNOWN: frozenset({S.POSTED, S.FAILED, S.SCHEDULED, S.NOT_SENT}),
    # A publish claims it again (claim_many, not record); a lookup may still find it after all.
    S.NOT_SENT: frozenset({S.POSTED, S.FAILED, S.SCHEDULED}),
    S.POSTED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


def check_transition(key: str, current: S, new: S) -> None:
    if new not in ALLOWED[current]:
        raise LedgerRefused(f"delivery {key}: cannot move from {current} to {new}")
