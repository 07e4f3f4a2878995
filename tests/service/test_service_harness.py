"""The harness of the service and CLI tests: both simulators in-process over real HTTP (loopback),
wired in through POSTDECK_SANDBOX_POSTFORME_URL / POSTDECK_SANDBOX_LATE_URL as `--sandbox` reads them,
plus a small client that reads what the simulators hold over their own HTTP API.

Other test modules import the fixtures from here. The tests of this module check the harness and
the rule that the sandbox is used only when asked for, never as a fallback.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from postdeck.ledger.factory import open_backend
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox
from postdeck.service import SocialPostingService

USER = "00000000-0000-4000-8000-00000000c0de"


class Sims:
    """What the simulators hold, read over their HTTP API (never through postdeck's clients)."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.pfm = httpx.Client(
            base_url=box.postforme_url, headers={"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
        )
        self.late = httpx.Client(
            base_url=box.late_url, headers={"Authorization": f"Bearer {SANDBOX_LATE_KEY}"}
        )
        self.late_admin = httpx.Client(base_url=box.late_server.url)

    def close(self) -> None:
        for client in (self.pfm, self.late, self.late_admin):
            client.close()

    # --- Post for Me --------------------------------------------------------------------------------

    def pfm_posts(self, **params: Any) -> list[dict[str, Any]]:
        reply = self.pfm.get("/v1/social-posts", params={"limit": 100, **params})
        reply.raise_for_status()
        return reply.json()["data"]

    def pfm_post(self, post_id: str) -> httpx.Response:
        return self.pfm.get(f"/v1/social-posts/{post_id}")

    def pfm_results(self, post_id: str) -> list[dict[str, Any]]:
        reply = self.pfm.get("/v1/social-post-results", params={"post_id": post_id})
        reply.raise_for_status()
        return reply.json()["data"]

    def pfm_accounts(self, **params: Any) -> list[dict[str, Any]]:
        reply = self.pfm.get("/v1/social-accounts", params={"limit": 100, **params})
        reply.raise_for_status()
        return reply.json()["data"]

    def pfm_platforms_of(self, post: dict[str, Any]) -> set[str]:
        return {a["platform"] for a in post["social_accounts"]}

    def pfm_stats(self) -> dict[str, Any]:
        return self.pfm.get("/_sim/stats").json()

    def pfm_configure(self, **settings: Any) -> None:
        self.pfm.post("/_sim/config", json=settings).raise_for_status()

    def pfm_disconnect(self, platform: str) -> None:
        name = "x" if platform == "twitter" else platform
        for account in self.pfm_accounts(platform=name):
            self.pfm.post(f"/v1/social-accounts/{account['id']}/disconnect").raise_for_status()

    # --- LATE -----------------------------------------------------------------------------------------

    def late_posts(self) -> list[dict[str, Any]]:
        reply = self.late.get("/v1/posts", params={"limit": 100})
        reply.raise_for_status()
        return reply.json()["posts"]

    def late_post(self, post_id: str) -> httpx.Response:
        return self.late.get(f"/v1/posts/{post_id}")

    def late_stats(self) -> dict[str, Any]:
        return self.late_admin.get("/_sim/stats").json()

    def late_accounts(self) -> list[dict[str, Any]]:
        return self.late.get("/v1/accounts").json()["accounts"]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None) -> Run:
    """`postdeck ARGS` through its real entry point (one red line for errors, exit codes)."""
    from postdeck.cli import main

    argv, stdin_before = sys.argv, sys.stdin
    sys.argv = ["postdeck", *args]
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv, sys.stdin = argv, stdin_before
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


@pytest.fixture
def sims(box: Sandbox) -> Iterator[Sims]:
    client = Sims(box)
    yield client
    client.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as the working directory: campaigns/, styles.yaml and the posts folder in it."""
    folder = tmp_path / "project"
    (folder / "campaigns").mkdir(parents=True)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("POSTDECK_POSTS_DIR", str(folder / ".postdeck" / "posts"))
    monkeypatch.setenv("ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("POSTDECK_USER", raising=False)
    monkeypatch.setenv("TZ", "UTC")  # the local zone, unless a test says otherwise
    return folder


@pytest.fixture
def service(box: Sandbox, workdir: Path) -> SocialPostingService:
    svc = SocialPostingService(sandbox=True)
    svc.init(None)
    return svc


@pytest.fixture
def ledger(workdir: Path):
    """The configured ledger (the test's own SQLite file), read directly."""
    return open_backend()


def test_sandbox_posts_reach_the_simulators_over_http(
    service: SocialPostingService, sims: Sims, ledger
) -> None:
    result = service.create_post(USER, "harness check", ["twitter"])
    assert result.success, result.error
    (post,) = sims.pfm_posts()
    assert post["caption"] == "harness check" and post["id"] == result.post_id
    assert ledger.get(result.delivery_keys["twitter"]).attempted_providers == ("postforme:sandbox",)


def test_the_sandbox_is_never_a_fallback(box: Sandbox, sims: Sims, workdir: Path) -> None:
    # Not asked for: with no credentials at all, nothing is posted anywhere, and the error says why.
    service = SocialPostingService()
    service.init(None)
    result = service.create_post(USER, "must not reach a simulator", ["twitter"])
    assert not result.success
    assert result.error.startswith("No social posting credentials configured")
    assert sims.pfm_stats()["create_calls"] == 0 and sims.late_stats()["create_calls"] == 0


@pytest.mark.slow
def test_posting_through_the_service_needs_no_prefect(workdir: Path) -> None:
    # The flow's chain takes Prefect concurrency slots; a one-off post must not start a Prefect server.
    script = (
        "import sys\n"
        "from postdeck.sandbox.sandbox import start_sandbox\n"
        "import os\n"
        "box = start_sandbox(persist=False)\n"
        "os.environ['POSTDECK_SANDBOX_POSTFORME_URL'] = box.postforme_url\n"
        "os.environ['POSTDECK_SANDBOX_LATE_URL'] = box.late_url\n"
        "from postdeck.service import SocialPostingService\n"
        "service = SocialPostingService(sandbox=True)\n"
        "result = service.create_post('u', 'no prefect here', ['twitter'])\n"
        "box.stop()\n"
        "print(result.success, 'prefect' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "False"], done.stderr
