"""Memory: peak RSS of a 10,000-delivery publish (2,500 batches × 4 platforms), as its own process.

    .venv/bin/python bench/memory_bench.py [--batches 2500] [--workers 16] [--skip-flow]

Two publishes of the same campaign against simulators in another process (answering at once):
- `postdeck publish --sandbox` (the publish-campaign flow, on a temporary Prefect server, provider
  limits --workers, POSTDECK_PROVIDER_CONCURRENCY=--workers; the server's memory is not counted);
- the same code without Prefect (benchlib.publish_without_prefect, --workers threads).
Peak RSS is the largest process's (the publishing process; it starts no others).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from benchlib import REPO, header, peak_rss_of, postdeck_cli, prefect_api, simulators, write_campaign

PLAIN = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from benchlib import publish_without_prefect, statuses
reports = publish_without_prefect(Path(sys.argv[2]), workers=int(sys.argv[3]))
print(dict(statuses(reports)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2500)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--skip-flow", action="store_true", help="only the publish without Prefect")
    args = parser.parse_args()
    header(
        "memory of a big publish (peak RSS of the publishing process)",
        work=f"{args.batches:,} batches × 4 platforms = {args.batches * 4:,} deliveries, one shared image",
        setting=f"simulators answer at once; {args.workers} batches at once",
    )
    rows = []
    with (
        simulators() as sims,
        tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp,
        prefect_api() as api,
    ):
        from postdeck.flows.limits import ensure_limits

        ensure_limits({"provider:postforme": args.workers, "provider:late": args.workers})
        folder = Path(tmp)
        campaign = write_campaign(folder / "campaign", args.batches, name="memory")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("POSTFORME_", "LATE_", "SUPABASE_"))}
        base.update(sims.env())

        def env(name: str, **extra: str) -> dict[str, str]:
            (folder / name).mkdir()
            return {
                **base,
                "POSTDECK_LEDGER": str(folder / name / "ledger.db"),
                "POSTDECK_JOURNAL": str(folder / name / "journal.jsonl"),
                **extra,
            }

        wall, peak, out, _ = peak_rss_of(
            [sys.executable, "-c", PLAIN, str(REPO / "bench"), str(campaign), str(args.workers)],
            env=env("plain"),
        )
        rows.append(("without Prefect", wall, peak, out.strip().splitlines()[-1] if out.strip() else ""))
        if not args.skip_flow:
            sims.reset()
            flow_env = env(
                "flow",
                PREFECT_API_URL=api,
                POSTDECK_PROVIDER_CONCURRENCY=str(args.workers),
                PREFECT_LOGGING_LEVEL="WARNING",
            )
            wall, peak, _, code = peak_rss_of(
                [*postdeck_cli(), "publish", "--sandbox", str(campaign)], env=flow_env
            )
            outcome = (
                "exit 0: every delivery scheduled" if code == 0 else f"exit {code}: some delivery not sent"
            )
            if "Refusing to publish event" in out:  # the client side; the server logs to this output
                outcome += "; Prefect refused an event as too large"
            rows.append(("postdeck publish --sandbox (flow)", wall, peak, outcome))
    for name, wall, peak, note in rows:
        print(f"{name:<36} peak RSS {peak:5d} MiB   wall {wall:7.1f} s   {note}")


if __name__ == "__main__":
    main()
