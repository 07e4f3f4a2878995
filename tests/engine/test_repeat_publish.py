"""Repeating batches planned and published against the simulators (real HTTP over loopback, a real
SQLite ledger): one delivery and one provider post per occurrence, the horizon, the scheduled
sync's share, and rule edits that touch only the future occurrences."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postdeck.chain_factory import build_chain, sandbox_links
from postdeck.core.status import DeliveryStatus
from postdeck.engine.apply import apply_scheduled_changes
from postdeck.engine.decisions import creates_of
from postdeck.engine.plan import Action, Plan, make_plan
from postdeck.engine.plan_file import plan_from_dict, plan_to_dict
from postdeck.engine.publisher import DeliveryReport, publish_batch
from postdeck.engine.recurring import by_occurrence, due_occurrences
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.chain import Chain
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign

START = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = start_sandbox(persist=False)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.db")


@pytest.fixture
def chain(box: Sandbox, ledger: SqliteLedger) -> Chain:
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    return build_chain(links, ledger)


def campaign(
    tmp_path: Path, repeat: str, *, horizon: int | None = None, caption: str = "Tip {{ occurrence }}"
) -> Path:
    path = tmp_path / "c.yaml"
    head = "name: tips\ntimezone: UTC\n" + (f"horizon_days: {horizon}\n" if horizon else "")
    path.write_text(
        f"{head}batches:\n  - id: weekly\n    at: '{START:%Y-%m-%d %H:%M}'\n    platforms: [bluesky, linkedin]\n"
        f"    caption: '{caption}'\n    repeat: {repeat}\n",
        encoding="utf-8",
    )
    return path


def publish(
    path: Path, ledger: SqliteLedger, chain: Chain, now: datetime
) -> tuple[Plan, list[DeliveryReport]]:
    """What publish-campaign does, without Prefect: plan at `now`, send the creates one post per
    occurrence, apply the updates and cancels."""
    loaded = load_campaign(path)
    plan = make_plan(loaded.campaign.name, expand(loaded), ledger, now)
    reports: list[DeliveryReport] = []
    for group in by_occurrence(creates_of(plan, loaded, now, allow_repost=False)):
        reports += publish_batch(group, ledger=ledger, chain=chain, owner="run", now=lambda: now)
    reports += apply_scheduled_changes(plan, ledger=ledger, chain=chain, now=lambda: now)
    return plan, reports


def live_posts(box: Sandbox) -> list[dict]:
    client = httpx.Client(
        base_url=box.postforme_url, headers={"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
    )
    return client.get("/v1/social-posts", params={"limit": 100}).json()["data"]


def day(n: int) -> str:
    return (START + timedelta(weeks=n)).date().isoformat()


def test_a_weekly_repeat_with_count_3_plans_and_publishes_3_deliveries(
    tmp_path: Path, box: Sandbox, ledger: SqliteLedger, chain: Chain
) -> None:
    now = datetime.now(UTC)
    plan, reports = publish(campaign(tmp_path, "{every: 1w, count: 3}"), ledger, chain, now)
    assert [(c.action, c.batch_id, c.delivery.repeat) for c in plan.changes if c.platform == "bluesky"] == [
        (Action.CREATE, f"weekly@{day(n)}", f"every 1w, {n + 1} of 3") for n in range(3)
    ]
    assert {(r.key, r.status) for r in reports} == {
        (f"tips/weekly@{day(n)}/{p}", "scheduled") for n in range(3) for p in ("bluesky", "linkedin")
    }
    posts = live_posts(box)  # one provider post per occurrence, at its own time, with its own caption
    assert sorted((p["scheduled_at"][:16], p["caption"]) for p in posts) == [
        ((START + timedelta(weeks=n)).isoformat()[:16], f"Tip {n + 1}") for n in range(3)
    ]
    again, sent = publish(campaign(tmp_path, "{every: 1w, count: 3}"), ledger, chain, now)
    assert {c.action for c in again.changes} == {Action.UNCHANGED} and sent == []
    assert len(live_posts(box)) == 3


@pytest.mark.parametrize("edited", ["{every: 1w, count: 1}", f"{{every: 1w, until: {day(0)}}}"])
def test_a_shorter_rule_cancels_the_unpublished_occurrences(
    tmp_path: Path, box: Sandbox, ledger: SqliteLedger, chain: Chain, edited: str
) -> None:
    now = datetime.now(UTC)
    publish(campaign(tmp_path, "{every: 1w, count: 3}"), ledger, chain, now)
    plan, reports = publish(campaign(tmp_path, edited), ledger, chain, now)
    cancelled = {f"tips/weekly@{day(n)}/{p}" for n in (1, 2) for p in ("bluesky", "linkedin")}
    assert {c.key for c in plan.of(Action.CANCEL)} == cancelled
    assert {c.reason for c in plan.of(Action.CANCEL)} == {"its occurrence left the repeat rule"}
    assert {(r.key, r.status) for r in reports} == {(k, "cancelled") for k in cancelled}
    assert {r.key: r.status for r in ledger.deliveries("tips")} == {
        **{k: DeliveryStatus.CANCELLED for k in cancelled},
        **{f"tips/weekly@{day(0)}/{p}": DeliveryStatus.SCHEDULED for p in ("bluesky", "linkedin")},
    }
    assert [p["caption"] for p in live_posts(box)] == ["Tip 1"]
    assert {ledger.get(k).error for k in cancelled} == {"its occurrence left the repeat rule"}


def test_an_edited_rule_updates_future_occurrences_and_leaves_past_ones_alone(
    tmp_path: Path, box: Sandbox, ledger: SqliteLedger, chain: Chain
) -> None:
    now = datetime.now(UTC)
    publish(campaign(tmp_path, "{every: 1w, count: 3}"), ledger, chain, now)
    # A day after the first occurrence (its time has passed), the caption and the count change.
    later = START + timedelta(days=1)
    path = campaign(tmp_path, "{every: 1w, count: 2}", caption="New tip {{ occurrence }}")
    plan = make_plan("tips", expand(load_campaign(path)), ledger, later)
    actions = {(c.batch_id, c.action) for c in plan.changes}
    assert actions == {
        (f"weekly@{day(0)}", Action.UNCHANGED),  # history: kept as it went out
        (f"weekly@{day(1)}", Action.UPDATE),
        (f"weekly@{day(2)}", Action.CANCEL),
    }
    assert {c.reason for c in plan.changes if c.batch_id == f"weekly@{day(0)}"} == {
        "past occurrence, kept as it went out: scheduled"
    }
    reports = apply_scheduled_changes(plan, ledger=ledger, chain=chain, now=lambda: later)
    assert {(r.action, r.status) for r in reports} == {("update", "scheduled"), ("cancel", "cancelled")}
    assert sorted(p["caption"] for p in live_posts(box)) == ["New tip 2", "Tip 1"]
    # Dropping the rule altogether cancels the future occurrences only.
    gone = make_plan("tips", [], ledger, later)
    assert {c.key for c in gone.of(Action.CANCEL)} == {
        f"tips/weekly@{day(1)}/{p}" for p in ("bluesky", "linkedin")
    }


def test_occurrences_beyond_the_horizon_wait_and_the_sync_publishes_them_as_they_enter_it(
    tmp_path: Path, box: Sandbox, ledger: SqliteLedger, chain: Chain
) -> None:
    path = campaign(tmp_path, "{every: 1w, count: 4}", horizon=10)
    now = datetime.now(UTC)
    deliveries = expand(load_campaign(path))
    # Nothing published yet: the sync leaves a campaign nobody published to `publish` (the review gate).
    assert due_occurrences("tips", deliveries, ledger, now) == []
    plan, reports = publish(path, ledger, chain, now)
    assert {c.batch_id for c in plan.changes} == {f"weekly@{day(0)}", f"weekly@{day(1)}"}  # within 10 days
    assert len(plan.later) == 4 and plan_from_dict(plan_to_dict(plan)).later == plan.later
    assert len(live_posts(box)) == 2 and {r.status for r in reports} == {"scheduled"}

    # Nine days on, the third occurrence is within the horizon: the sync's plan picks it up.
    nine_days_on = now + timedelta(days=9)
    due = due_occurrences("tips", deliveries, ledger, nine_days_on)
    assert {d.key for d in due} == {f"tips/weekly@{day(2)}/{p}" for p in ("bluesky", "linkedin")}
    for group in by_occurrence(due):
        publish_batch(group, ledger=ledger, chain=chain, owner="sync")
    assert due_occurrences("tips", deliveries, ledger, nine_days_on) == []  # once
    assert len(live_posts(box)) == 3
    later_plan = make_plan("tips", deliveries, ledger, nine_days_on)
    assert later_plan.counts() == {"unchanged": 6}
    assert later_plan.later == tuple(f"tips/weekly@{day(3)}/{p}" for p in ("bluesky", "linkedin"))
    # And the last one a week after that.
    assert {d.batch_id for d in due_occurrences("tips", deliveries, ledger, now + timedelta(days=16))} == {
        f"weekly@{day(3)}"
    }


def test_a_campaign_published_with_every_occurrence_beyond_the_horizon_is_synced_when_one_enters(
    tmp_path: Path, box: Sandbox, ledger: SqliteLedger, chain: Chain
) -> None:
    from postdeck.engine.runs import finish_run, publish_source, start_run
    from postdeck.engine.source import Source
    from postdeck.engine.verdict import verdict

    # The first occurrence is 30 days out, the horizon 10 days: publishing plans nothing yet.
    path = tmp_path / "c.yaml"
    first = START + timedelta(days=30)
    path.write_text(
        f"name: far\ntimezone: UTC\nhorizon_days: 10\nbatches:\n  - id: weekly\n"
        f"    at: '{first:%Y-%m-%d %H:%M}'\n    platforms: [bluesky]\n    caption: 'Tip {{{{ occurrence }}}}'\n"
        "    repeat: {every: 1w, count: 2}\n",
        encoding="utf-8",
    )
    now = datetime.now(UTC)
    deliveries = expand(load_campaign(path))
    assert due_occurrences("far", deliveries, ledger, now) == []  # never published: the review gate
    # What the publish flow does: a recorded run, whose plan has every occurrence for later.
    plan, reports = publish(path, ledger, chain, now)
    assert plan.changes == () and len(plan.later) == 2 and reports == []
    source = publish_source(Source(path, None), campaign_path=str(path), deliveries=deliveries, plan=plan)
    stamp = start_run(ledger, "far", source=source, user_id=None, now=now)
    finish_run(ledger, stamp, verdict([]), now=now, plan=plan)
    assert ledger.deliveries("far") == []  # the ledger has no delivery of it, only its run
    assert due_occurrences("far", deliveries, ledger, now + timedelta(days=5)) == []  # still too far
    # Once the first occurrence is within the horizon, the sync sends it.
    due = due_occurrences("far", deliveries, ledger, now + timedelta(days=21))
    assert [d.key for d in due] == [f"far/weekly@{first.date().isoformat()}/bluesky"]


def test_the_sync_publishes_occurrences_from_a_committed_tree_only(tmp_path: Path) -> None:
    import subprocess

    from postdeck.engine.recurring import require_committed
    from postdeck.errors import CampaignError

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    path = campaign(tmp_path, "{every: 1w, count: 3}")
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "tips")
    loaded = load_campaign(path)
    require_committed(loaded, expand(loaded))  # as committed: fine
    edited = campaign(tmp_path, "{every: 1w, count: 30}")  # an edit nobody reviewed
    with pytest.raises(CampaignError, match="uncommitted changes"):
        require_committed(load_campaign(edited), expand(load_campaign(edited)))


def test_posting_one_repeating_batch_through_the_service_keeps_to_the_horizon(tmp_path: Path) -> None:
    from postdeck.service.campaign_batches import batch_deliveries

    path = campaign(tmp_path, "{every: 1w, count: 4}", horizon=10)
    deliveries = batch_deliveries(path, "weekly", now=datetime.now(UTC))
    assert {d.batch_id for d in deliveries} == {f"weekly@{day(0)}", f"weekly@{day(1)}"}
