"""`postdeck preview --serve` over real HTTP on 127.0.0.1: serves the site, rebuilds it when the
campaign changes or the ledger does (a publish in another terminal), keeps the last good build when
the campaign is broken."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.ledger.records import ClaimRequest, DeliveryRecord
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.preview.generate import generate
from postdeck.preview.serve import PreviewServer

CAMPAIGN = "name: live\ntimezone: Europe/Berlin\nbatches:\n  - {{id: a, at: 2030-03-02 09:00, caption: '{caption}', platforms: [bluesky]}}\n"


def eventually(check: Callable[[], bool], what: str, within: float = 30) -> None:
    """Wait for `check` (the watcher polls): a bound for a hung test, not a timing being tested."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.1)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[PreviewServer, Path, list[str]]]:
    path = tmp_path / "campaigns" / "live.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN.format(caption="first caption"))
    out = tmp_path / "site"
    reader = SqliteLedger()
    generate([path], out, reader)
    said: list[str] = []
    server = PreviewServer(lambda: [path], out, reader, port=0, poll=0.1, say=said.append).start()
    yield server, path, said
    server.stop()


def test_serves_the_site_on_loopback_and_rebuilds_when_the_campaign_changes(served) -> None:
    server, path, said = served
    assert server.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        index = client.get("/")
        assert index.status_code == 200 and "first caption" in index.text
        assert index.headers["cache-control"] == "no-store"
        build = client.get("/version.json").json()["build"]
        assert build in index.text
        path.write_text(CAMPAIGN.format(caption="second caption"))
        eventually(lambda: client.get("/version.json").json()["build"] != build, "a new build")
        assert "second caption" in client.get("/").text and "first caption" not in client.get("/").text
        eventually(lambda: bool(said), "the rebuild said")  # said just after the site is written
        assert said == ["rebuilt: 1 deliveries"]
        assert client.get("/../../etc/passwd").status_code == 404  # only the site's folder is served


def test_a_broken_campaign_keeps_the_last_good_build(served) -> None:
    server, path, said = served
    with httpx.Client(base_url=server.url, timeout=10) as client:
        build = client.get("/version.json").json()["build"]
        path.write_text("name: live\nbatches: [\n")
        eventually(lambda: any(line.startswith("not rebuilt:") for line in said), "a report of the error")
        assert str(path) in said[0]
        assert client.get("/version.json").json()["build"] == build
        path.write_text(CAMPAIGN.format(caption="fixed caption"))
        eventually(lambda: "fixed caption" in client.get("/").text, "the fixed build")


def schedule_it(path: Path, ledger: SqliteLedger) -> None:
    """What a publish does to the campaign's one delivery: claim it, then record it scheduled."""
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    [d] = expand(load_campaign(path))
    now = datetime.now(UTC)
    request = ClaimRequest(
        d.key, d.campaign, d.batch_id, d.platform.value, d.content_hash, d.schedule_hash, d.caption, d.at
    )
    ledger.claim(request, owner="other-terminal", lease_seconds=60, now=now)
    ledger.record(d.key, Outcome(DeliveryStatus.SCHEDULED, provider="late"), owner="other-terminal", now=now)


def card_statuses(client: httpx.Client) -> list[str]:
    return re.findall(r'"status":"([a-z-]+)"', client.get("/").text)


def test_a_publish_elsewhere_rebuilds_the_page_with_the_new_statuses(served) -> None:
    server, path, said = served
    for _ in range(3):  # reading the ledger (the rebuilds' own reads) is no change
        assert server.rebuild_if_changed() is False
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert card_statuses(client) == ["none"]
        schedule_it(path, SqliteLedger())  # another connection to the same file: another terminal
        eventually(lambda: card_statuses(client) == ["scheduled"], "the rebuild with the new status")
        # claimed, then scheduled: one rebuild or two, as the watcher happened to look
        eventually(lambda: bool(said), "the rebuild said")
        assert set(said) == {"rebuilt: 1 deliveries (the ledger changed)"}
    assert server.rebuild_if_changed() is False


class OtherLedger:
    """A ledger that is no local file (Supabase's readers): only its rows can say it changed."""

    def __init__(self, inner: SqliteLedger) -> None:
        self.inner = inner
        self.reads = 0
        self.down: Exception | None = None

    def get(self, key: str) -> DeliveryRecord | None:
        return self.inner.get(key)

    def deliveries(self, campaign: str) -> list[DeliveryRecord]:
        self.reads += 1
        if self.down is not None:
            raise self.down
        return self.inner.deliveries(campaign)

    def all_deliveries(self, *, status: str | None = None) -> list[DeliveryRecord]:
        return self.inner.all_deliveries(status=status)


def test_a_ledger_that_is_no_file_is_polled_by_its_campaigns_rows(tmp_path: Path) -> None:
    path = tmp_path / "campaigns" / "live.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN.format(caption="remote ledger"))
    ledger = OtherLedger(SqliteLedger())
    out = tmp_path / "campaigns" / "site"  # inside the campaign's folder: its own writes are no change
    built = generate([path], out, ledger)
    said: list[str] = []
    server = PreviewServer(
        lambda: [path], out, ledger, campaigns=built.campaigns, poll=0.1, ledger_poll=0.2, say=said.append
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            reads = ledger.reads
            eventually(lambda: ledger.reads > reads + 2, "the watcher reading the campaign's rows")
            assert said == []  # rows read, nothing changed: no rebuild
            schedule_it(path, ledger.inner)
            eventually(lambda: card_statuses(client) == ["scheduled"], "the rebuild with the new status")
            eventually(lambda: bool(said), "the rebuild said")  # said just after the site is written
            assert set(said) == {"rebuilt: 1 deliveries (the ledger changed)"}
    finally:
        server.stop()


def test_an_unreadable_ledger_is_said_once_and_the_page_kept(tmp_path: Path) -> None:
    from postdeck.ledger.base import LedgerUnavailable

    path = tmp_path / "campaigns" / "live.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN.format(caption="kept"))
    ledger = OtherLedger(SqliteLedger())
    built = generate([path], tmp_path / "site", ledger)
    said: list[str] = []
    server = PreviewServer(
        lambda: [path], tmp_path / "site", ledger, campaigns=built.campaigns, ledger_poll=0.1, say=said.append
    )
    ledger.down = LedgerUnavailable("the database is down")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            reads = ledger.reads
            eventually(lambda: ledger.reads > reads + 3, "a few polls of the ledger")
            assert said == ["ledger not read: the database is down"]  # once, not once per poll
            assert "kept" in client.get("/").text
            ledger.down = None
            schedule_it(path, ledger.inner)
            eventually(lambda: card_statuses(client) == ["scheduled"], "the rebuild once it is back")
    finally:
        server.stop()


def test_a_taken_port_is_one_clear_error(served) -> None:
    from postdeck.errors import PostdeckError

    server, path, _ = served
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(PostdeckError, match=f"cannot serve the preview on 127.0.0.1:{port}"):
        PreviewServer(lambda: [path], server.out, server.reader, port=port)


@pytest.mark.slow
def test_the_command_serves_until_interrupted(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    path = tmp_path / "live.yaml"
    path.write_text(CAMPAIGN.format(caption="from the command"))
    command = [sys.executable, "-m", "postdeck.cli", "preview", str(path), "--out", str(tmp_path / "site")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*command, "--serve", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        url = lines[1].split()[1]
        assert lines[1].startswith("serving http://127.0.0.1:"), lines
        assert "from the command" in httpx.get(url, timeout=10).text
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
