"""A publish-campaign run that died (SIGKILL, OOM, a lost worker) after its create reached the provider
and before it recorded the outcome: the next run of the flow must adopt that post, not leave the
delivery claimed for ever and not post it again.

publish_batch does this (ClaimState.RECOVERED → lookup by post key); the plan hands a claim whose lease
has run out back to publishing (Action.CREATE), so the next flow run gets there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.chain_factory import build_chain, close_chain, sandbox_links
from postdeck.core.keys import PostKey
from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import Action, make_plan
from postdeck.engine.publisher import claim_request
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.chain import SendItem
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign

DEAD = "flow-run:crashed-an-hour-ago"
CRASHED_AT = datetime.now(UTC) - timedelta(hours=1)


def campaign(folder: Path) -> list[Delivery]:
    path = folder / "crash.yaml"
    path.write_text(
        "name: crash\ntimezone: UTC\nbatches:\n"
        "  - {id: hello, platforms: [twitter, bluesky], caption: 'Hello after a crash'}\n"
    )
    return expand(load_campaign(path))


def crash_after_the_create(deliveries: list[Delivery], ledger: SqliteLedger, box: Sandbox) -> None:
    """What the dead run did: claimed (with a lease long over), noted the attempt, created, died."""
    for delivery in deliveries:
        ledger.claim(claim_request(delivery), owner=DEAD, lease_seconds=60, now=CRASHED_AT)
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    chain = build_chain(links, ledger)
    first = deliveries[0]
    try:
        chain.send(
            [SendItem(d.key, d.platform, d.caption) for d in deliveries],
            post_key_for=lambda keys: str(PostKey.of(first.campaign, first.batch_id, keys)),
            media=(),
            scheduled_at=None,
            on_attempt=lambda keys, label, key: ledger.note_attempt(
                keys, owner=DEAD, provider=label, post_key=key
            ),
        )  # ...and the outcomes are never recorded
    finally:
        close_chain(chain)
    assert box.postforme.create_calls == 1


def test_a_dead_runs_expired_claim_is_planned_for_recovery(isolated_postdeck: Path, box: Sandbox) -> None:
    deliveries = campaign(isolated_postdeck)
    ledger = SqliteLedger()
    crash_after_the_create(deliveries, ledger, box)
    plan = make_plan("crash", deliveries, ledger, datetime.now(UTC))
    assert [c.action for c in plan.changes] == [Action.CREATE, Action.CREATE]


@pytest.mark.usefixtures("prefect_api")
def test_the_next_flow_run_adopts_a_crashed_runs_post(isolated_postdeck: Path, box: Sandbox) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    deliveries = campaign(isolated_postdeck)
    ledger = SqliteLedger()
    crash_after_the_create(deliveries, ledger, box)

    reports = publish_campaign(
        params=PublishParams(campaign=str(isolated_postdeck / "crash.yaml"), sandbox=True)
    )

    assert box.postforme.create_calls + box.late.create_calls == 1  # never posted twice (holds today too)
    assert {(r["action"], r["status"]) for r in reports} == {("recovered", "posted")}
    assert {r.status for r in ledger.deliveries("crash")} == {DeliveryStatus.POSTED}
