"""A scheduled post that failed at its provider is re-sent through the next provider, when allowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.chain_factory import build_chain, sandbox_links
from postdeck.core.status import DeliveryStatus
from postdeck.engine.follow_up import follow_up
from postdeck.engine.publisher import publish_batch
from postdeck.engine.resend import resend_failed
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = start_sandbox(persist=False)
    yield sandbox
    sandbox.stop()


@pytest.mark.parametrize("allowed", [True, False])
def test_failed_scheduled_post_goes_to_the_next_provider_only_if_the_campaign_allows(
    box: Sandbox, tmp_path: Path, allowed: bool
) -> None:
    at = datetime.now(UTC) + timedelta(minutes=10)
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: later\ntimezone: UTC\nretry_failed: {str(allowed).lower()}\nbatches:\n"
        f"  - {{id: soon, at: '{at:%Y-%m-%d %H:%M}', platforms: [twitter, bluesky], caption: 'Doors open soon'}}\n"
    )
    loaded = load_campaign(path)
    ledger = SqliteLedger(tmp_path / "l.db")
    chain = build_chain(
        sandbox_links(
            box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
        ),
        ledger,
    )
    publish_batch(expand(loaded), ledger=ledger, chain=chain, owner="run-1")
    assert {r.provider for r in ledger.deliveries("later")} == {"postforme"}

    box.postforme.fail_platforms = {"bluesky"}
    box.postforme.advance_clock(15 * 60)
    box.postforme.tick()
    followed = follow_up(ledger.deliveries("later"), ledger=ledger, chain=chain)
    assert {(r.key, r.after) for r in followed} == {
        ("later/soon/twitter", "posted"),
        ("later/soon/bluesky", "failed"),
    }

    resent = resend_failed(followed, campaigns={"later": loaded}, ledger=ledger, chain=chain, owner="sync-1")
    bluesky = ledger.get("later/soon/bluesky")
    if allowed:
        assert [(r.key, r.status, r.provider) for r in resent] == [("later/soon/bluesky", "posted", "late")]
        assert bluesky.status == DeliveryStatus.POSTED and bluesky.provider == "late" and bluesky.url
        assert box.late.create_calls == 1
    else:
        assert resent == [] and bluesky.status == DeliveryStatus.FAILED and box.late.create_calls == 0
    assert ledger.get("later/soon/twitter").provider == "postforme"  # the post that worked is left alone
