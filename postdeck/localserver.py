"""One local Prefect server for local runs, started on first use and reused, instead of a temporary
server (with its database migrations) per command.

Its state lives under `.postdeck/server/` (or POSTDECK_SERVER_DIR): `server.json` (pid, port, home),
`server.log`, and the Prefect home it runs with. A server whose process is gone, or that no longer
answers, is detected and replaced. This module imports nothing of Prefect: it drives the `prefect`
command in a child process, so a command that fails before its flow pays for no Prefect import.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from postdeck.errors import MissingExtra, PostdeckError

START_TIMEOUT = 180.0  # the first start migrates a new database: long on a slow machine


class ServerError(PostdeckError):
    """The local Prefect server could not be started or reached."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    home: str

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def state_dir() -> Path:
    from postdeck.settings import settings

    return settings().server_dir.resolve()


def _state_file() -> Path:
    return state_dir() / "server.json"


def current() -> ServerInfo | None:
    """The recorded server if its process is alive and it answers; else None (a stale record is removed)."""
    try:
        info = ServerInfo(**json.loads(_state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if _alive(info.pid) and healthy(info.api_url):
        return info
    if not _alive(info.pid):
        _state_file().unlink(missing_ok=True)
    return None


def ensure_running() -> tuple[ServerInfo, bool]:
    """The running server, starting one if none answers; and whether it was started now."""
    info = current()
    if info is not None:
        return info, False
    stale = _recorded()
    if stale is not None and _alive(stale.pid):  # alive but not answering: replace it
        _terminate(stale.pid)
    return start(), True


def start() -> ServerInfo:
    MissingExtra.require("prefect", extra="prefect", needed_for="the local Prefect server")
    folder = state_dir()
    home = folder / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("PREFECT_API_URL", None)
    with (folder / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives this command; `postdeck server stop` ends its group
        )
    info = ServerInfo(pid=process.pid, port=port, home=str(home))
    _state_file().write_text(json.dumps(asdict(info)))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _state_file().unlink(missing_ok=True)
            raise ServerError(f"the local Prefect server exited at start; see {folder / 'server.log'}")
        if healthy(info.api_url):
            return info
        time.sleep(0.25)
    _terminate(process.pid)
    _state_file().unlink(missing_ok=True)
    raise ServerError(
        f"the local Prefect server did not answer within {START_TIMEOUT:.0f} s; see {folder / 'server.log'}"
    )


def stop() -> ServerInfo | None:
    """Stop the recorded server (its whole process group); the record is removed. None if none ran."""
    info = _recorded()
    _state_file().unlink(missing_ok=True)
    if info is None or not _alive(info.pid):
        return None
    _terminate(info.pid)
    return info


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as reply:
            return reply.status == 200
    except OSError:
        return False


def _recorded() -> ServerInfo | None:
    try:
        return ServerInfo(**json.loads(_state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process counts as gone.
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _terminate(pid: int, grace: float = 15.0) -> None:
    """SIGINT to the group (Prefect shuts its services down cleanly), SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
