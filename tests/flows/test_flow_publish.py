"""The publish-campaign flow on a real Prefect API, against the sandbox simulators over loopback."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.sqlite import SqliteLedger
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("prefect_api")

EXAMPLE = str(REPO / "campaigns/example.yaml")


def sandbox_creates(state: Path) -> int:
    """Creates counted by both simulators (their state persists in the sandbox directory)."""
    total = 0
    for name in ("postforme.json", "late.json"):
        path = state / "sandbox" / name
        if path.exists():
            total += json.loads(path.read_text())["create_calls"]
    return total


def test_example_publishes_every_delivery_once_and_a_second_run_creates_nothing(
    isolated_postdeck: Path,
) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    reports = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert len(reports) == 18
    assert {(r["action"], r["status"]) for r in reports} == {("sent", "posted")}
    assert all(r["url"] and r["url"].startswith("https://") for r in reports)
    creates = sandbox_creates(isolated_postdeck)
    assert creates == 3  # one provider post per batch, carrying all of its platforms

    again = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert {(r["action"], r["status"]) for r in again} == {("unchanged", "posted")}
    assert sandbox_creates(isolated_postdeck) == creates

    ledger = SqliteLedger()
    records = ledger.deliveries("example")
    assert len(records) == 18 and {r.status for r in records} == {DeliveryStatus.POSTED}
    assert {r.provider for r in records} == {"postforme"}


def test_publish_without_keys_or_sandbox_fails_clearly_and_records_nothing(
    isolated_postdeck: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from postdeck.cli import main

    monkeypatch.setattr(sys, "argv", ["postdeck", "publish", EXAMPLE])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert "No social posting credentials configured" in capsys.readouterr().err
    assert SqliteLedger().deliveries("example") == []
    assert sandbox_creates(isolated_postdeck) == 0


def test_the_ui_shows_the_run_and_one_task_run_per_batch_named_after_it(isolated_postdeck: Path) -> None:
    """What the Prefect UI lists, read back from the server: the flow run named after the campaign
    and the commit, and one task run per batch named after the batch."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    state = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True), return_state=True)
    flow_run_id = state.state_details.flow_run_id
    batches = sorted({f"batch-{d.batch_id}" for d in expand(load_campaign(Path(EXAMPLE)))})
    only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    names: list[str] = []
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run_id).name.startswith("publish-example@")
        deadline = time.monotonic() + 60  # the server records task runs from their events, a moment later
        while len(names) < len(batches) and time.monotonic() < deadline:
            names = sorted(run.name for run in client.read_task_runs(flow_run_filter=only_this_run))
            time.sleep(0.2)
    assert names == batches and len(batches) == 3


def test_a_run_with_a_refused_delivery_is_failed_in_prefect_and_says_how_many(box, tmp_path: Path) -> None:
    """A platform refuses one delivery's content: its batch task and the flow run end Failed (so the
    UI's state filters and automations see it), the message counts what happened, and the rows
    still come back with the state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.sandbox.faults import FaultPlan, FaultRule

    path = tmp_path / "refused.yaml"
    path.write_text(
        "name: refused\ntimezone: UTC\nbatches:\n"
        "  - {id: hello, platforms: [twitter, bluesky], caption: 'Hello there'}\n"
        "  - {id: again, platforms: [linkedin], caption: 'Hello again'}\n"
    )
    refuse = FaultRule(kind="partial", platforms=("bluesky",), reason="content", ops=None, count=1)
    box.postforme.faults.set_plan(FaultPlan(seed=1, rules=(refuse,)))

    state = publish_campaign(params=PublishParams(campaign=str(path), sandbox=True), return_state=True)
    reports = state.result(raise_on_failure=False)

    assert state.is_failed() and state.message == "3 deliveries: 1 failed, 2 posted"
    assert {(r["key"], r["status"]) for r in reports} == {
        ("refused/hello/twitter", "posted"),
        ("refused/hello/bluesky", "failed"),
        ("refused/again/linkedin", "posted"),
    }
    only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    states: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 60  # task runs are recorded from their events, a moment later
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=only_this_run)
            states = {run.name: run.state.type.value for run in runs if run.state and run.state.is_final()}
            if len(states) == 2:
                break
            time.sleep(0.2)
    assert states == {"batch-hello": "FAILED", "batch-again": "COMPLETED"}


def _cli_publish(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    from postdeck.cli import main

    monkeypatch.setattr(sys, "argv", ["postdeck", "publish", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_the_cli_exits_1_and_says_failed_when_a_delivery_is_refused(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from postdeck.sandbox.faults import FaultPlan, FaultRule

    path = tmp_path / "refused.yaml"
    path.write_text(
        "name: refused\ntimezone: UTC\nbatches:\n  - {id: hello, platforms: [bluesky], caption: Hi}\n"
    )
    refuse = FaultRule(kind="partial", platforms=("bluesky",), reason="content", ops=None, count=1)
    box.postforme.faults.set_plan(FaultPlan(seed=1, rules=(refuse,)))
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 1
    out = capsys.readouterr().out
    assert "1 delivery: 1 failed" in out and "sent" not in out.splitlines()[-1]


def test_the_cli_exits_1_while_another_live_run_holds_a_delivery(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A delivery claimed by a live run is unresolved in this one: exit 1, never a quiet 0."""
    from datetime import UTC, datetime

    from postdeck.engine.publisher import claim_request
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    path = tmp_path / "held.yaml"
    path.write_text(
        "name: held\ntimezone: UTC\nbatches:\n  - {id: hello, platforms: [bluesky], caption: Hi}\n"
    )
    (delivery,) = expand(load_campaign(path))
    SqliteLedger().claim(
        claim_request(delivery), owner="flow-run:other", lease_seconds=600, now=datetime.now(UTC)
    )
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 1
    assert "1 delivery: 1 in-flight" in capsys.readouterr().out  # the plan saw the claim first
    assert box.postforme.create_calls + box.late.create_calls == 0


def test_the_flow_renders_the_campaign_once(isolated_postdeck: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation renders every delivery; the flow publishes those, instead of rendering them all again."""
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.schemas import expansion, validation

    calls: list[str] = []
    real = expansion.expand_all

    def counting(*args, **kwargs):
        calls.append("expand_all")
        return real(*args, **kwargs)

    monkeypatch.setattr(expansion, "expand_all", counting)
    monkeypatch.setattr(validation, "expand_all", counting)
    reports = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True, dry_run=True))
    assert len(reports) == 18 and calls == ["expand_all"]


def test_a_run_leaves_a_link_per_posted_url_and_a_finished_progress_artifact(isolated_postdeck: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    state = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True), return_state=True)
    reports = state.result()
    this_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=this_run)
    links = sorted(a.data for a in artifacts if a.type == "markdown" and a.data.startswith("["))
    progress = [a.data for a in artifacts if a.type == "progress"]
    assert links == sorted(f"[{r['batch_id']} / {r['platform']}]({r['url']})" for r in reports)
    assert len(links) == 18 and progress == [100.0]


def test_publish_output_survives_a_pipe_and_has_a_json_form(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped (as in tests), one tab-separated line per delivery with its URL whole; --format json is
    one document with the verdict."""
    path = tmp_path / "piped.yaml"
    path.write_text(
        "name: piped\ntimezone: UTC\nbatches:\n  - {id: hello, platforms: [bluesky, twitter], caption: Hi}\n"
    )
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 0
    lines = capsys.readouterr().out.splitlines()
    header, *rows = [line.split("\t") for line in lines if "\t" in line]
    assert lines[0] == "# deliveries"
    assert header == ["batch", "platform", "action", "status", "provider", "url / error"]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("hello", "bluesky", "sent", "posted"),
        ("hello", "twitter", "sent", "posted"),
    ]
    assert all(r[5].startswith("https://") for r in rows) and lines[-1] == "2 deliveries: 2 posted"

    assert _cli_publish(monkeypatch, str(path), "--sandbox", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True and document["summary"] == "2 deliveries: 2 unchanged"
    assert [d["action"] for d in document["deliveries"]] == ["unchanged", "unchanged"]


def test_a_watcher_in_this_process_sees_each_batch_as_it_finishes(isolated_postdeck: Path) -> None:
    from postdeck.engine.progress import watching
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    seen: list[tuple[int, int, str]] = []
    with watching(lambda done, total, batch: seen.append((done, total, batch))):
        reports = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    batches = list(dict.fromkeys(r["batch_id"] for r in reports))
    assert len(batches) == 3
    assert seen == [(n, 3, batch) for n, batch in enumerate(batches, start=1)]


def test_publish_on_a_terminal_draws_live_progress_on_stderr_and_not_when_piped(
    box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from rich.console import Console

    from postdeck.commands import _support

    path = tmp_path / "live.yaml"
    path.write_text(
        "name: live\ntimezone: UTC\nbatches:\n"
        "  - {id: first, platforms: [bluesky], caption: One}\n"
        "  - {id: second, platforms: [bluesky], caption: Two}\n"
    )
    terminal = io.StringIO()
    monkeypatch.setattr(_support, "err_console", Console(file=terminal, force_terminal=True, width=100))
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 0
    drawn = terminal.getvalue()
    assert "2/2" in drawn and "second" in drawn  # the last batch done, of two
    assert "2/2" not in capsys.readouterr().out  # stdout keeps only the report

    piped = io.StringIO()
    monkeypatch.setattr(_support, "err_console", Console(file=piped, force_terminal=False, width=100))
    path.write_text(path.read_text().replace("name: live", "name: piped-live"))
    assert _cli_publish(monkeypatch, str(path), "--sandbox") == 0
    assert "/2" not in piped.getvalue()


def test_a_ledger_deleted_after_a_publish_refuses_the_next_one_until_rebuilt(isolated_postdeck: Path) -> None:
    """Issue 18, A: the ledger file deleted, the next publish sent every posted delivery again."""
    from typer.testing import CliRunner

    from postdeck.cli import app
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.ledger.journal_guard import LedgerLostDeliveries

    publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    creates = sandbox_creates(isolated_postdeck)
    (isolated_postdeck / "ledger.db").unlink()

    with pytest.raises(LedgerLostDeliveries, match="does not have 18 deliveries"):
        publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert sandbox_creates(isolated_postdeck) == creates

    rebuilt = CliRunner().invoke(app, ["ledger", "rebuild", "--campaign", "example"])
    assert rebuilt.exit_code == 0 and "18 deliveries restored" in rebuilt.output, rebuilt.output
    again = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert {(r["action"], r["status"]) for r in again} == {("unchanged", "posted")}
    assert sandbox_creates(isolated_postdeck) == creates


def test_a_ledger_lost_with_its_journal_is_found_out_by_the_providers_posts_and_rebuilt_from_them(
    isolated_postdeck: Path,
) -> None:
    """Issue 18, A: a new machine (no ledger, no journal) would publish the campaign again."""
    from typer.testing import CliRunner

    from postdeck.cli import app
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.ledger.journal_guard import LedgerLostDeliveries

    publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    creates = sandbox_creates(isolated_postdeck)
    for name in ("ledger.db", "journal.jsonl", "journal.known.jsonl"):
        (isolated_postdeck / name).unlink(missing_ok=True)

    with pytest.raises(LedgerLostDeliveries, match="postforme already has 3 of its posts"):
        publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert sandbox_creates(isolated_postdeck) == creates

    rebuilt = CliRunner().invoke(app, ["ledger", "rebuild", "--from-providers", EXAMPLE, "--sandbox"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "18 deliveries restored from the providers" in rebuilt.output
    records = SqliteLedger().deliveries("example")
    assert len(records) == 18 and {r.status for r in records} == {DeliveryStatus.POSTED}
    assert all(r.url and r.post_key and r.attempted_providers for r in records)
    again = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert {(r["action"], r["status"]) for r in again} == {("unchanged", "posted")}
    assert sandbox_creates(isolated_postdeck) == creates


def test_a_first_publish_refuses_while_a_providers_post_list_cannot_be_read(
    isolated_postdeck: Path, box
) -> None:
    """Issue 18: with PostForMe's list unreadable, the census counted it as "none of the campaign's
    posts there", and a first publish into a lost ledger sent again what PostForMe already had."""
    from postdeck.engine.provider_census import CensusIncomplete
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign
    from postdeck.sandbox.faults import FaultPlan, FaultRule

    box.postforme.faults.set_plan(FaultPlan(rules=(FaultRule(kind="status", status=503, ops=("list",)),)))
    with pytest.raises(CensusIncomplete, match=r"postforme:\S+: .*Nothing was sent.*when it is reachable"):
        publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert box.postforme.create_calls + box.late.create_calls == 0
    assert SqliteLedger().deliveries("example") == []  # nothing claimed either

    box.postforme.faults.set_plan(FaultPlan())
    reports = publish_campaign(params=PublishParams(campaign=EXAMPLE, sandbox=True))
    assert {(r["action"], r["status"]) for r in reports} == {("sent", "posted")}
