"""The publish artifacts stay under Prefect's event size however big the run: the table is cut (the
deliveries needing attention first, then a row counting the rest) and the summary still counts all."""

from __future__ import annotations

import json

import pytest

# postdeck.flows.reports is imported in the tests, not here: it imports Prefect, and each xdist worker of
# `make test-fast` collects every module (Prefect is ~1 s of a worker's start; most never run these).


def reports(n: int, failed: set[int] = frozenset()) -> list[dict]:
    """n deliveries of a posted run (with links), the `failed` ones failed."""
    rows = []
    for i in range(n):
        batch, platform = f"b{i // 4:05d}", ("twitter", "linkedin", "bluesky", "instagram")[i % 4]
        bad = i in failed
        rows.append(
            {
                "key": f"big/{batch}/{platform}",
                "batch_id": batch,
                "platform": platform,
                "action": "sent",
                "status": "failed" if bad else "posted",
                "provider": "postforme",
                "url": None if bad else f"https://example.com/{platform}/posts/{i:06d}",
                "error": "the platform refused the caption" if bad else None,
            }
        )
    return rows


def test_a_small_run_lists_every_delivery_in_order() -> None:
    from postdeck.flows.reports import COLUMNS, table_rows

    small = reports(12, failed={5})
    assert table_rows(small) == [{k: r.get(k) or "" for k in COLUMNS} for r in small]


def test_a_big_run_keeps_the_problems_and_counts_the_rest() -> None:
    from postdeck.flows.reports import MAX_TABLE_ROWS, table_rows

    big = reports(10_000, failed={7, 4_321, 9_999})
    rows = table_rows(big)
    assert len(rows) == MAX_TABLE_ROWS
    listed, last = rows[:-1], rows[-1]
    assert [r["status"] for r in listed].count("failed") == 3  # the last delivery's failure too
    keys = [f"big/{r['batch_id']}/{r['platform']}" for r in listed]
    assert keys == [r["key"] for r in big if r["key"] in set(keys)]  # still in campaign order
    assert last["batch_id"] == f"… {10_000 - (MAX_TABLE_ROWS - 1)} more"
    assert last["status"] == f"posted {10_000 - (MAX_TABLE_ROWS - 1)}"
    assert last["action"] == f"sent {10_000 - (MAX_TABLE_ROWS - 1)}"


def test_the_summary_counts_every_delivery_and_cuts_its_lists() -> None:
    from postdeck.flows.reports import MAX_LISTED, summary_markdown

    big = reports(10_000, failed=set(range(0, 10_000, 20)))  # 500 failures
    text = summary_markdown("big", big)
    assert "10000 deliveries." in text
    assert "| posted | 9500 |" in text and "| failed | 500 |" in text
    assert f"- … and {9_500 - MAX_LISTED} more" in text  # links
    assert f"- … and {500 - MAX_LISTED} more" in text  # needs attention
    assert len(text.encode()) < 100_000


@pytest.mark.usefixtures("prefect_api")
def test_the_artifacts_of_a_10000_delivery_run_reach_the_server_whole() -> None:
    """Created in a flow against a real API; the table artifact's event fits Prefect's 1.5 MB limit."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.settings import get_current_settings

    from postdeck.flows.reports import MAX_TABLE_ROWS, publish_artifacts, table_rows

    big = reports(10_000, failed={3})

    @flow(name="artifact-size")
    def make() -> None:
        publish_artifacts("big-run", big)

    make()
    table = json.dumps(table_rows(big))
    assert len(table.encode()) < get_current_settings().server.events.maximum_size_bytes / 4
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["publish-big-run"]))
        )
    assert found, "the table artifact was not stored"
    data = found[0].data if isinstance(found[0].data, list) else json.loads(found[0].data)
    assert len(data) == MAX_TABLE_ROWS and data[-1]["batch_id"].endswith("more")


def test_a_batch_logs_one_line_and_warns_when_a_delivery_needs_attention() -> None:
    import logging

    from postdeck.engine.publisher import DeliveryReport
    from postdeck.flows.publish import batch_log_line

    def report(platform: str, status: str, error: str | None = None) -> DeliveryReport:
        return DeliveryReport(f"c/b1/{platform}", "b1", platform, "sent", status, "postforme", None, error)

    level, line = batch_log_line([report("twitter", "scheduled"), report("linkedin", "scheduled")])
    assert (level, line) == (logging.INFO, "b1: 2 scheduled via postforme")
    level, line = batch_log_line([report("twitter", "scheduled"), report("bluesky", "failed", "too long")])
    assert level == logging.WARNING
    assert line == "b1: 1 failed, 1 scheduled via postforme. Needs attention: c/b1/bluesky failed: too long"


def test_a_run_whose_every_delivery_failed_never_says_sent() -> None:
    """Every create was attempted (action `sent`) and every one failed: no line may read `3 sent`."""
    from postdeck.engine.publisher import DeliveryReport
    from postdeck.flows.publish import batch_log_line
    from postdeck.flows.reports import summary_markdown

    failed = reports(3, failed={0, 1, 2})
    text = summary_markdown("down", failed)
    assert "3 deliveries: 3 failed." in text and "| failed | 3 |" in text
    assert "sent" not in text
    _, line = batch_log_line(
        [DeliveryReport(**{k: r[k] for k in DeliveryReport.__dataclass_fields__}) for r in failed]
    )
    assert line.startswith("b00000: 3 failed via postforme") and " sent" not in line
