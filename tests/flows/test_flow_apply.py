"""publish-campaign applies exactly the plan: creates, updates, cancels, unchanged, conflicts, reposts,
dry runs and saved plans. Real Prefect API, simulators over loopback (running in this process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postdeck.core.keys import parse_ledger_key
from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import make_plan
from postdeck.engine.plan_file import save_plan
from postdeck.engine.verdict import is_unresolved
from postdeck.errors import StalePlanError
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import SANDBOX_POSTFORME_KEY, Sandbox
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign

pytestmark = pytest.mark.usefixtures("prefect_api")

LATER = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")


def campaign(folder: Path, batches: str) -> Path:
    path = folder / "launch.yaml"
    path.write_text(f"name: launch\ntimezone: UTC\nbatches:\n{batches}")
    return path


V1 = f"""\
  - {{id: teaser, at: '{LATER}', platforms: [twitter, bluesky], caption: 'Something is brewing'}}
  - {{id: countdown, at: '{LATER}', platforms: [twitter], caption: 'Three days to go'}}
  - {{id: hello, platforms: [linkedin], caption: 'We are live'}}
"""
V2 = f"""\
  - {{id: teaser, at: '{LATER}', platforms: [twitter, bluesky], caption: 'Something new is brewing'}}
  - {{id: hello, platforms: [linkedin], caption: 'We are live, finally'}}
  - {{id: thanks, platforms: [bluesky], caption: 'Thank you for coming'}}
"""


def publish(path: Path, **options) -> dict[str, dict]:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    state = publish_campaign(
        params=PublishParams(campaign=str(path), sandbox=True, **options), return_state=True
    )
    reports = state.result(raise_on_failure=False)
    if isinstance(reports, BaseException):  # the flow raised (a stale plan): as a direct call would
        raise reports
    # The run's Prefect state mirrors its deliveries: Completed exactly when none is left unresolved.
    unresolved = [r for r in reports if is_unresolved(r, dry_run=options.get("dry_run", False))]
    assert state.is_completed() == (not unresolved), (state, unresolved)
    return {r["key"]: r for r in reports}


def postforme_posts(box: Sandbox) -> dict[str, dict]:
    client = httpx.Client(
        base_url=box.postforme_url, headers={"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
    )
    return {p["id"]: p for p in client.get("/v1/social-posts", params={"limit": 100}).json()["data"]}


def test_publish_applies_creates_updates_cancels_and_refuses_conflicts(box: Sandbox, tmp_path: Path) -> None:
    path = campaign(tmp_path, V1)
    first = publish(path)
    assert {k: (r["action"], r["status"]) for k, r in first.items()} == {
        "launch/teaser/twitter": ("sent", "scheduled"),
        "launch/teaser/bluesky": ("sent", "scheduled"),
        "launch/countdown/twitter": ("sent", "scheduled"),
        "launch/hello/linkedin": ("sent", "posted"),
    }
    ledger = SqliteLedger()
    teaser_post = ledger.get("launch/teaser/twitter").provider_post_id
    countdown_post = ledger.get("launch/countdown/twitter").provider_post_id

    campaign(tmp_path, V2)
    dry = publish(path, dry_run=True)
    assert {k: r["action"] for k, r in dry.items()} == {
        "launch/teaser/twitter": "update",
        "launch/teaser/bluesky": "update",
        "launch/countdown/twitter": "cancel",
        "launch/hello/linkedin": "conflict",
        "launch/thanks/bluesky": "create",
    }
    assert countdown_post in postforme_posts(box) and ledger.get("launch/thanks/bluesky") is None

    second = publish(path)
    assert (second["launch/teaser/twitter"]["action"], second["launch/teaser/twitter"]["status"]) == (
        "update",
        "scheduled",
    )
    assert (second["launch/countdown/twitter"]["action"], second["launch/countdown/twitter"]["status"]) == (
        "cancel",
        "cancelled",
    )
    assert second["launch/hello/linkedin"]["action"] == "conflict"
    assert (second["launch/thanks/bluesky"]["action"], second["launch/thanks/bluesky"]["status"]) == (
        "sent",
        "posted",
    )
    posts = postforme_posts(box)
    assert posts[teaser_post]["caption"] == "Something new is brewing" and countdown_post not in posts
    assert ledger.get("launch/countdown/twitter").status == DeliveryStatus.CANCELLED

    third = publish(path)  # the ledger now matches the campaign, but for the refused conflict
    assert {r["action"] for k, r in third.items() if k != "launch/hello/linkedin"} == {"unchanged"}

    reposted = publish(path, allow_repost=True)
    repost = next(r for k, r in reposted.items() if parse_ledger_key(k) != parse_ledger_key(k).delivery)
    assert str(parse_ledger_key(repost["key"]).delivery) == "launch/hello/linkedin"
    assert (repost["action"], repost["status"]) == ("sent", "posted")
    again = publish(path, allow_repost=True)
    assert {r["action"] for r in again.values()} == {"unchanged"}


def test_a_saved_plan_is_applied_once_and_refused_when_stale(box: Sandbox, tmp_path: Path) -> None:
    path = campaign(tmp_path, V1)
    loaded = load_campaign(path)
    plan_file = tmp_path / "plan.json"
    save_plan(make_plan("launch", expand(loaded), SqliteLedger(), datetime.now(UTC)), plan_file)
    applied = publish(path, plan=str(plan_file))
    assert {r["action"] for r in applied.values()} == {"sent"}
    with pytest.raises(StalePlanError):
        publish(path, plan=str(plan_file))


def test_a_post_that_went_out_before_its_cancel_is_recorded_as_it_went_out(
    box: Sandbox, tmp_path: Path
) -> None:
    """The ledger still says scheduled (no sync ran since its time came), the file no longer has it:
    the provider is asked first, and what it says is recorded; nothing is deleted or refused."""
    path = campaign(tmp_path, V1)
    publish(path)
    ledger = SqliteLedger()
    countdown_post = ledger.get("launch/countdown/twitter").provider_post_id
    box.advance_clock(4 * 86400)
    box.postforme.tick()  # its time came: PostForMe published it
    without_countdown = V1.replace(
        f"  - {{id: countdown, at: '{LATER}', platforms: [twitter], caption: 'Three days to go'}}\n", ""
    )
    second = publish(campaign(tmp_path, without_countdown))
    report = second["launch/countdown/twitter"]
    assert (report["action"], report["status"]) == ("cancel", "posted"), report
    assert "went out before it could be cancelled" in (report["error"] or "")
    assert report["url"] and report["url"].startswith("https://")
    assert ledger.get("launch/countdown/twitter").status == DeliveryStatus.POSTED
    assert postforme_posts(box)[countdown_post]["status"] == "processed"
