"""Publish throughput: 1,000 deliveries (250 batches × 4 platforms) through the real publish-campaign flow,
against the simulators holding every provider call 500 ms, 16 calls in flight per provider (the
flow's provider:* concurrency limits), rate limits off.

    .venv/bin/python bench/publish_bench.py [--batches 250] [--latency 0.5] [--concurrency 16] [--sample 40]

Prints the wall time, provider calls per delivery (by operation), wall ÷ floor where floor =
ceil(batches ÷ concurrency) × latency (one create per batch), and a sequential one-request-per-delivery
baseline (the seed service's way: one create per delivery, one after the other; timed on --sample
deliveries and scaled) ÷ wall. Targets: wall ≤ 1.5 × floor; calls per delivery ≤ 0.25 plus uploads.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def sequential_baseline(postforme_url: str, sample: int) -> float:
    """Seconds per delivery when each delivery is its own create, sent one after the other."""
    from postdeck.providers.base import Platform, PostRequest, Target
    from postdeck.providers.postforme import PostForMeClient
    from postdeck.providers.sim.sandbox import SANDBOX_POSTFORME_KEY

    client = PostForMeClient(api_key=SANDBOX_POSTFORME_KEY, base_url=postforme_url, rate_limits=())
    accounts = {a.platform: a for a in client.accounts()}
    platforms = [Platform(p) for p in ("twitter", "linkedin", "bluesky", "threads")]
    start = time.perf_counter()
    for i in range(sample):
        platform = platforms[i % len(platforms)]
        caption = f"Baseline delivery {i:03d}"
        client.create(
            PostRequest(
                post_key=f"baseline-{i}",
                caption=caption,
                targets=(Target(platform, accounts[platform].id, caption),),
            )
        )
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed / sample


@contextmanager
def proposed_flow(limit: int) -> Iterator[None]:
    """The flow with provider calls capped in-process (a semaphore per provider, `limit` each) and
    `limit` task workers: what bench/README.md proposes for flows/chains.py and flows/publish.py."""
    import threading

    from prefect.settings import PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS, temporary_settings

    import postdeck.flows.chains as chains

    slots = {name: threading.BoundedSemaphore(limit) for name in ("postforme", "late")}
    original = chains.provider_slot
    chains.provider_slot = lambda provider: slots[provider]  # a semaphore is a context manager
    try:
        with temporary_settings(updates={PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS: limit}):
            yield
    finally:
        chains.provider_slot = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument(
        "--proposed",
        action="store_true",
        help="also run the flow with the change proposed in bench/README.md: provider calls capped by an "
        "in-process semaphore per provider instead of a Prefect concurrency slot per call, 16 task workers",
    )
    args = parser.parse_args()
    header(
        "publish throughput (the publish-campaign flow, simulators in their own process)",
        work=f"{args.batches} batches × 4 platforms = {args.batches * 4} deliveries, one shared image",
        setting=f"{args.latency * 1000:.0f} ms per provider call, {args.concurrency} in flight per provider "
        "(provider:* limits), rate limits off, Prefect heartbeats off, PREFECT_LOGGING_LEVEL=WARNING",
    )
    with (
        simulators("--latency", str(args.latency)) as sims,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp,
        prefect_api() as api,
    ):
        from postdeck.flows.limits import ensure_limits
        from postdeck.flows.params import PublishParams
        from postdeck.flows.publish import publish_campaign

        print(f"prefect:  {api} (temporary server)")
        limit = args.concurrency
        ensure_limits({"provider:postforme": limit, "provider:late": limit})
        warm = write_campaign(Path(tmp) / "warm", 2, name="warm-up")
        with fresh_state(Path(tmp) / "warm-state", sims):
            publish_campaign(params=PublishParams(campaign=str(warm), sandbox=True))  # imports, first flow
        sims.reset()
        campaign = write_campaign(Path(tmp) / "campaign", args.batches)
        with fresh_state(Path(tmp) / "state", sims):
            wall, reports = timed(
                publish_campaign, params=PublishParams(campaign=str(campaign), sandbox=True)
            )
        counts = sims.requests()
        proposed = None
        if args.proposed:
            wait_for_idle_server()
            sims.reset()
            with fresh_state(Path(tmp) / "proposed", sims), proposed_flow(limit):
                proposed, again = timed(
                    publish_campaign, params=PublishParams(campaign=str(campaign), sandbox=True)
                )
            assert statuses(again) == statuses(reports), statuses(again)
        sims.reset()
        per_delivery = sequential_baseline(sims.postforme, args.sample)

    deliveries = len(reports)
    calls = sum(c["all"] for c in counts.values())
    uploads = sum(c["upload"] for c in counts.values())
    floor = math.ceil(args.batches / args.concurrency) * args.latency
    baseline = per_delivery * deliveries
    print(f"result:   {dict(statuses(reports))}")
    print(f"wall:     {wall:.2f} s for {deliveries} deliveries ({deliveries / wall:.1f} deliveries/s)")
    for name, by_op in counts.items():
        ops = ", ".join(f"{op} {n}" for op, n in sorted(by_op.items()) if op != "all")
        print(f"calls:    {name}: {by_op['all']} ({ops})")
    print(
        f"calls per delivery: {calls / deliveries:.3f} ({uploads / deliveries:.3f} of them uploads; "
        f"target ≤ 0.25 + uploads = {0.25 + uploads / deliveries:.3f})"
    )
    print(f"floor:    ceil({args.batches}/{args.concurrency}) × {args.latency} s = {floor:.2f} s")
    print(f"wall ÷ floor: {wall / floor:.2f} (target ≤ 1.5)")
    print(
        f"baseline: {per_delivery * 1000:.0f} ms per delivery sequentially ({args.sample} timed) → "
        f"{baseline:.0f} s for {deliveries}; baseline ÷ wall = {baseline / wall:.1f}"
    )
    if proposed is not None:
        print(
            f"proposed: {proposed:.2f} s with an in-process slot per provider and 16 task workers: "
            f"wall ÷ floor {proposed / floor:.2f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
