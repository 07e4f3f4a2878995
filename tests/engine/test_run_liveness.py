"""The pieces behind a truthful `postdeck runs` (issue 17), without Prefect or providers: a run row
beats while its block runs and ends with its counts or its error; a silent one is shown crashed and
recorded crashed once; `plan --refresh` compares captions word for word."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.engine.runs import is_silent, record_crashed_runs, recorded_run
from postdeck.engine.verdict import verdict
from postdeck.ledger.records import RunSource
from postdeck.ledger.sqlite import SqliteLedger

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.db")


def test_a_recorded_run_beats_while_it_runs_and_ends_with_its_counts(ledger: SqliteLedger) -> None:
    with recorded_run(ledger, "c", source=RunSource(), kind="post", user_id=None, timeout=0.3) as run:
        started = ledger.campaign_runs("c")[0].heartbeat_at
        deadline = time.monotonic() + 5
        while ledger.campaign_runs("c")[0].heartbeat_at == started:
            assert time.monotonic() < deadline, "the run never beat"
            time.sleep(0.02)
        run.outcome = verdict([{"action": "sent", "status": "posted"}])
    [ended] = ledger.campaign_runs("c")
    assert (ended.kind, ended.status, ended.summary) == (
        "post",
        "completed",
        {"deliveries": 1, "unresolved": 0, "outcomes": {"posted": 1}},
    )


def test_a_recorded_run_whose_block_raises_ends_failed_with_the_error(ledger: SqliteLedger) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        recorded_run(ledger, "c", source=RunSource(), kind="retry", user_id=None, timeout=60),
    ):
        raise KeyboardInterrupt("stopped by hand")
    [run] = ledger.campaign_runs("c")
    assert (run.status, run.error) == ("failed", "KeyboardInterrupt: stopped by hand")


def test_only_a_silent_or_dead_run_is_recorded_crashed_and_only_once(ledger: SqliteLedger) -> None:
    silent = ledger.start_campaign_run("c", flow_run_id=None, user_id=None, now=NOW)
    alive = ledger.start_campaign_run("c", flow_run_id="fr-alive", user_id=None, now=NOW)
    dead = ledger.start_campaign_run("c", flow_run_id="fr-dead", user_id=None, now=NOW)
    other = ledger.start_campaign_run("other", flow_run_id=None, user_id=None, now=NOW)
    later = NOW + timedelta(seconds=61)
    ledger.beat_campaign_run(alive, now=later - timedelta(seconds=5))
    ledger.beat_campaign_run(dead, now=later - timedelta(seconds=5))
    found = record_crashed_runs(
        ledger, "c", now=later, timeout=60, crashed=lambda run: run.flow_run_id == "fr-dead"
    )
    assert sorted(r.id for r in found) == sorted([silent, dead])
    runs = {r.id: r for r in ledger.campaign_runs()}
    assert runs[silent].error == (
        "crashed: no heartbeat since 2030-01-01 12:00:00 UTC (the timeout is 60 s);"
        " recorded at 2030-01-01 12:01:01 UTC by the next run of c"
    )
    assert runs[silent].finished_at == NOW
    assert runs[dead].error.startswith("crashed: Prefect says flow run fr-dead crashed (last heartbeat")
    assert runs[dead].finished_at == later - timedelta(seconds=5)
    assert (runs[alive].status, runs[other].status) == ("running", "running")  # another campaign's
    assert record_crashed_runs(ledger, "c", now=later, timeout=60) == []


def test_runs_shows_a_silent_run_crashed_with_when_it_was_last_alive(
    ledger: SqliteLedger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.service.test_service_harness import run_cli

    monkeypatch.setenv("POSTDECK_LEDGER", str(ledger.path))
    monkeypatch.setenv("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT", "60")
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    ledger.start_campaign_run("c", flow_run_id=None, user_id=None, now=long_ago)
    ledger.start_campaign_run("c", flow_run_id=None, user_id=None, now=datetime.now(UTC))
    fresh, silent = run_cli(capsys, "runs", "--format", "json").json()
    assert (fresh["status"], fresh["recorded_status"], fresh["error"]) == ("running", "running", None)
    assert (silent["status"], silent["recorded_status"]) == ("crashed", "running")
    assert datetime.fromisoformat(silent["last_alive"]) == long_ago
    assert silent["error"].startswith(
        f"no heartbeat since {long_ago:%Y-%m-%d %H:%M:%S} UTC (the timeout is 60 s)"
    )
    assert is_silent(ledger.campaign_runs("c")[1], now=datetime.now(UTC), timeout=600) is False


def test_a_caption_differs_only_when_its_words_do() -> None:
    from postdeck.core.platform import Platform
    from postdeck.engine.refresh import _compare
    from postdeck.ledger.records import DeliveryRecord
    from postdeck.providers.base import PostOutcome, TargetResult, TargetStatus

    record = DeliveryRecord("c/a/bluesky", "c", "a", "bluesky", "scheduled", caption="Spring  roast\nis here")

    def held(caption: str | None) -> PostOutcome:
        result = TargetResult(Platform.BLUESKY, "acc", TargetStatus.SCHEDULED, caption=caption)
        return PostOutcome("postforme", "sp_1", (result,))

    assert not _compare(record, held("Spring roast is here "), "postforme").drift  # whitespace only
    assert not _compare(record, held(None), "postforme").drift  # the provider does not say
    edited = _compare(record, held("Summer roast is here"), "postforme")
    assert edited.drift and edited.note == (
        "caption edited at postforme: it says 'Summer roast is here', not the recorded 'Spring roast is here'"
    )
