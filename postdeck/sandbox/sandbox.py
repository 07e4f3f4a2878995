"""The sandbox: both simulators on loopback, their state kept under .postdeck/sandbox/.

Used by `--sandbox` and `postdeck sandbox`, and by the tests. It is never a fallback: only an
explicit --sandbox (or sandbox=True) starts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postdeck.sandbox.faults import FaultPlan
from postdeck.sandbox.late_app import LateSim
from postdeck.sandbox.late_app import create_app as create_late_app
from postdeck.sandbox.postforme_app import PostForMeSim
from postdeck.sandbox.postforme_app import create_app as create_postforme_app
from postdeck.sandbox.postforme_wire import REAL_RATE_LIMITS, RateLimit
from postdeck.sandbox.server import SandboxServer
from postdeck.settings import settings

SANDBOX_POSTFORME_KEY = "sandbox-postforme-key"
SANDBOX_LATE_KEY = "sandbox-late-key"
# LATE's limit depends on the plan; 60 a minute is its lowest documented tier (providers.ratelimit
# LATE_WINDOWS), where a client starts before a reply's X-RateLimit-Limit says the real one.
LATE_DOCUMENTED_LIMIT = 60
LATE_DOCUMENTED_WINDOW = 60.0  # seconds


def check_rate_scale(scale: float) -> float:
    """`scale` if it is a number above 0 (and finite), else a ValueError."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"rate_scale={scale!r}: expected a finite number above 0")
    return float(scale)


def postforme_rate_limits(scale: float = 1.0) -> tuple[RateLimit, ...]:
    """PostForMe's documented limits (5 a second, 40 a minute per key) with every window ÷ `scale`."""
    scale = check_rate_scale(scale)
    return tuple(RateLimit(limit.limit, limit.window / scale, limit.name) for limit in REAL_RATE_LIMITS)


def late_rate_window(scale: float = 1.0) -> float:
    """The seconds of LATE's documented minute ÷ `scale` (its limit: LATE_DOCUMENTED_LIMIT)."""
    return LATE_DOCUMENTED_WINDOW / check_rate_scale(scale)


def default_state_dir() -> Path:
    return Path(settings().sandbox_dir)


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
    rate_scale: float | None = None,
) -> Sandbox:
    """Both simulators on loopback. `faults` maps "postforme"/"late" to the fault plan each starts
    with (postdeck.sandbox.faults; `postdeck sandbox --faults FILE`). Uploaded media is served under
    `postforme_media_host`: a public-looking host, since Post for Me refuses localhost and IP URLs.
    `tick_interval`: seconds between the simulators' scheduler runs (PostForMe's cron is 120 s);
    None leaves scheduled posts until a tick (`POST /_sim/tick`, `sim.tick()`).
    `rate_scale`: enforce the vendors' documented rate limits with every window ÷ `rate_scale` (1: the
    real ones): PostForMe's 5 a second and 40 a minute per key, LATE's lowest tier of 60 a minute
    (clients pacing themselves alike: POSTDECK_SANDBOX_RATE_SCALE=<rate_scale>). None (the default):
    PostForMe enforces no limit, LATE its own 600 a minute. A scale not above 0 is a ValueError."""
    postforme_limits: tuple[RateLimit, ...] = ()
    late_limits: dict[str, Any] = {}  # LateSim's defaults
    if rate_scale is not None:
        postforme_limits = postforme_rate_limits(rate_scale)
        late_limits = {"rate_limit": LATE_DOCUMENTED_LIMIT, "rate_window": late_rate_window(rate_scale)}
    state_dir = state_dir or default_state_dir()
    if persist:
        state_dir.mkdir(parents=True, exist_ok=True)
    postforme = PostForMeSim(
        state_path=state_dir / "postforme.json" if persist else None,
        media_host=postforme_media_host,
        tick_interval=tick_interval,
        rate_limits=postforme_limits,
    )
    late = LateSim(
        state_path=state_dir / "late.json" if persist else None, tick_interval=tick_interval, **late_limits
    )
    for name, sim in (("postforme", postforme), ("late", late)):
        if faults and faults.get(name) is not None:
            sim.faults.set_plan(faults[name])
    pfm_server = SandboxServer(create_postforme_app(postforme), port=postforme_port).start()
    late_server = SandboxServer(create_late_app(late), port=late_port).start()
    postforme.upload_base = pfm_server.url
    late.upload_base = late_server.url
    return Sandbox(postforme, late, pfm_server, late_server)
