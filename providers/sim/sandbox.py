"""The sandbox: both simulators on loopback, their state kept under .postdeck/sandbox/.

Used by `--sandbox` and `postdeck sandbox`, and by the tests. It is never a fallback: only an
explicit --sandbox (or sandbox=True) starts it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from postdeck.providers.sim.faults import FaultPlan
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

    def advance_clock(self, seconds: float) -> None:
        """Move both simulators' clocks on by `seconds` (tests: a scheduled post's time comes)."""
        self.postforme.advance_clock(seconds)
        self.late.advance_clock(seconds)

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
    faults: dict[str, FaultPlan] | None = None,
    postforme_media_host: str = "data.postforme.dev",
    tick_interval: float | None = None,
) -> Sandbox:
    """Both simulators on loopback. `faults` maps "postforme"/"late" to the fault plan each starts
    with (providers.sim.faults; `postdeck sandbox --faults FILE`). Uploaded media is served under
    `postforme_media_host`: a public-looking host, since Post for Me refuses localhost and IP URLs.
    `tick_interval`: seconds between the simulators' scheduler runs (PostForMe's cron is 120 s);
    None leaves scheduled posts until a tick (`POST /_sim/tick`, `sim.tick()`)."""
    state_dir = state_dir or default_state_dir()
    if persist:
        state_dir.mkdir(parents=True, exist_ok=True)
    postforme = PostForMeSim(
        state_path=state_dir / "postforme.json" if persist else None,
        media_host=postforme_media_host,
        tick_interval=tick_interval,
    )
    late = LateSim(state_path=state_dir / "late.json" if persist else None, tick_interval=tick_interval)
    for name, sim in (("postforme", postforme), ("late", late)):
        if faults and faults.get(name) is not None:
            sim.faults.set_plan(faults[name])
    pfm_server = SandboxServer(create_postforme_app(postforme), port=postforme_port).start()
    late_server = SandboxServer(create_late_app(late), port=late_port).start()
    postforme.upload_base = pfm_server.url
    late.upload_base = late_server.url
    return Sandbox(postforme, late, pfm_server, late_server)
