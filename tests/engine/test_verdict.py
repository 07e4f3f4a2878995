"""The words and the verdict of a publish run: what the exit code, the Prefect state and the summary say."""

from __future__ import annotations

import pytest

from postdeck.engine.verdict import verdict


def row(action: str, status: str) -> dict[str, str]:
    return {"action": action, "status": status}


def test_a_run_whose_every_delivery_failed_says_failed_not_sent() -> None:
    outcome = verdict([row("sent", "failed")] * 3)
    assert outcome.summary() == "3 deliveries: 3 failed" and not outcome.ok


@pytest.mark.parametrize(
    ("report", "word"),
    [
        (row("held", "claimed"), "held"),  # another run holds it: unresolved, the exit code says so
        (row("in-flight", "claimed"), "in-flight"),
        (row("not-sent", "claimed"), "not-sent"),
        (row("conflict", "posted"), "conflict"),
        (row("sent", "unknown"), "unknown"),
        (row("unchanged", "failed"), "still failed"),
        (row("recovered", "claimed"), "claimed"),
    ],
)
def test_every_unresolved_delivery_fails_the_run(report: dict[str, str], word: str) -> None:
    outcome = verdict([row("sent", "posted"), report])
    assert not outcome.ok and outcome.unresolved == 1
    assert outcome.summary() == f"2 deliveries: 1 {word}, 1 posted"


def test_posted_scheduled_cancelled_and_unchanged_are_resolved() -> None:
    outcome = verdict(
        [
            row("sent", "posted"),
            row("sent", "scheduled"),
            row("cancel", "cancelled"),
            row("unchanged", "posted"),
        ]
    )
    assert outcome.ok and outcome.summary() == "4 deliveries: 1 cancelled, 1 posted, 1 scheduled, 1 unchanged"


def test_a_dry_run_would_act_and_fails_only_on_what_it_cannot_apply() -> None:
    planned = [row("create", ""), row("update", "scheduled"), row("unchanged", "posted")]
    assert verdict(planned, dry_run=True).ok
    assert (
        verdict(planned, dry_run=True).summary()
        == "3 deliveries: 1 unchanged, 1 would create, 1 would update"
    )
    assert not verdict([*planned, row("conflict", "posted")], dry_run=True).ok


def test_nothing_to_publish_is_fine() -> None:
    assert verdict([]).ok and verdict([]).summary() == "0 deliveries: nothing to publish"
