"""After the run: the follow-up (what the sync-post-status flow does) for deliveries still open."""

from __future__ import annotations

from postdeck.chain_factory import build_chain, close_chain, sandbox_links
from postdeck.engine.follow_up import OPEN_STATUSES, follow_up
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox


def follow_up_open(ledger: SqliteLedger, box: Sandbox) -> int:
    """Ask the providers about every scheduled or unknown delivery and record what they say."""
    records = [r for status in OPEN_STATUSES for r in ledger.all_deliveries(status=str(status))]
    if not records:
        return 0
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    chain = build_chain(links, ledger)
    try:
        follow_up(records, ledger=ledger, chain=chain)
    finally:
        close_chain(chain)
    return len(records)
