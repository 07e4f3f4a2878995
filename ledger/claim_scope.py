"""Which user's row a claim may meet: a claim request's key must be scoped by its user (postdeck.core.keys),
and a claim never answers with another user's row. Both backends check these before and while claiming.
"""

from __future__ import annotations

from postdeck.core.keys import owner_scope, parse_ledger_key, same_user
from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.records import ClaimRequest, DeliveryRecord


def check_claim_scope(request: ClaimRequest) -> None:
    """A user's delivery is keyed by its user (`<user id>:campaign/…`, postdeck.core.keys), a delivery
    without one by its campaign alone: a request whose key names another user than its user_id (or
    none while it has one) is refused, so no claim can meet another user's row. Both backends check
    it before claiming; their tables refuse such a row too (a CHECK constraint, a SQLite trigger)."""
    try:
        user = owner_scope(request.user_id)
    except ValueError as exc:
        raise LedgerRefused(f"cannot claim {request.key}: {exc}") from None
    try:
        scope = parse_ledger_key(request.key).delivery.owner
    except ValueError:
        if user is None:
            return  # not a delivery key: nothing to compare (the PostgreSQL table refuses it anyway)
        raise LedgerRefused(
            f"cannot claim {request.key} for user {request.user_id}: not a delivery key, so not scoped by it"
        ) from None
    if scope == user:
        return
    if scope is None:
        raise LedgerRefused(
            f"cannot claim {request.key} for user {request.user_id}: a user's delivery key is scoped by "
            f"the user ({user}:{request.key})"
        )
    whose = f"for user {request.user_id}" if user is not None else "without a user"
    raise LedgerRefused(f"cannot claim {request.key} {whose}: it is the key of user {scope}'s delivery")


def check_claimed_by_its_user(request: ClaimRequest, record: DeliveryRecord) -> None:
    """A claim that meets a row of another user (or of none) is refused, naming both, never answered
    with that row: its delivery would never be sent, and one user's history would decide another's."""
    if not same_user(record.user_id, request.user_id):
        raise LedgerRefused(
            f"delivery {request.key} belongs to user {record.user_id or '(none)'}, "
            f"not to {request.user_id or '(none)'}: refused"
        )
