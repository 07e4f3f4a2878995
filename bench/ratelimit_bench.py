"""Rate limits: the throughput campaign (250 batches × 4 platforms) against simulators enforcing PostForMe's
documented limits (5 requests/s and 40/min per key) and LATE's (60/min, its lowest tier), every window
divided by --scale so that the run takes well under a minute.

    .venv/bin/python bench/ratelimit_bench.py [--batches 250] [--scale 10] [--workers 16]

The clients carry the same (scaled) documented windows, as they do against the real APIs
(providers.ratelimit), and publish through the flow's own code without Prefect (benchlib): the flow
builds sandbox clients without limits, trusting the simulators' 429s, so it cannot show pacing.
Prints the 429 answers the clients got (each one reaches the chain, which waits and retries), and the
provider phase's duration against the shortest schedule the windows allow for the requests each
provider served. Targets: zero 429s; duration ≤ 1.2 × what the limits allow.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from benchlib import fresh_state, header, publish_without_prefect, simulators, statuses, write_campaign


class Traffic:
    """httpx event hooks: every response's status, and when the first request and last answer were."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.first: float | None = None
        self.last = 0.0
        self._lock = threading.Lock()

    def client(self, provider: str, timeout: httpx.Timeout) -> httpx.Client:
        def on_request(request: httpx.Request) -> None:
            with self._lock:
                self.first = self.first or time.perf_counter()

        def on_response(response: httpx.Response) -> None:
            with self._lock:
                self.statuses[(provider, response.status_code)] += 1
                self.last = time.perf_counter()

        return httpx.Client(
            timeout=timeout,
            transport=httpx.HTTPTransport(retries=0, limits=httpx.Limits(max_connections=20)),
            follow_redirects=False,
            event_hooks={"request": [on_request], "response": [on_response]},
        )


def allowed_seconds(requests: int, windows: list[tuple[int, float]]) -> float:
    """When the last of `requests` may start at the earliest, under sliding windows (limit, seconds)."""
    times: list[float] = []
    for i in range(requests):
        start = 0.0
        for limit, seconds in windows:
            if i >= limit:
                start = max(start, times[i - limit] + seconds)
        times.append(start)
    return times[-1] if times else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=250)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    from postdeck.providers.chain import Link
    from postdeck.providers.late import LateClient
    from postdeck.providers.postforme import PostForMeClient
    from postdeck.providers.ratelimit import LATE_WINDOWS, POSTFORME_WINDOWS, Window
    from postdeck.providers.sim.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY

    def scaled(windows: tuple[Window, ...]) -> tuple[Window, ...]:
        return tuple(Window(w.limit, w.seconds / args.scale) for w in windows)

    header(
        "rate limits (documented limits, time-scaled; the flow's code without Prefect)",
        work=f"{args.batches} batches × 4 platforms = {args.batches * 4} deliveries, {args.workers} batches at once",
        limits=f"PostForMe 5/s + 40/min, LATE 60/min; every window ÷ {args.scale:g} "
        f"(PostForMe 5 per {1 / args.scale:.2f} s + 40 per {60 / args.scale:.1f} s)",
    )
    traffic = Traffic()
    timeout = httpx.Timeout(30.0, connect=5.0)
    with (
        simulators("--limits", "--scale", str(args.scale)) as sims,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp,
    ):
        links = [
            Link(
                "postforme:sandbox",
                PostForMeClient(
                    api_key=SANDBOX_POSTFORME_KEY,
                    base_url=sims.postforme,
                    http_client=traffic.client("postforme", timeout),
                    rate_limits=scaled(POSTFORME_WINDOWS),
                ),
            ),
            Link(
                "late:sandbox",
                LateClient(
                    api_key=SANDBOX_LATE_KEY,
                    base_url=sims.late,
                    http_client=traffic.client("late", timeout),
                    rate_limits=scaled(LATE_WINDOWS),
                ),
            ),
        ]
        campaign = write_campaign(Path(tmp) / "campaign", args.batches)
        with fresh_state(Path(tmp) / "state", sims):
            start = time.perf_counter()
            reports = publish_without_prefect(campaign, links=links, workers=args.workers)
            wall = time.perf_counter() - start
        counts = sims.requests()

    limited = {  # what the simulators count against the limit: /v1 and /api requests (not storage PUTs)
        "postforme": counts["postforme"]["all"] - counts["postforme"]["upload"] // 2,
        "late": counts["late"]["all"],
    }
    allowed = {
        "postforme": allowed_seconds(
            limited["postforme"], [(w.limit, w.seconds) for w in scaled(POSTFORME_WINDOWS)]
        ),
        "late": allowed_seconds(limited["late"], [(w.limit, w.seconds) for w in scaled(LATE_WINDOWS)]),
    }
    phase = traffic.last - (traffic.first or traffic.last)
    throttled = sum(n for (_, status), n in traffic.statuses.items() if status == 429)
    bound = max(allowed.values())
    print(f"result:   {dict(statuses(reports))}")
    print(f"answers:  {dict(sorted(traffic.statuses.items()))}")
    print(
        f"requests: postforme {limited['postforme']} limited (+ uploads' storage PUTs), late {limited['late']}"
    )
    print(f"429s that reached a retry: {throttled} (target 0)")
    print(
        f"provider phase: {phase:.2f} s; the limits allow it in {bound:.2f} s "
        f"(postforme {allowed['postforme']:.2f} s, late {allowed['late']:.2f} s); "
        f"ratio {phase / bound if bound else float('nan'):.2f} (target ≤ 1.2)"
    )
    print(
        f"wall:     {wall:.2f} s with validation and planning ({wall * args.scale / 60:.1f} min at real speed)"
    )


if __name__ == "__main__":
    main()
