"""Starting, watching and killing the worker processes of the chaos test, and taking the ledger away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.chaos.campaign import REPO


@dataclass
class Worker:
    """One `python -m tests.chaos.driver` process; its output goes to a file of its own."""

    owner: str
    process: subprocess.Popen[bytes]
    log: Path
    killed: bool = False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.killed = True

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_worker(campaign: Path, owner: str, env: dict[str, str], logs: Path, **options: float) -> Worker:
    args = [sys.executable, "-m", "tests.chaos.driver", str(campaign), "--owner", owner]
    for name, value in options.items():
        args += [f"--{name}", str(value)]
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{owner}.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(args, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return Worker(owner, process, log)


def wait_until(condition: Callable[[], bool], worker: Worker, timeout: float) -> bool:
    """Poll until `condition` holds (True) or the worker ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if not worker.alive():
            return False
        time.sleep(0.01)
    return False


@dataclass
class LedgerOutage:
    """Makes the ledger's folder unavailable: moved away, and a plain file put in its place.

    Every connection then fails to open (chmod would not stop root), and opening the ledger anew
    cannot quietly create an empty database there (mkdir meets the file). `restore` puts it back.
    """

    folder: Path
    windows: list[tuple[float, float]] = field(default_factory=list)
    _started: float | None = None

    @property
    def away(self) -> Path:
        return self.folder.with_name(self.folder.name + ".away")

    def start(self) -> None:
        self.folder.rename(self.away)
        self.folder.write_text("the ledger is unavailable\n")
        self._started = time.monotonic()

    def restore(self) -> None:
        assert self._started is not None
        self.folder.unlink()
        self.away.rename(self.folder)
        self.windows.append((self._started, time.monotonic()))
        self._started = None


def worker_env(ledger: Path, journal: Path, postforme_url: str, late_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTFORME_", "LATE_", "SUPABASE_"))}
    env.update(
        POSTDECK_LEDGER=str(ledger),
        POSTDECK_JOURNAL=str(journal),
        POSTDECK_SANDBOX_POSTFORME_URL=postforme_url,
        POSTDECK_SANDBOX_LATE_URL=late_url,
        PYTHONUNBUFFERED="1",
    )
    return env
