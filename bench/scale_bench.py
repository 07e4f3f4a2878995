"""Plan and validate at scale: `postdeck validate` and `postdeck plan` on one 10,000-batch campaign
(× 4 platforms = 40,000 deliveries), each a cold process; wall time and peak memory.

    .venv/bin/python bench/scale_bench.py [--batches 10000] [--runs 3]

`plan` runs twice: against an empty ledger (everything a create) and against a ledger that already
holds every delivery (everything unchanged: the plan reads all 40,000 records). Peak memory is the
largest process's peak RSS (validate forks no workers for one file). No targets were set; the
validate_bench.py target (under 1 s) is for 100 files of 50 batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchlib import header, peak_rss_of, postdeck_cli, write_campaign


def fill_ledger(campaign: Path, ledger: Path) -> int:
    """Every delivery recorded as scheduled, as after a publish (written directly: no provider)."""
    from postdeck.core.outcome import Outcome
    from postdeck.core.status import DeliveryStatus
    from postdeck.engine.publisher import claim_request
    from postdeck.ledger.sqlite import SqliteLedger
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    store = SqliteLedger(ledger)
    now = datetime.now(UTC)
    deliveries = expand(load_campaign(campaign))
    for delivery in deliveries:
        store.claim(claim_request(delivery), owner="bench", lease_seconds=60, now=now)
        store.record(
            delivery.key, Outcome(DeliveryStatus.SCHEDULED, provider="postforme"), owner="bench", now=now
        )
    return len(deliveries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp:
        folder = Path(tmp)
        campaign = write_campaign(folder / "campaign", args.batches, name="scale", every="30m")
        size = campaign.stat().st_size
        header(
            "plan and validate at scale (cold processes)",
            work=f"1 campaign file, {args.batches:,} batches × 4 platforms = {args.batches * 4:,} deliveries "
            f"({size / 1024:.0f} KiB of YAML), one shared image",
            load=" ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min average: other work skews)",
        )
        cli = postdeck_cli()
        env = {
            **os.environ,
            "POSTDECK_LEDGER": str(folder / "empty.db"),
            "PREFECT_HOME": str(folder / "prefect"),
        }
        filled = dict(env, POSTDECK_LEDGER=str(folder / "filled.db"))
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "postdeck validate": ([*cli, "validate", "--quiet", str(campaign)], env),
            "postdeck plan (empty ledger)": ([*cli, "plan", "--format", "json", str(campaign)], env),
        }
        results = {}
        for name, (command, command_env) in commands.items():
            results[name] = [peak_rss_of(command, env=command_env)[:2] for _ in range(args.runs)]
        recorded = fill_ledger(campaign, folder / "filled.db")
        command = [*cli, "plan", "--format", "json", str(campaign)]
        results[f"postdeck plan ({recorded:,} recorded)"] = [
            peak_rss_of(command, env=filled)[:2] for _ in range(args.runs)
        ]
    for name, runs in results.items():
        walls = [wall for wall, _ in runs]
        peaks = [peak for _, peak in runs]
        print(
            f"{name:<34} median {statistics.median(walls):6.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"
            f"   peak RSS {max(peaks)} MiB   ({len(runs)} runs)"
        )


if __name__ == "__main__":
    main()
