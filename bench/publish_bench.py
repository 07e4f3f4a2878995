"""Publish throughput: 1,000 deliveries (250 batches × 4 platforms) through the real publish-campaign flow,
against the simulators holding every provider call 500 ms, 16 calls in flight per provider (the
in-process cap POSTDECK_PROVIDER_CONCURRENCY and the provider:* limits on the server), rate limits off.

    .venv/bin/python bench/publish_bench.py [--batches 250] [--latency 0.5] [--concurrency 16] [--sample 40]
        [--state-dir DIR]

Prints the wall time, provider calls per delivery (by operation), wall ÷ floor where floor =
ceil(batches ÷ concurrency) × latency (one create per batch), the same campaign through the same code
without Prefect (benchlib.publish_without_prefect, --concurrency threads), and a sequential
one-request-per-delivery baseline (the seed service's way: one create per delivery, one after the
other; timed on --sample deliveries and scaled) ÷ wall. Targets: wall ≤ 1.5 × floor; calls per
delivery ≤ 0.25 plus uploads. --state-dir puts the ledger and journal there (e.g. /dev/shm, to see
what their fsyncs cost); by default they are in a temporary folder on disk, as in production.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    fresh_state,
    header,
    prefect_api,
    publish_without_prefect,
    simulators,
    statuses,
    timed,
    wait_for_idle_server,
    write_campaign,
)


def sequential_baseline(postforme_url: str, sample: int) -> float:
    """Seconds per delivery when each delivery is its own create, sent one after the other."""
    from postdeck.core.platform import Platform
    from postdeck.providers.base import PostRequest, Target
    from postdeck.providers.postforme import PostForMeClient
    from postdeck.sandbox.sandbox import SANDBOX_POSTFORME_KEY

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--state-dir", help="where the ledger and journal go (default: a temporary folder)")
    args = parser.parse_args()
    os.environ["POSTDECK_PROVIDER_CONCURRENCY"] = str(args.concurrency)  # read when the flow is imported
    header(
        "publish throughput (the publish-campaign flow, simulators in their own process)",
        work=f"{args.batches} batches × 4 platforms = {args.batches * 4} deliveries, one shared image",
        setting=f"{args.latency * 1000:.0f} ms per provider call, {args.concurrency} in flight per provider "
        "(POSTDECK_PROVIDER_CONCURRENCY and the provider:* limits), rate limits off, Prefect heartbeats off, "
        "PREFECT_LOGGING_LEVEL=WARNING",
        state=f"ledger and journal in {args.state_dir or 'a temporary folder on disk'}",
    )
    with (
        simulators("--latency", str(args.latency)) as sims,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-state-", dir=args.state_dir) as state,
        prefect_api() as api,
    ):
        from postdeck.flows.limits import ensure_limits
        from postdeck.flows.params import PublishParams
        from postdeck.flows.publish import publish_campaign

        print(f"prefect:  {api} (temporary server)")
        limit = args.concurrency
        ensure_limits({"provider:postforme": limit, "provider:late": limit})
        # The warm-up: imports and a first flow run, on the ledger the timed run then uses, as an
        # earlier campaign of the same team would have: its account lists are kept there (reused for
        # POSTDECK_ACCOUNT_LIST_MAX_AGE). Its image is its own, so the timed run uploads its image itself.
        warm = write_campaign(Path(tmp) / "warm", 2, name="warm-up", own_image=True)
        with fresh_state(Path(state) / "flow", sims):
            publish_campaign(params=PublishParams(campaign=str(warm), sandbox=True))
        cold = sims.requests()
        sims.reset()
        campaign = write_campaign(Path(tmp) / "campaign", args.batches)
        wait_for_idle_server()  # the warm-up's events drained: the timed run has the server to itself
        with fresh_state(Path(state) / "flow", sims):
            wall, reports = timed(
                publish_campaign, params=PublishParams(campaign=str(campaign), sandbox=True)
            )
        counts = sims.requests()
        wait_for_idle_server()
        with fresh_state(Path(state) / "plain", sims):
            publish_without_prefect(warm, workers=args.concurrency)  # the same warm-up, no Prefect
            sims.reset()
            plain, again = timed(publish_without_prefect, campaign, workers=args.concurrency)
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
    listings = sum(by_op["accounts"] for by_op in cold.values())
    print(
        f"cold start: the warm-up run, on an empty ledger, listed accounts {listings} time(s); the "
        f"timed run {sum(by_op['accounts'] for by_op in counts.values())} (lists kept in the ledger); "
        f"with an empty ledger it would have made {(calls + listings) / deliveries:.3f} per delivery"
    )
    print(f"floor:    ceil({args.batches}/{args.concurrency}) × {args.latency} s = {floor:.2f} s")
    print(f"wall ÷ floor: {wall / floor:.2f} (target ≤ 1.5)")
    print(
        f"without Prefect: {plain:.2f} s ({plain / floor:.2f} × floor), the same code in "
        f"{args.concurrency} threads; the flow's own cost: {wall - plain:+.2f} s"
    )
    print(
        f"baseline: {per_delivery * 1000:.0f} ms per delivery sequentially ({args.sample} timed) → "
        f"{baseline:.0f} s for {deliveries}; baseline ÷ wall = {baseline / wall:.1f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
