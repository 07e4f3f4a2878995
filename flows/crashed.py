"""Claims of runs Prefect says crashed are taken over at once, instead of after their heartbeat timeout;
and their campaign_runs rows are recorded `crashed` at once too (`crashed_flow_run`).

Before a publish plans, the campaign's live claims are checked: an owner `flow-run:<id>` whose flow
run is Crashed in Prefect (its process died: killed, out of memory, its worker lost) sends nothing
more, so its leases are ended now (`renew_claims(..., lease_seconds=0)`), and the plan hands those
deliveries back to publishing, which looks their post keys up before sending anything (the
exactly-once protocol's takeover). Any other state, or a run Prefect cannot tell about, is left to
the heartbeat timeout: only Crashed says the owner is gone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from postdeck.core.keys import same_user
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.records import CampaignRun

log = logging.getLogger("postdeck.flows")

PREFIX = "flow-run:"


def crashed_in_prefect(owner: str) -> bool:
    """Whether Prefect's API says this owner's flow run crashed (False when it cannot tell)."""
    if not owner.startswith(PREFIX):
        return False
    try:
        run_id = uuid.UUID(owner.removeprefix(PREFIX))
    except ValueError:
        return False
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
    except Exception as exc:  # an unknown run, the API away: not a reason to take over
        log.info("%s: Prefect cannot say whether it crashed: %s", owner, exc)
        return False
    return run.state is not None and run.state.is_crashed()


def crashed_flow_run(run: CampaignRun) -> bool:
    """Whether Prefect says the flow run of this campaign run crashed (False without one, or when it
    cannot tell): postdeck.engine.runs.record_crashed_runs's `crashed`."""
    return run.flow_run_id is not None and crashed_in_prefect(PREFIX + run.flow_run_id)


def expire_crashed_claims(
    ledger: LedgerWriter,
    campaign: str,
    now: datetime,
    *,
    owner: str | None = None,
    crashed: Callable[[str], bool] = crashed_in_prefect,
) -> list[str]:
    """End the leases of the campaign's claims whose run crashed; returns those runs. `owner`: the
    user whose campaign it is (None: a campaign without one); another user's campaign of the same
    name is not it, and its runs are left to its own publishes."""
    owners = {
        r.owner
        for r in ledger.deliveries(campaign)
        if r.status == DeliveryStatus.CLAIMED
        and r.owner
        and r.lease_until
        and r.lease_until > now
        and same_user(r.user_id, owner)
    }
    dead = sorted(o for o in owners if crashed(o))
    for owner in dead:
        try:
            ledger.renew_claims(owner, lease_seconds=0, now=now)  # its leases end now
        except LedgerError as exc:
            log.warning("%s crashed, but its claims could not be released early: %s", owner, exc)
            continue
        log.warning("%s crashed (Prefect says so): its claims are taken over now, after a lookup", owner)
    return dead
