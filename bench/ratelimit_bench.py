"""Rate limits: the throughput campaign (250 batches × 4 platforms) through the real publish-campaign flow,
against simulators enforcing PostForMe's documented limits (5 requests/s and 40/min per key) and LATE's
(60/min, its lowest tier), every window divided by --scale so that the run takes well under a minute.

    .venv/bin/python bench/ratelimit_bench.py [--batches 250] [--scale 10] [--concurrency 16] [--via late]

The simulators run as `bench/sims.py --limits --scale N` in their own process; the flow runs in this one
against a temporary Prefect server (as in publish_bench.py), with POSTDECK_SANDBOX_RATE_SCALE=N set
before it builds its clients, so that its sandbox clients carry the same documented windows ÷ N
(postdeck.chain_factory.sandbox_links) and pace themselves as production clients do against the real APIs.
A two-batch warm-up run comes first (imports, the first flow run); the timed run starts on reset
simulators once the server is idle and the clients' windows have emptied.

Counted at the simulators (bench/sims.py's Traffic layer, `Simulators.traffic()`): the answers by
operation and status, the 429s among them (each one reaches the chain, which waits and retries), and
the provider phase, from the first request's arrival to the last answer. The phase is compared with
the shortest schedule the windows allow for the rate-limited requests each provider served
(`allowed_seconds`: PostForMe's /v1 requests, not the storage PUTs; LATE's /api requests).
Targets: zero 429s; phase ≤ 1.2 × what the limits allow.

PostForMe comes first in the chain and takes every batch. `--via late` measures LATE's pacing instead:
the PostForMe simulator refuses the sandbox key (401 on its account listing, a fault rule), so the
chain disables it after one request and every batch goes to LATE.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    fresh_state,
    header,
    prefect_api,
    simulators,
    statuses,
    timed,
    wait_for_idle_server,
    write_campaign,
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


def refuse_the_key(root: str) -> None:
    """Add a rule to the simulator's fault plan: every account listing answers 401 (a bad key)."""
    import httpx

    plan = httpx.get(root + "/_sim/faults", timeout=30).json()["plan"]
    plan["rules"].append({"kind": "status", "status": 401, "ops": ["accounts"]})
    httpx.post(root + "/_sim/faults", json=plan, timeout=30).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=250)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--via", choices=("postforme", "late"), default="postforme")
    args = parser.parse_args()

    from postdeck.chain_factory import SANDBOX_RATE_SCALE_ENV
    from postdeck.providers.ratelimit import LATE_WINDOWS, POSTFORME_WINDOWS, RateLimiter

    # Read when the flow is imported (the concurrency) and when a run builds its clients (the scale).
    os.environ["POSTDECK_PROVIDER_CONCURRENCY"] = str(args.concurrency)
    os.environ[SANDBOX_RATE_SCALE_ENV] = f"{args.scale:g}"
    windows = {  # as the clients scale them
        "postforme": RateLimiter(POSTFORME_WINDOWS, time_scale=args.scale).windows,
        "late": RateLimiter(LATE_WINDOWS, time_scale=args.scale).windows,
    }
    longest = max(w.seconds for ws in windows.values() for w in ws)
    header(
        "rate limits (the publish-campaign flow; documented limits, time-scaled)",
        work=f"{args.batches} batches × 4 platforms = {args.batches * 4} deliveries, one shared image",
        limits=f"PostForMe 5/s + 40/min, LATE 60/min; every window ÷ {args.scale:g} at the simulators and "
        f"in the clients ({SANDBOX_RATE_SCALE_ENV}={args.scale:g}): PostForMe 5 per "
        f"{windows['postforme'][0].seconds:.2f} s + 40 per {windows['postforme'][1].seconds:.1f} s, "
        f"LATE 60 per {windows['late'][0].seconds:.1f} s",
        setting=f"{args.concurrency} in flight per provider (POSTDECK_PROVIDER_CONCURRENCY and the provider:* "
        "limits), Prefect heartbeats off, PREFECT_LOGGING_LEVEL=WARNING",
        via="PostForMe (first in the chain)"
        if args.via == "postforme"
        else "LATE (the PostForMe simulator answers 401 to the sandbox key: the chain disables it)",
    )
    with (
        simulators("--limits", "--scale", str(args.scale)) as sims,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp,
        prefect_api() as api,
    ):
        from postdeck.flows.limits import ensure_limits
        from postdeck.flows.params import PublishParams
        from postdeck.flows.publish import publish_campaign

        print(f"prefect:  {api} (temporary server)")
        if args.via == "late":
            refuse_the_key(sims.postforme_root)  # kept by sims.reset(), which re-applies the plans
        ensure_limits({"provider:postforme": args.concurrency, "provider:late": args.concurrency})
        warm = write_campaign(Path(tmp) / "warm", 2, name="warm-up")
        with fresh_state(Path(tmp) / "warm-state", sims):
            publish_campaign(params=PublishParams(campaign=str(warm), sandbox=True))  # imports, first flow
        warmed = time.monotonic()
        campaign = write_campaign(Path(tmp) / "campaign", args.batches)
        wait_for_idle_server()  # the warm-up's events drained: the timed run has the server to itself
        # The limiters (one per key in this process) still count the warm-up's requests until their
        # longest window has passed; the simulators forget them at the reset.
        time.sleep(max(0.0, warmed + longest + 0.5 - time.monotonic()))
        sims.reset()
        with fresh_state(Path(tmp) / "state", sims):
            wall, reports = timed(
                publish_campaign, params=PublishParams(campaign=str(campaign), sandbox=True)
            )
        traffic = sims.traffic()

    limited = {  # what the simulators' windows counted: the limited requests they did not refuse
        name: sum(n for status, n in seen["limited"].items() if status != "429")
        for name, seen in traffic.items()
    }
    allowed = {
        name: allowed_seconds(limited[name], [(w.limit, w.seconds) for w in windows[name]])
        for name in traffic
    }
    throttled = sum(
        n for seen in traffic.values() for key, n in seen["answers"].items() if key.endswith(" 429")
    )
    firsts = [seen["first"] for seen in traffic.values() if seen["first"] is not None]
    lasts = [seen["last"] for seen in traffic.values() if seen["last"] is not None]
    phase = max(lasts) - min(firsts) if firsts else 0.0
    bound = max(allowed.values())
    print(f"result:   {dict(statuses(reports))}")
    for name, seen in traffic.items():
        answers = ", ".join(f"{key} ×{n}" for key, n in sorted(seen["answers"].items())) or "none"
        print(f"answers:  {name}: {answers}")
    print(
        f"requests: postforme {sum(traffic['postforme']['answers'].values())} "
        f"({limited['postforme']} limited, the rest storage PUTs), "
        f"late {sum(traffic['late']['answers'].values())} ({limited['late']} limited)"
    )
    print(f"429s that reached a retry: {throttled} (target 0)")
    print(
        f"provider phase: {phase:.2f} s; the limits allow it in {bound:.2f} s "
        f"(postforme {allowed['postforme']:.2f} s, late {allowed['late']:.2f} s); "
        f"ratio {phase / bound if bound else float('nan'):.2f} (target ≤ 1.2)"
    )
    print(
        f"wall:     {wall:.2f} s, the flow run with validation and planning "
        f"({wall * args.scale / 60:.1f} min at real speed)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
