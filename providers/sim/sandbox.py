"""The sandbox: both simulators on loopback, their state kept under .postdeck/sandbox/.

Used by `--sandbox` and `postdeck sandbox`, and by the tests. It is never a fallback: only an
explicit --sandbox (or sandbox=True) starts it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from postdeck.providers.sim.late_app import LateSim
from postdeck.providers.sim.late_app import create_app as create_late_app
from postdeck.providers.sim.postforme_app import PostForMeSim
from postdeck.providers.sim.postforme_app import create_app as create_postforme_app
from postdeck.providers.sim.server import SandboxServer

SANDBOX_POSTFORME_KEY = "sandbox-postforme-key"
SANDBOX_LATE_KEY = "sandbox-late-key"


def default_state_dir() -> Path:
    return Path(os.environ.get("POSTDECK_SANDBOX_DIR") or ".postdeck/sandbox")


@dataclass
class Sandbox:
    postforme: PostForMeSim
    late: LateSim
    postforme_server: SandboxServer
    late_server: SandboxServer

    @property
    def postforme_url(self) -> str:
        return self.postforme_server.url

    @property
    def late_url(self) -> str:
        return self.late_server.url + "/api"

    def stop(self) -> None:
        self.postforme_server.stop()
        self.late_server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    state_dir: Path | None = None,
    *,
    postforme_port: int | None = None,
    late_port: int | None = None,
    persist: bool = True,
) -> Sandbox:
    state_dir = state_dir or default_state_dir()
    if persist:
        state_dir.mkdir(parents=True, exist_ok=True)
    postforme = PostForMeSim(state_path=state_dir / "postforme.json" if persist else None)
    late = LateSim(state_path=state_dir / "late.json" if persist else None)
    pfm_server = SandboxServer(create_postforme_app(postforme), port=postforme_port).start()
    late_server = SandboxServer(create_late_app(late), port=late_port).start()
    postforme.upload_base = pfm_server.url
    late.upload_base = late_server.url
    return Sandbox(postforme, late, pfm_server, late_server)
