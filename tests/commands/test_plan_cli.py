"""`postdeck validate` and `postdeck plan` from the command line: output, formats, exit codes, and
start-up cost (no Prefect, no provider client, no HTTP library)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan_file import load_plan
from postdeck.ledger.records import ClaimRequest
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def campaign(folder: Path, caption: str = "hello") -> Path:
    path = folder / "c.yaml"
    path.write_text(
        f"name: c\nbatches:\n  - {{id: a, caption: '{caption}', platforms: [bluesky, twitter]}}\n"
    )
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_validate_exit_codes_and_located_errors(tmp_path: Path) -> None:
    good = campaign(tmp_path)
    assert invoke("validate", str(good)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: c-bad\nbatches:\n  - {id: a, caption: hi, platforms: [bluesky], colour: red}\n")
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1
    assert f"{bad}:3:" in result.output and "colour: unknown field" in result.output
    assert "2 campaign file(s): 1 valid, 1 invalid" in result.output
    assert invoke("validate", str(tmp_path / "missing.yaml")).exit_code == 1


def test_validate_skips_template_folders(tmp_path: Path) -> None:
    campaign(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "not-a-campaign.yaml").write_text("just: a fragment\n")
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 0 and "1 campaign file(s)" in result.output


def test_plan_detailed_exit_codes(tmp_path: Path) -> None:
    path = campaign(tmp_path)
    assert invoke("plan", str(path)).exit_code == 0
    assert invoke("plan", str(path), "--detailed-exitcode").exit_code == 2
    ledger = SqliteLedger()
    now = datetime.now(UTC)
    for d in expand(load_campaign(path)):
        request = ClaimRequest(
            d.key, d.campaign, d.batch_id, d.platform.value, d.content_hash, d.schedule_hash, d.caption, d.at
        )
        ledger.claim(request, owner="test", lease_seconds=60, now=now)
        ledger.record(d.key, Outcome(DeliveryStatus.POSTED, provider="test"), owner="test", now=now)
    assert invoke("plan", str(path), "--detailed-exitcode").exit_code == 0
    campaign(tmp_path, caption="x" * 400)  # invalid now: Bluesky's 300 graphemes
    result = invoke("plan", str(path), "--detailed-exitcode")
    assert result.exit_code == 1 and "400 graphemes" in result.output


def test_plan_formats_show_caption_length_media_and_time(tmp_path: Path) -> None:
    path = campaign(tmp_path, caption="hello | world")
    markdown = invoke("plan", str(path), "--format", "markdown").stdout
    assert "### postdeck plan: `c`" in markdown and "**2 create**" in markdown
    assert "| **create** | `a` | bluesky | now | hello \\| world | 13/300 graphemes |" in markdown
    data = json.loads(invoke("plan", str(path), "--format", "json").stdout)
    assert data["summary"] == {"create": 2}
    twitter = next(c for c in data["changes"] if c["platform"] == "twitter")
    assert twitter["length"] == {"length": 13, "limit": 280, "unit": "x_weighted"}
    assert twitter["delivery"]["caption"] == "hello | world"
    table = invoke("plan", str(path)).stdout
    assert "13/280" in table and "create" in table


def test_a_piped_plan_is_one_tab_separated_line_per_change_and_urls_stay_whole(tmp_path: Path) -> None:
    """Piped (a CI log, `| grep`), rich would fold a table into 80 columns, a character a line."""
    url = "https://northside-roasters.example/spring/2030/a-very-long-path-that-would-fold"
    path = campaign(tmp_path, caption=f"Spring is here, with a long caption that a narrow table folds {url}")
    lines = invoke("plan", str(path)).stdout.splitlines()
    assert lines[0].startswith("# plan ") and lines[0].endswith(": c (2 create)")
    assert lines[1].split("\t") == [
        "action",
        "batch",
        "platform",
        "when (UTC)",
        "caption",
        "length",
        "media",
        "note",
    ]
    rows = {row.split("\t")[2]: row.split("\t") for row in lines[2:]}
    assert set(rows) == {"bluesky", "twitter"} and len(lines) == 4
    assert rows["twitter"][:4] == ["create", "a", "twitter", "now"] and rows["twitter"][4].endswith(url)
    assert rows["twitter"][5].endswith("/280 weighted")


def test_on_a_terminal_the_plan_is_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from postdeck.commands import common

    screen = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=screen, force_terminal=True, width=160))
    invoke("plan", str(campaign(tmp_path)))
    drawn = screen.getvalue()
    assert "┏━" in drawn and "action" in drawn and "\t" not in drawn


def test_plan_out_saves_a_loadable_plan(tmp_path: Path) -> None:
    path = campaign(tmp_path)
    out = tmp_path / "plan.json"
    assert invoke("plan", str(path), "--out", str(out), "--format", "json").exit_code == 0
    plan = load_plan(out)
    assert plan.campaign == "c" and len(plan.changes) == 2 and plan.ledger_fingerprint


def test_schema_command_checks_the_committed_schema() -> None:
    result = invoke("schema", "--check")
    assert result.exit_code == 0 and "up to date" in result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["validate", "campaigns/"], ["plan", "campaigns/example.yaml", "--format", "json"]]
)
def test_validate_and_plan_start_without_prefect_or_provider_clients(command: list[str]) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "postdeck.cli", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "postdeck.schemas.validation" in modules  # the check above really ran the command
    forbidden = (
        "prefect",
        "httpx",
        "postdeck.providers.postforme",
        "postdeck.providers.late",
        "postdeck.flows",
    )
    assert not [m for m in modules if m.split(".")[0] in forbidden or m.startswith(forbidden)]


def past_campaign(folder: Path, late: str | None = None) -> Path:
    path = folder / "c.yaml"
    policy = f"late: {late}\n" if late else ""
    path.write_text(
        "name: c\ntimezone: UTC\n" + policy + "batches:\n"
        "  - {id: a, at: '2020-01-01 09:00', caption: hello, platforms: [bluesky, twitter]}\n"
        "  - {id: b, at: '2099-01-01 09:00', caption: later, platforms: [bluesky]}\n"
    )
    return path


def test_a_past_time_under_late_fail_fails_validate_and_plan(tmp_path: Path) -> None:
    path = past_campaign(tmp_path)  # `late: fail` is the default
    checked = invoke("validate", str(path))
    assert checked.exit_code == 1 and "batch 'a' was due at 2020-01-01T09:00:00+00:00" in checked.output
    assert f"{path}:4:17: batches[0].at:" in checked.output and "late: skip" in checked.output
    planned = invoke("plan", str(path))
    assert planned.exit_code == 1 and "create" in planned.stdout  # the plan is shown, then the error
    assert "batch 'a' was due at" in planned.output
    data = invoke("plan", str(path), "--format", "json")
    assert data.exit_code == 1 and json.loads(data.stdout)["summary"] == {"create": 3}
    # Another policy decides otherwise: nothing fails.
    for late in ("skip", "publish_now"):
        past_campaign(tmp_path, late)
        assert invoke("validate", str(path)).exit_code == 0, late
        assert invoke("plan", str(path)).exit_code == 0, late


def test_a_past_batch_already_in_the_ledger_passes(tmp_path: Path) -> None:
    path = past_campaign(tmp_path)
    ledger, now = SqliteLedger(), datetime.now(UTC)
    for d in expand(load_campaign(path)):
        if d.batch_id == "a":  # published when it was due
            request = ClaimRequest(
                d.key,
                d.campaign,
                d.batch_id,
                d.platform.value,
                d.content_hash,
                d.schedule_hash,
                d.caption,
                d.at,
            )
            ledger.claim(request, owner="test", lease_seconds=60, now=now)
            ledger.record(d.key, Outcome(DeliveryStatus.POSTED, provider="test"), owner="test", now=now)
    assert invoke("validate", str(path)).exit_code == 0
    assert invoke("plan", str(path)).exit_code == 0


def test_a_piped_cell_that_looks_like_markup_is_printed_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.table import Table
    from rich.text import Text

    from postdeck.commands import tables

    printed = io.StringIO()
    monkeypatch.setattr(tables.sys, "stdout", printed)
    table = Table(title="t")
    table.add_column("error")
    table.add_row(Text("pip install 'postdeck[video]'"))
    table.add_row("[Errno 2] closing a[/b] that never opened")
    table.add_row("[green]brewing[/green] :coffee: as written")
    tables.print_table(table)
    assert printed.getvalue().splitlines()[2:] == [
        "pip install 'postdeck[video]'",
        "[Errno 2] closing a[/b] that never opened",
        "brewing :coffee: as written",
    ]
