"""`postdeck ledger rebuild`: put back, from the journal, the deliveries a new or replaced ledger lost.

Each missing delivery is claimed as the run that sent it claimed it (the journal keeps the claim's
content and schedule hashes, so the plan afterwards says `unchanged`, not `update`), its attempts are
noted (an unknown one is looked up where its create may have gone), and its last outcome is recorded.
Nothing is sent to any provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from postdeck.core.keys import parse_ledger_key
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import Ledger
from postdeck.ledger.journal_file import Journal
from postdeck.ledger.journal_guard import missing_from_ledger
from postdeck.ledger.journal_memory import Known
from postdeck.ledger.records import REBUILD_LEASE_SECONDS, REBUILD_OWNER, ClaimRequest, ClaimState
from postdeck.ledger.rows import parse_time


@dataclass
class RebuildReport:
    restored: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, why)


def rebuild_from_journal(
    ledger: Ledger, journal: Journal, *, campaign: str | None = None, now: datetime | None = None
) -> RebuildReport:
    """Restore every delivery of `campaign` (or of all) the journal saw recorded and the ledger lacks."""
    now = now or datetime.now(UTC)
    report = RebuildReport()
    for known in missing_from_ledger(ledger, journal, campaign):
        try:
            why = _restore(ledger, known, now)
        except LedgerError as exc:
            why = str(exc)
        if why is None:
            report.restored.append(known.key)
        else:
            report.skipped.append((known.key, why))
    return report


def _restore(ledger: Ledger, known: Known, now: datetime) -> str | None:
    """Put one delivery back; None when done, else why not."""
    outcome = Outcome(**{**known.outcome, "status": DeliveryStatus(known.outcome["status"])})
    if outcome.status == DeliveryStatus.CLAIMED:
        return "the journal has no outcome for it (nothing to restore)"
    request = _claim_request(known)
    if request is None:
        return "not a delivery key"
    claim = ledger.claim(request, owner=REBUILD_OWNER, lease_seconds=REBUILD_LEASE_SECONDS, now=now)
    # RECOVERED: this rebuild's own claim, left by one that stopped half-way; finished now.
    if claim.state not in (ClaimState.CLAIMED, ClaimState.RECOVERED):  # another process put it back
        return f"the ledger has it now ({claim.record.status})"
    post_key = outcome.post_key or claim.record.post_key
    if post_key:  # an attempt is noted with the post key its create carried
        for label in known.attempted:
            ledger.note_attempt([known.key], owner=REBUILD_OWNER, provider=label, post_key=post_key)
    if outcome.status == DeliveryStatus.NOT_SENT:  # claimed → unknown → not-sent, as it happened
        ledger.record(
            known.key, Outcome(DeliveryStatus.UNKNOWN, post_key=post_key), owner=REBUILD_OWNER, now=now
        )
    ledger.record(known.key, outcome, owner=REBUILD_OWNER, now=now)
    return None


def _claim_request(known: Known) -> ClaimRequest | None:
    claim = known.claim
    if claim:
        return ClaimRequest(**{**claim, "scheduled_for": parse_time(claim.get("scheduled_for"))})
    try:  # recorded by a process that did not claim it (a follow-up): the key says what it is
        key = parse_ledger_key(known.key).delivery
    except ValueError:
        return None
    # A scoped key names its owner's user id (postdeck.core.keys.owner_scope): the claim is theirs.
    return ClaimRequest(known.key, key.campaign, key.batch_id, key.platform, "", "", "", None, key.owner)
