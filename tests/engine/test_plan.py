"""The planner: one frozen Change per delivery, its caption length, and saved plans that go stale."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import Action, make_plan
from postdeck.engine.plan_checks import check_plan_is_current
from postdeck.engine.plan_file import load_plan, plan_from_dict, plan_to_dict, save_plan
from postdeck.errors import PlanError, StalePlanError
from postdeck.ledger.records import DeliveryRecord
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
MEDIA = Path(__file__).parents[1] / "bad_campaigns" / "media" / "square.jpg"


class Ledger:
    """An in-memory LedgerReader."""

    def __init__(self, records: list[DeliveryRecord] | None = None) -> None:
        self.records = {r.key: r for r in records or []}

    def get(self, key: str) -> DeliveryRecord | None:
        return self.records.get(key)

    def deliveries(self, campaign: str) -> list[DeliveryRecord]:
        return [r for r in self.records.values() if r.campaign == campaign]


@pytest.fixture
def deliveries(tmp_path: Path) -> list[Delivery]:
    (tmp_path / "square.jpg").write_bytes(MEDIA.read_bytes())
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\ndefaults: {platforms: [twitter, bluesky]}\nbatches:\n"
        "  - {id: a, caption: 'hello 日本', at: '2030-07-01 09:00', media: [square.jpg]}\n"
        "  - {id: b, caption: second}\n"
    )
    return expand(load_campaign(path))


def record(delivery: Delivery, status: DeliveryStatus, **changes: object) -> DeliveryRecord:
    fields = {
        "key": delivery.key,
        "campaign": delivery.campaign,
        "batch_id": delivery.batch_id,
        "platform": delivery.platform.value,
        "status": status,
        "content_hash": delivery.content_hash,
        "schedule_hash": delivery.schedule_hash,
        "caption": delivery.caption,
        "scheduled_for": delivery.at,
        "updated_at": NOW - timedelta(days=1),
    }
    return DeliveryRecord(**{**fields, **changes})  # type: ignore[arg-type]


def test_every_delivery_gets_one_change(deliveries: list[Delivery]) -> None:
    a_x, a_bsky, b_x, b_bsky = deliveries
    removed = record(
        dataclasses.replace(a_x, key="c/gone/twitter", batch_id="gone"), DeliveryStatus.SCHEDULED
    )
    ledger = Ledger(
        [
            record(a_x, DeliveryStatus.SCHEDULED, content_hash="old"),  # edited → update
            record(a_bsky, DeliveryStatus.SCHEDULED, schedule_hash="old"),  # moved → update
            record(b_x, DeliveryStatus.POSTED, content_hash="old"),  # edited after publishing → conflict
            record(b_bsky, DeliveryStatus.CLAIMED, owner="run-9"),
            removed,
        ]
    )
    plan = make_plan("c", deliveries, ledger, NOW)
    assert [(c.key, c.action, c.reason) for c in plan.changes] == [
        ("c/a/twitter", Action.UPDATE, "content changed"),
        ("c/a/bluesky", Action.UPDATE, "time changed"),
        ("c/b/twitter", Action.CONFLICT, "content changed after it was published"),
        ("c/b/bluesky", Action.IN_FLIGHT, "claimed by run-9"),
        ("c/gone/twitter", Action.CANCEL, "its batch was removed"),
    ]
    assert plan.has_changes
    assert make_plan("c", deliveries, ledger, NOW, include_cancels=False).of(Action.CANCEL) == []


def test_creates_unchanged_and_the_caption_length_in_the_platform_unit(deliveries: list[Delivery]) -> None:
    ledger = Ledger([record(d, DeliveryStatus.POSTED) for d in deliveries[2:]])
    plan = make_plan("c", deliveries, ledger, NOW)
    assert [c.action for c in plan.changes] == [
        Action.CREATE,
        Action.CREATE,
        Action.UNCHANGED,
        Action.UNCHANGED,
    ]
    x_length = plan.changes[0].length
    assert x_length is not None and (x_length.length, x_length.limit, x_length.unit) == (
        10,
        280,
        "x_weighted",
    )
    bsky = plan.changes[1].length
    assert bsky is not None and (bsky.length, bsky.limit, bsky.unit) == (8, 300, "graphemes")
    all_posted = Ledger([record(d, DeliveryStatus.POSTED) for d in deliveries])
    assert not make_plan("c", deliveries, all_posted, NOW).has_changes


def test_a_saved_plan_round_trips(deliveries: list[Delivery], tmp_path: Path) -> None:
    ledger = Ledger(
        [record(deliveries[0], DeliveryStatus.SCHEDULED, content_hash="old", attempted_providers=("pfm",))]
    )
    plan = make_plan("c", deliveries, ledger, NOW)
    restored = plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))
    assert restored == plan
    assert restored.changes[0].record == ledger.records["c/a/twitter"]
    assert restored.changes[0].delivery.media[0].path == deliveries[0].media[0].path  # type: ignore[union-attr]
    save_plan(plan, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json") == plan


def test_a_hand_edited_plan_is_refused(deliveries: list[Delivery]) -> None:
    data = plan_to_dict(make_plan("c", deliveries, Ledger(), NOW))
    data["changes"][0]["delivery"]["caption"] = "something else entirely"
    with pytest.raises(PlanError, match="content_hash does not match"):
        plan_from_dict(data)
    with pytest.raises(PlanError, match="not a postdeck plan"):
        plan_from_dict({"format": "other"})


def test_a_plan_goes_stale_when_the_ledger_moves(deliveries: list[Delivery]) -> None:
    ledger = Ledger([record(deliveries[0], DeliveryStatus.SCHEDULED)])
    plan = make_plan("c", deliveries, ledger, NOW)
    check_plan_is_current(plan, ledger)
    check_plan_is_current(plan_from_dict(plan_to_dict(plan)), ledger)
    ledger.records["c/b/twitter"] = record(deliveries[2], DeliveryStatus.CLAIMED, owner="another-run")
    with pytest.raises(StalePlanError, match="changed since this plan was made"):
        check_plan_is_current(plan, ledger)


def test_a_status_change_alone_makes_it_stale(deliveries: list[Delivery]) -> None:
    ledger = Ledger([record(deliveries[0], DeliveryStatus.SCHEDULED)])
    plan = make_plan("c", deliveries, ledger, NOW)
    ledger.records["c/a/twitter"] = record(deliveries[0], DeliveryStatus.POSTED)
    with pytest.raises(StalePlanError):
        check_plan_is_current(plan, ledger)


def test_a_cancelled_delivery_the_file_still_has_is_wanted_again_under_its_next_generation(
    deliveries: list[Delivery],
) -> None:
    a_x, a_bsky, b_x, b_bsky = deliveries
    ledger = Ledger(
        [
            record(a_x, DeliveryStatus.CANCELLED, error="its batch was removed"),  # a removal, reverted
            record(a_bsky, DeliveryStatus.CANCELLED),  # cancelled from the CLI
            record(b_x, DeliveryStatus.CANCELLED, keep_cancelled=True),  # ... and pinned so
            record(b_bsky, DeliveryStatus.CANCELLED),
            record(dataclasses.replace(b_bsky, key="c/b/bluesky#1"), DeliveryStatus.CANCELLED),
            record(dataclasses.replace(b_bsky, key="c/b/bluesky#2"), DeliveryStatus.SCHEDULED),
        ]
    )
    plan = make_plan("c", deliveries, ledger, NOW)
    assert [(c.key, c.action) for c in plan.changes] == [
        ("c/a/twitter#1", Action.CREATE),
        ("c/a/bluesky#1", Action.DRIFT),
        ("c/b/twitter", Action.UNCHANGED),
        ("c/b/bluesky#2", Action.UNCHANGED),  # the latest generation is the current one: no cancel
    ]
    create, drift, kept, _ = plan.changes
    assert create.reason == "its batch was removed, then put back: created again as generation 1"
    assert create.delivery.key == "c/a/twitter#1" and create.delivery.content_hash == a_x.content_hash
    assert (
        "postdeck cancel c/a/bluesky --keep-cancelled" in drift.reason
        and drift.delivery.key == "c/a/bluesky#1"
    )
    assert kept.reason == "cancelled, and kept so (postdeck cancel --keep-cancelled)"


def test_a_removed_batch_cancels_its_latest_generation(deliveries: list[Delivery]) -> None:
    a_x = deliveries[0]
    gone = dataclasses.replace(a_x, key="c/gone/twitter", batch_id="gone")
    ledger = Ledger(
        [
            record(gone, DeliveryStatus.CANCELLED, error="its batch was removed"),
            record(dataclasses.replace(gone, key="c/gone/twitter#1"), DeliveryStatus.SCHEDULED),
        ]
    )
    plan = make_plan("c", deliveries, ledger, NOW)
    assert [(c.key, c.reason) for c in plan.of(Action.CANCEL)] == [
        ("c/gone/twitter#1", "its batch was removed")
    ]
