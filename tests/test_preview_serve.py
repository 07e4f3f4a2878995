"""`postdeck preview --serve` over real HTTP on 127.0.0.1: serves the site, rebuilds it when the
campaign changes, keeps the last good build when the campaign is broken."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

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


def test_a_taken_port_is_one_clear_error(served) -> None:
    from postdeck.errors import PostdeckError

    server, path, _ = served
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(PostdeckError, match=f"cannot serve the preview on 127.0.0.1:{port}"):
        PreviewServer(lambda: [path], server.out, server.reader, port=port)


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
