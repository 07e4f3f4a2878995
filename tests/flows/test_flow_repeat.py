"""Repeating batches through the Prefect flows (real Prefect API, simulators over loopback): the
publish flow sends the occurrences within the horizon, the scheduled sync the ones that enter it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.sandbox.sandbox import Sandbox
from tests.flows.test_flow_apply import postforme_posts, publish

pytestmark = pytest.mark.usefixtures("prefect_api")

START = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)


def campaign(folder: Path, repeat: str, horizon: int = 60) -> Path:
    path = folder / "tips.yaml"
    path.write_text(
        f"name: tips\ntimezone: UTC\nhorizon_days: {horizon}\nbatches:\n"
        f"  - {{id: weekly, at: '{START:%Y-%m-%d %H:%M}', platforms: [bluesky, linkedin],"
        f" caption: 'Tip {{{{ occurrence }}}}', repeat: {repeat}}}\n",
        encoding="utf-8",
    )
    return path


def day(n: int) -> str:
    return (START + timedelta(weeks=n)).date().isoformat()


def test_the_publish_flow_sends_each_occurrence_and_a_shorter_rule_cancels_the_rest(
    box: Sandbox, tmp_path: Path
) -> None:
    first = publish(campaign(tmp_path, "{every: 1w, count: 3}"))
    assert {k: (r["action"], r["status"]) for k, r in first.items()} == {
        f"tips/weekly@{day(n)}/{p}": ("sent", "scheduled") for n in range(3) for p in ("bluesky", "linkedin")
    }
    assert sorted(p["caption"] for p in postforme_posts(box).values()) == ["Tip 1", "Tip 2", "Tip 3"]
    second = publish(campaign(tmp_path, "{every: 1w, count: 1}"))
    assert {k: r["action"] for k, r in second.items()} == {
        **{f"tips/weekly@{day(0)}/{p}": "unchanged" for p in ("bluesky", "linkedin")},
        **{f"tips/weekly@{day(n)}/{p}": "cancel" for n in (1, 2) for p in ("bluesky", "linkedin")},
    }
    assert [p["caption"] for p in postforme_posts(box).values()] == ["Tip 1"]


def test_the_sync_flow_publishes_the_occurrences_that_entered_the_horizon(
    box: Sandbox, tmp_path: Path
) -> None:
    from postdeck.flows.sync import sync_post_status

    path = campaign(tmp_path, "{every: 1w, count: 4}", horizon=10)
    first = publish(path)
    assert set(first) == {f"tips/weekly@{day(n)}/{p}" for n in (0, 1) for p in ("bluesky", "linkedin")}
    sync_post_status(sandbox=True, campaigns=str(tmp_path))  # nothing new within 10 days
    assert len(postforme_posts(box)) == 2
    # Time moves the horizon on; here the horizon grows instead (a flow run reads the real clock).
    campaign(tmp_path, "{every: 1w, count: 4}", horizon=17)
    rows = sync_post_status(sandbox=True, campaigns=str(tmp_path))
    assert {(r["key"], r["before"], r["after"]) for r in rows if r["before"] == "planned later"} == {
        (f"tips/weekly@{day(2)}/{p}", "planned later", "scheduled") for p in ("bluesky", "linkedin")
    }
    assert len(postforme_posts(box)) == 3
    assert SqliteLedger().get(f"tips/weekly@{day(2)}/bluesky").status == DeliveryStatus.SCHEDULED
    sync_post_status(sandbox=True, campaigns=str(tmp_path))  # exactly once
    assert len(postforme_posts(box)) == 3


def test_a_campaign_whose_every_occurrence_is_beyond_the_horizon_is_synced_as_they_enter_it(
    box: Sandbox, tmp_path: Path
) -> None:
    from postdeck.flows.sync import sync_post_status

    first = START + timedelta(days=5)
    path = tmp_path / "far.yaml"

    def write(horizon: int) -> None:
        path.write_text(
            f"name: far\ntimezone: UTC\nhorizon_days: {horizon}\nbatches:\n"
            f"  - {{id: weekly, at: '{first:%Y-%m-%d %H:%M}', platforms: [bluesky],"
            " caption: 'Tip {{ occurrence }}', repeat: {every: 1w, count: 2}}\n",
            encoding="utf-8",
        )

    write(horizon=2)
    assert publish(path) == {}  # every occurrence later: nothing sent, the run recorded
    sync_post_status(sandbox=True, campaigns=str(tmp_path))
    assert postforme_posts(box) == {}
    write(horizon=8)  # as if time had moved on: the first occurrence is within the horizon
    rows = sync_post_status(sandbox=True, campaigns=str(tmp_path))
    key = f"far/weekly@{first.date().isoformat()}/bluesky"
    assert [(r["key"], r["before"], r["after"]) for r in rows if r["before"] == "planned later"] == [
        (key, "planned later", "scheduled")
    ]
    assert [p["caption"] for p in postforme_posts(box).values()] == ["Tip 1"]
