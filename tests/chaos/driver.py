"""The worker the chaos test kills: publishes a campaign through the exactly-once protocol, in passes.

    python -m tests.chaos.driver CAMPAIGN --owner run-2 [--threads 4] [--lease 3] [--deadline 120]

It is what a publish run does, without Prefect: open the configured ledger (POSTDECK_LEDGER, journaled
to POSTDECK_JOURNAL), flush the journal, then `publish_batch` every batch that still has a delivery
without an outcome, several batches at once, against the simulators named by
POSTDECK_SANDBOX_POSTFORME_URL and POSTDECK_SANDBOX_LATE_URL (as `flows.chains` reads them).

A pass that meets a dead run's claims (held until their lease ends) or an unreachable ledger waits
a little and goes again. Exits 0 once every delivery has an outcome, 3 at the deadline. One JSON
line per pass on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from postdeck.chain_factory import build_chain, sandbox_links
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import publish_batch
from postdeck.errors import LedgerError
from postdeck.ledger import flush_journal, open_ledger
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.chain import Chain, RetryPolicy
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign

URL_ENV = ("POSTDECK_SANDBOX_POSTFORME_URL", "POSTDECK_SANDBOX_LATE_URL")
# As tests/providers/test_failover_chaos.py: short timeouts and waits, so that faults cost little time.
TIMEOUT = httpx.Timeout(0.4, connect=1.0)
RETRY = RetryPolicy(settle_before_lookup=0.05, backoff_initial=0.02, backoff_max=0.1)


def build(ledger: Any) -> Chain:
    postforme_url, late_url = (os.environ[name] for name in URL_ENV)
    links = sandbox_links(
        postforme_url,
        late_url,
        postforme_key=SANDBOX_POSTFORME_KEY,
        late_key=SANDBOX_LATE_KEY,
        timeout=TIMEOUT,
    )
    return build_chain(
        links,
        ledger,
        retry=RETRY,
        breaker=CircuitBreaker(threshold=4, cooldown=0.5),
        pending_poll_seconds=5.0,
    )


def open_until(deadline: float) -> Any:
    """The journaled ledger; while its path is unavailable, keep trying (the outage ends)."""
    while True:
        try:
            return open_ledger()
        except LedgerError as exc:
            if time.monotonic() > deadline:
                raise
            log({"event": "ledger-unavailable", "error": str(exc)[:200]})
            time.sleep(0.2)


def unfinished(ledger: Any, campaign: str, deliveries: list[Delivery]) -> dict[str, list[Delivery]]:
    """Batches with a delivery the ledger has no outcome for (absent, still claimed, or not-sent)."""
    open_ = (DeliveryStatus.CLAIMED, DeliveryStatus.NOT_SENT)
    done = {r.key for r in ledger.deliveries(campaign) if r.status not in open_}
    batches: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        batches.setdefault(delivery.batch_id, []).append(delivery)
    return {b: group for b, group in batches.items() if any(d.key not in done for d in group)}


def log(entry: dict[str, Any]) -> None:
    print(json.dumps(entry), flush=True)


def run(campaign: Path, owner: str, threads: int, lease: float, deadline: float) -> int:
    loaded = load_campaign(campaign)
    deliveries = expand(loaded)
    name = loaded.campaign.name
    ledger = open_until(deadline)
    chain = build(ledger)
    passes = 0
    while time.monotonic() < deadline:
        passes += 1
        try:
            flushed = flush_journal(ledger)
            todo = unfinished(ledger, name, deliveries)
        except LedgerError as exc:
            log({"event": "pass", "pass": passes, "ledger": str(exc)[:200]})
            time.sleep(0.2)
            continue
        if not todo:
            log({"event": "done", "passes": passes})
            return 0
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(
                pool.map(
                    lambda group: publish_batch(
                        group, ledger=ledger, chain=chain, owner=owner, lease_seconds=lease
                    ),
                    todo.values(),
                )
            )
        actions = Counter(r.action for reports in results for r in reports)
        log({"event": "pass", "pass": passes, "batches": len(todo), "flushed": flushed, "actions": actions})
        if actions.keys() <= {"held", "not-sent", "unchanged"}:
            time.sleep(0.3)  # a dead run's leases, or the ledger, still to come back
    log({"event": "deadline", "passes": passes})
    return 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", type=Path)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds")
    args = parser.parse_args()
    sys.exit(run(args.campaign, args.owner, args.threads, args.lease, time.monotonic() + args.deadline))


if __name__ == "__main__":
    main()
