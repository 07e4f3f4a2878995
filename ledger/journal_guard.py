"""A ledger that lost deliveries the journal saw recorded must not publish: it would send them again.

The ledger is what says "already posted". If its database is new or was replaced (the SQLite file
deleted, a Supabase project restored from an old backup) while the journal remembers outcomes of
the campaign in it (ledger.journal_memory), every one of those deliveries would plan as a create.
So a publish first compares the two and refuses, naming `postdeck ledger rebuild`, which puts the
missing records back from the journal before anything is sent.
"""

from __future__ import annotations

from postdeck.core.keys import RepostKey, parse_ledger_key, same_user
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import Ledger
from postdeck.ledger.journal_file import Journal
from postdeck.ledger.journal_memory import Known
from postdeck.ledger.records import REBUILD_OWNER, DeliveryRecord


class LedgerLostDeliveries(LedgerError):
    """The ledger lacks deliveries the journal saw recorded in it: publishing would repeat them."""


def missing_from_ledger(ledger: Ledger, journal: Journal, campaign: str | None = None) -> list[Known]:
    """What the journal saw recorded in this ledger (of `campaign`, or of every campaign) that the
    ledger does not have now."""
    known = journal.known(ledger.ident)
    if campaign is not None:
        known = {key: k for key, k in known.items() if _campaign_of(key) == campaign}
    if not known:
        return []
    records = ledger.deliveries(campaign) if campaign is not None else ledger.all_deliveries()
    present = {r.key for r in records if not _left_by_a_stopped_rebuild(r)}
    # Known keeps each sighting under its key now (Known.current); one recorded before delivery keys
    # were scoped by owner, by a process that did not claim it (a follow-up), cannot say whose it was:
    # it is there if the ledger has it under any owner's scope (its one row then got its owner's).
    unscoped = {_unscoped(key) for key in present}
    return [k for key, k in known.items() if key not in present and (k.claim or key not in unscoped)]


def _left_by_a_stopped_rebuild(record: DeliveryRecord) -> bool:
    """A rebuild's claim with no outcome yet: still lost (records.REBUILD_OWNER says why)."""
    return record.status == DeliveryStatus.CLAIMED and record.owner == REBUILD_OWNER


def require_ledger_has_journaled(
    ledger: Ledger, journal: Journal, campaign: str, owner: str | None = None
) -> None:
    """Refuse to publish `campaign` (of `owner`: None for a campaign without one) when the ledger lost
    deliveries of it that the journal recorded. Another user's campaign of the same name is not it."""
    missing = [k for k in missing_from_ledger(ledger, journal, campaign) if _owned_by(k, owner)]
    if not missing:
        return
    posted = sum(1 for k in missing if k.outcome.get("status") in ("posted", "scheduled"))
    example = missing[0]
    raise LedgerLostDeliveries(
        f"{campaign}: the ledger ({ledger.ident}) does not have {len(missing)} deliveries that the journal "
        f"{journal.path} saw recorded in it ({posted} posted or scheduled; e.g. {example.key}: "
        f"{example.outcome.get('status')}); it is new or was replaced, and publishing would send them "
        "again. Nothing was sent. Run `postdeck ledger rebuild` to put them back from the journal"
    )


def require_keys_not_lost(ledger: Ledger, keys: list[str]) -> None:
    """The same refusal for single posts (`postdeck post`, the Python API): any of `keys` the ledger
    lacks but its journal saw recorded. A ledger with no journal (a caller's client) is not checked."""
    journal = getattr(ledger, "journal", None)
    if not keys or not isinstance(journal, Journal):
        return
    known = journal.known(ledger.ident)
    lost = [key for key in keys if key in known]
    if lost:
        raise LedgerLostDeliveries(
            f"the ledger ({ledger.ident}) does not have {lost[0]}, which the journal {journal.path} saw "
            f"recorded as {known[lost[0]].outcome.get('status')}; it is new or was replaced, and posting "
            "would send it again. Nothing was sent. Run `postdeck ledger rebuild` to put it back"
        )


def _owned_by(known: Known, owner: str | None) -> bool:
    """Whether a journaled delivery is of `owner`'s campaign: its key's scope says so; a key from
    before keys were scoped says it by the user it was claimed for, or, claimed by a process that did
    not say (a follow-up), cannot tell, and counts for every owner (errs toward not sending)."""
    try:
        key = parse_ledger_key(known.key).delivery
    except ValueError:
        return True
    if key.owner is not None:
        return same_user(key.owner, owner)
    if known.claim is None:
        return True
    return same_user(known.claim.get("user_id"), owner)


def _unscoped(key: str) -> str:
    try:
        parsed = parse_ledger_key(key)
    except ValueError:
        return key
    if isinstance(parsed, RepostKey):
        return str(RepostKey(parsed.original.unscoped, parsed.content))
    return str(parsed.unscoped)


def _campaign_of(key: str) -> str | None:
    try:
        return parse_ledger_key(key).delivery.campaign
    except ValueError:  # an ad-hoc post's key, or one of an older format: no campaign to match
        return None
