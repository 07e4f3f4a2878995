"""Test isolation: no test sees the developer's keys, ledger, sandbox state or Prefect home."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from postdeck.sandbox.sandbox import Sandbox

# Before anything imports Prefect: keep its home (which `import prefect` creates) out of the user's.
_PREFECT_HOME = tempfile.mkdtemp(prefix="postdeck-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_PROFILE", None)

REPO = Path(__file__).resolve().parents[1]

# The whole suite's logs, artifacts, exception texts and files are searched for the test keys.
pytest_plugins = ["tests.secret_scan", "tests.prefect_harness"]

_SECRET_ENV = (
    "POSTFORME_API_KEY",
    "POSTFORME_BASE_URL",
    "LATE_API_KEY",
    "LATE_BASE_URL",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_SECRET_KEY",
    "SUPABASE_PUBLISHABLE_KEY",
    "SUPABASE_PLAN_TOKEN",
    "SUPABASE_JWT_SECRET",
    "ENCRYPTION_KEY",
)


@pytest.fixture(autouse=True)
def isolated_postdeck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own ledger, journal, sandbox state, runs folder and rate budgets, and no provider
    keys."""
    for name in _SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("POSTDECK_SANDBOX_RATE_SCALE", raising=False)  # sandbox clients assume no limits
    # Rate budgets are shared in rates/ beside each test's own ledger, never the developer's.
    monkeypatch.delenv("POSTDECK_RATE_DIR", raising=False)
    monkeypatch.delenv("POSTDECK_RATE_PER_PROCESS", raising=False)
    state = tmp_path / "postdeck-state"
    state.mkdir()
    monkeypatch.setenv("POSTDECK_LEDGER", str(state / "ledger.db"))
    monkeypatch.setenv("POSTDECK_SANDBOX_DIR", str(state / "sandbox"))
    monkeypatch.setenv("POSTDECK_JOURNAL", str(state / "journal.jsonl"))
    monkeypatch.setenv("POSTDECK_RUNS_DIR", str(state / "runs"))  # the publish flow's preview sites
    return state


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """Both simulators in-process, state in memory; `--sandbox` (and sandbox=True) finds them."""
    from postdeck.sandbox.sandbox import start_sandbox  # imported here: after PREFECT_HOME is set

    sandbox = start_sandbox(persist=False)
    monkeypatch.setenv("POSTDECK_SANDBOX_POSTFORME_URL", sandbox.postforme_url)
    monkeypatch.setenv("POSTDECK_SANDBOX_LATE_URL", sandbox.late_url)
    yield sandbox
    # What sandbox.stop() does, both servers at once: each takes ~0.1 s to notice it should exit.
    stopping = [threading.Thread(target=s.stop) for s in (sandbox.postforme_server, sandbox.late_server)]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join()


# Marked by what they start, so `make test-fast` can leave them out (`make test` runs everything).
_MARK_BY_FIXTURE = {"prefect_api": "prefect", "pg_server": "postgres"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, mark in _MARK_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)
