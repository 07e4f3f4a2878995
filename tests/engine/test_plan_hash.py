"""The reviewed plan's hash (`postdeck plan` shows it, `publish --expect-plan` holds a publish to it):
it covers what each change sends and when, and it holds while a repeating campaign's horizon moves
between review and merge (an occurrence entering the horizon was already in the plan, as a later one)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import Action, Plan, make_plan
from postdeck.engine.plan_checks import plan_hash, plan_shape
from postdeck.engine.plan_file import load_plan, save_plan
from postdeck.ledger.records import DeliveryRecord
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign
from tests.engine.test_plan import Ledger, record

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def deliveries(tmp_path: Path, body: str, head: str = "name: c\ntimezone: UTC\n") -> list[Delivery]:
    path = tmp_path / "c.yaml"
    path.write_text(f"{head}batches:\n{body}", encoding="utf-8")
    return expand(load_campaign(path))


def one_batch(tmp_path: Path, at: str) -> list[Delivery]:
    return deliveries(tmp_path, f"  - {{id: a, platforms: [bluesky], caption: hello, at: '{at}'}}\n")


def test_a_time_edit_after_review_is_another_plan(tmp_path: Path) -> None:
    reviewed = make_plan("c", one_batch(tmp_path, "2030-07-01 09:00"), Ledger(), NOW)
    merged = make_plan("c", one_batch(tmp_path, "2030-07-01 18:00"), Ledger(), NOW)
    assert [c.action for c in merged.changes] == [Action.CREATE]
    assert plan_hash(merged) != plan_hash(reviewed)
    assert plan_shape(merged) != plan_shape(reviewed)  # a saved plan (`publish --plan`) is refused too


def test_an_update_to_another_time_than_reviewed_is_another_plan(tmp_path: Path) -> None:
    scheduled = one_batch(tmp_path, "2030-07-01 09:00")[0]
    ledger = Ledger([record(scheduled, DeliveryStatus.SCHEDULED)])
    reviewed = make_plan("c", one_batch(tmp_path, "2030-07-02 09:00"), ledger, NOW)
    merged = make_plan("c", one_batch(tmp_path, "2030-07-03 09:00"), ledger, NOW)
    assert [c.reason for c in merged.changes] == ["time changed"]
    assert plan_hash(merged) != plan_hash(reviewed)


def weekly(tmp_path: Path, count: int = 12, caption: str = "Tip {{ occurrence }}") -> list[Delivery]:
    return deliveries(
        tmp_path,
        f"  - id: weekly\n    at: 2027-01-04 09:00\n    platforms: [bluesky]\n    caption: '{caption}'\n"
        f"    repeat: {{every: 1w, count: {count}}}\n",
        head="name: c\ntimezone: UTC\nhorizon_days: 10\n",
    )


def test_a_repeating_campaigns_hash_holds_while_an_occurrence_enters_the_horizon(tmp_path: Path) -> None:
    reviewed = make_plan("c", weekly(tmp_path), Ledger(), datetime(2027, 1, 1, tzinfo=UTC))
    merged = make_plan("c", weekly(tmp_path), Ledger(), datetime(2027, 1, 2, tzinfo=UTC))
    assert [c.batch_id for c in reviewed.changes] == ["weekly@2027-01-04"]
    assert [c.batch_id for c in merged.changes] == ["weekly@2027-01-04", "weekly@2027-01-11"]
    assert plan_hash(merged) == plan_hash(reviewed)


def test_a_repeating_campaigns_hash_still_sees_its_rule_and_its_later_captions(tmp_path: Path) -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    reviewed = plan_hash(make_plan("c", weekly(tmp_path), Ledger(), now))
    assert plan_hash(make_plan("c", weekly(tmp_path, count=13), Ledger(), now)) != reviewed
    # Only the occurrences beyond the horizon read differently: still not the reviewed plan.
    later_edit = weekly(tmp_path, caption='Tip {{ occurrence }}{{ "!" if occurrence > 5 else "" }}')
    assert plan_hash(make_plan("c", later_edit, Ledger(), now)) != reviewed


def test_the_later_occurrences_hashes_survive_a_saved_plan(tmp_path: Path) -> None:
    plan = make_plan("c", weekly(tmp_path), Ledger(), datetime(2027, 1, 1, tzinfo=UTC))
    save_plan(plan, tmp_path / "plan.json")
    loaded = load_plan(tmp_path / "plan.json")
    assert isinstance(loaded, Plan) and loaded == plan
    assert plan_hash(loaded) == plan_hash(plan)


def test_a_recorded_occurrence_is_held_to_its_exact_change(tmp_path: Path) -> None:
    """Only fresh occurrence creates are pooled with the later ones; one already recorded (sent
    again after `not_sent`) is a change of its own."""
    now = datetime(2027, 1, 1, tzinfo=UTC)
    first = weekly(tmp_path)[0]
    failed: DeliveryRecord = record(first, DeliveryStatus.NOT_SENT, error="refused")
    plan = make_plan("c", weekly(tmp_path), Ledger([failed]), now)
    assert plan.changes[0].record is not None
    assert plan_hash(plan) != plan_hash(make_plan("c", weekly(tmp_path), Ledger(), now))
