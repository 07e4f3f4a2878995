"""Orchestration cost: the same 1,000 deliveries through the publish-campaign flow and through the same
code without Prefect (benchlib.publish_without_prefect: validate, expand, plan, one publish_batch per
batch in a thread pool, the same chain), against simulators that answer at once.

    .venv/bin/python bench/orchestration_bench.py [--batches 250] [--latency 0] [--runs 1] [--workers 16]

Prints each variant's wall time, the ratio flow ÷ plain, and the overhead per task (one task per
batch): (flow − plain) ÷ batches. Both run --workers batches at once (the flow: its task workers and
POSTDECK_PROVIDER_CONCURRENCY). Flow variants: the provider:* concurrency limits absent (nothing is
asked of the server), and set to --workers (the run reserves its slots once). Before each run the
temporary server is left to drain the events of the previous one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
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

VARIANTS = (("flow, no provider limits on the server", False), ("flow, provider limits = workers", True))


def set_limits(limit: int | None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from postdeck.flows.limits import ensure_limits

    names = ("provider:postforme", "provider:late")
    if limit is not None:
        ensure_limits(dict.fromkeys(names, limit))
        return
    with get_client(sync_client=True) as client:
        for name in names:
            with contextlib.suppress(ObjectNotFound):
                client.delete_global_concurrency_limit_by_name(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=1, help="runs of each variant; the median is shown")
    parser.add_argument("--workers", type=int, default=16, help="batches at once, with Prefect and without")
    args = parser.parse_args()
    os.environ["POSTDECK_PROVIDER_CONCURRENCY"] = str(args.workers)  # read when the flow is imported
    header(
        "orchestration cost (Prefect flow vs the same code without Prefect)",
        work=f"{args.batches} batches × 4 platforms = {args.batches * 4} deliveries, {args.batches} tasks",
        setting=f"{args.latency * 1000:.0f} ms per provider call, {args.workers} batches at once; "
        "Prefect heartbeats off, "
        "PREFECT_LOGGING_LEVEL=WARNING, temporary SQLite server",
    )
    results: dict[str, float] = {}
    with (
        simulators("--latency", str(args.latency)) as sims,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp,
        prefect_api(),
    ):
        from postdeck.flows.params import PublishParams
        from postdeck.flows.publish import publish_campaign

        folder = Path(tmp)
        campaign = write_campaign(folder / "campaign", args.batches)
        warm = write_campaign(folder / "warm", 2, name="warm-up")
        with fresh_state(folder / "warm-state", sims):
            publish_campaign(params=PublishParams(campaign=str(warm), sandbox=True))
            publish_without_prefect(warm)
        run = 0

        def once(fn, *fn_args, **fn_kwargs) -> float:
            nonlocal run
            run += 1
            wait_for_idle_server()
            sims.reset()
            with fresh_state(folder / f"run-{run}", sims):
                wall, reports = timed(fn, *fn_args, **fn_kwargs)
            assert sum(statuses(reports).values()) == args.batches * 4, statuses(reports)
            return wall

        plain = [once(publish_without_prefect, campaign, workers=args.workers) for _ in range(args.runs)]
        results[f"no Prefect ({args.workers} threads)"] = statistics.median(plain)
        for name, limited in VARIANTS:
            set_limits(args.workers if limited else None)
            walls = [
                once(publish_campaign, params=PublishParams(campaign=str(campaign), sandbox=True))
                for _ in range(args.runs)
            ]
            results[name] = statistics.median(walls)
    base = next(iter(results.values()))
    for i, (name, wall) in enumerate(results.items()):
        # The first row is the base (an identity test on floats, as before, could match the wrong row).
        extra = ""
        if i:
            extra = (
                f"   ratio {wall / base:.1f}×, overhead {(wall - base) / args.batches * 1000:.0f} ms per task"
            )
        print(f"{name:<62} {wall:7.2f} s{extra}")


if __name__ == "__main__":
    main()
