"""Both provider simulators in a process of their own, set up for a benchmark; the benchmarks start it.

    python bench/sims.py [--latency 0.5] [--scale 20 --limits]

Prints one JSON line with the URLs once both listen, then serves until stdin closes or SIGTERM.
--latency   seconds every API request is held (a fault-plan `latency` rule on every operation)
--limits    enforce PostForMe's documented limits (5/s, 40/min per key) and LATE's (60/min, its
            lowest tier), each window divided by --scale so that a run takes seconds, not minutes
            (clients that pace themselves alike: POSTDECK_SANDBOX_RATE_SCALE=<scale>); the same as
            `postdeck sandbox --rate-scale <scale>` (start_sandbox's `rate_scale`).
Without --limits no limit applies (LATE's default per-minute budget is lifted too).

Each simulator also answers `GET /_bench/traffic`: its API requests by operation and answer status,
those its rate limit counts, and when the first arrived and the last was answered (`Traffic`).
`POST /_sim/reset` clears it with the simulator's own counters.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postdeck.sandbox import sandbox
from postdeck.sandbox.faults import FaultPlan, FaultRule


class Traffic:
    """ASGI layer around a simulator's app: every API request (the simulator's `operation()` names it;
    admin and public-media routes are not counted) by operation and answer status, the same for the
    requests its rate limit counts (under `limited`, a path prefix), and when the first request
    arrived and the last answer was sent (this process's monotonic clock, shared by both simulators)."""

    def __init__(self, app: ASGIApp, sim: Any, limited: str) -> None:
        self.app = app
        self.sim = sim
        self.limited = limited
        self.faults = getattr(app, "faults", None)  # SandboxServer hooks its `down` faults through this
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.answers: Counter[str] = Counter()  # "create 201", "accounts 429"...
            self.limited_answers: Counter[str] = Counter()  # by status: "201", "429"...
            self.first: float | None = None
            self.last: float | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "answers": dict(self.answers),
                "limited": dict(self.limited_answers),
                "first": self.first,
                "last": self.last,
            }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if path == "/_bench/traffic":
            await JSONResponse(self.snapshot())(scope, receive, send)
            return
        if path == "/_sim/reset" and method == "POST":
            self.clear()
        op = self.sim.operation(method, path)
        if op is None:
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        status = 0  # 0: no answer started (a reset connection)

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            with self._lock:
                self.answers[f"{op} {status}"] += 1
                if path.startswith(self.limited):
                    self.limited_answers[str(status)] += 1
                self.first = arrived if self.first is None else min(self.first, arrived)
                self.last = time.monotonic()


def counted(create_app: Any, limited: str) -> Any:
    return lambda sim: Traffic(create_app(sim), sim, limited)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--limits", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    # Always a latency rule (0 s holds nothing): it fires on every request, so it counts them by operation.
    rules = (FaultRule(kind="latency", min_s=args.latency, max_s=args.latency),)
    plans = {"postforme": FaultPlan(rules=rules), "late": FaultPlan(rules=rules)}
    # start_sandbox builds both apps through these names: wrap each in a Traffic layer. The limits count
    # PostForMe's /v1 requests (not the storage PUTs) and LATE's /api requests.
    sandbox.create_postforme_app = counted(sandbox.create_postforme_app, "/v1/")
    sandbox.create_late_app = counted(sandbox.create_late_app, "/api/")
    box = sandbox.start_sandbox(
        persist=False, faults=plans, tick_interval=None, rate_scale=args.scale if args.limits else None
    )
    if not args.limits:
        box.late.rate_limit = 10**9
    print(
        json.dumps(
            {
                "postforme": box.postforme_url,
                "late": box.late_url,
                "postforme_root": box.postforme_server.url,
                "late_root": box.late_server.url,
            }
        ),
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    box.stop()


if __name__ == "__main__":
    main()
