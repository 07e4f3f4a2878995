"""Both provider simulators in a process of their own, set up for a benchmark; the benchmarks start it.

    python bench/sims.py [--latency 0.5] [--scale 20 --limits]

Prints one JSON line with the URLs once both listen, then serves until stdin closes or SIGTERM.
--latency   seconds every API request is held (a fault-plan `latency` rule on every operation)
--limits    enforce PostForMe's documented limits (5/s, 40/min per key) and LATE's (60/min, its
            lowest tier), each window divided by --scale so that a run takes seconds, not minutes.
Without --limits no limit applies (LATE's default per-minute budget is lifted too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
import time
from collections import deque
from types import MethodType

from postdeck.providers.sim.faults import FaultPlan, FaultRule
from postdeck.providers.sim.late_state import LateSim
from postdeck.providers.sim.postforme_wire import REAL_RATE_LIMITS, RateLimit
from postdeck.providers.sim.sandbox import start_sandbox

LATE_LIMIT = 60  # per minute: LATE's lowest tier (providers.ratelimit.LATE_WINDOWS)


def scaled_late_window(sim: LateSim, limit: int, window: float) -> None:
    """LATE's sliding window, `window` seconds long instead of 60 (its own code, one number changed)."""
    windows: dict[str, deque[float]] = {}
    lock = threading.Lock()

    def count(self: LateSim, authorization: str) -> tuple[int, int, int, bool]:
        bucket = hashlib.sha256(authorization.encode()).hexdigest()
        now = time.time()
        with lock:
            log = windows.setdefault(bucket, deque())
            while log and log[0] <= now - window:
                log.popleft()
            allowed = len(log) < limit
            if allowed:
                log.append(now)
            reset = int((log[0] if log else now) + window) + 1
            return limit, max(limit - len(log), 0), reset, allowed

    sim._count_request = MethodType(count, sim)  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--limits", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    # Always a latency rule (0 s holds nothing): it fires on every request, so it counts them by operation.
    rules = (FaultRule(kind="latency", min_s=args.latency, max_s=args.latency),)
    plans = {"postforme": FaultPlan(rules=rules), "late": FaultPlan(rules=rules)}
    box = start_sandbox(persist=False, faults=plans, tick_interval=None)
    if args.limits:
        box.postforme.rate_limits = tuple(
            RateLimit(limit.limit, limit.window / args.scale, limit.name) for limit in REAL_RATE_LIMITS
        )
        scaled_late_window(box.late, LATE_LIMIT, 60.0 / args.scale)
    else:
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
