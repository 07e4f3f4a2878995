"""A publish run as a ledger row (campaign_runs): started once its plan is known, with what it
publishes (commit, dirty, file, the hashes of what was rendered and planned, the flow run), finished
with what it came to (the verdict's counts). Every delivery it sends names it (RunStamp).

The flow (flows/publish.py) calls these; nothing here knows Prefect.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from postdeck.engine.plan import Plan, plan_hash
from postdeck.engine.source import Source
from postdeck.engine.verdict import verdict
from postdeck.errors import LedgerError
from postdeck.ledger.base import CampaignRuns, RunSource
from postdeck.schemas.deliveries import Delivery

log = logging.getLogger("postdeck.engine.runs")


@dataclass(frozen=True)
class RunStamp:
    """What each delivery a run sends records: the run, and the commit it published."""

    run_id: str
    commit_sha: str | None


def content_hash(deliveries: Sequence[Delivery]) -> str:
    """Of what was rendered: every delivery's key, content and schedule hashes, in any order."""
    rows = sorted(json.dumps([d.key, d.content_hash, d.schedule_hash]) for d in deliveries)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def start_run(
    ledger: CampaignRuns,
    plan: Plan,
    deliveries: Sequence[Delivery],
    *,
    source: Source,
    campaign_path: str,
    flow_run_id: str | None,
    user_id: str | None,
    now: datetime,
) -> RunStamp:
    """The run's row, before anything is sent. A LedgerError propagates: a run that cannot be
    recorded sends nothing (its claims could not be recorded either)."""
    run_source = RunSource(
        commit_sha=source.commit,
        dirty=source.dirty,
        campaign_path=campaign_path,
        content_hash=content_hash(deliveries),
        plan_hash=plan_hash(plan),
    )
    run_id = ledger.start_campaign_run(
        plan.campaign, flow_run_id=flow_run_id, user_id=user_id, now=now, source=run_source
    )
    return RunStamp(run_id, source.commit)


def finish_run(
    ledger: CampaignRuns,
    stamp: RunStamp,
    plan: Plan,
    reports: Sequence[Mapping[str, str | None]],
    *,
    now: datetime,
    error: str | None = None,
) -> None:
    """End the run `completed` when every delivery is resolved, else `failed` with the summary (or
    `error`, when the run itself stopped). Never raises: the outcomes are recorded (or journaled)
    already, and a row left `running` says the end was not recorded."""
    outcome = verdict(reports)
    summary = {
        "deliveries": outcome.total,
        "unresolved": outcome.unresolved,
        "outcomes": outcome.counts,
        "plan": plan.counts(),
    }
    failed = error is not None or not outcome.ok
    try:
        ledger.finish_campaign_run(
            stamp.run_id,
            status="failed" if failed else "completed",
            summary=summary,
            error=error or (outcome.summary() if failed else None),
            now=now,
        )
    except LedgerError as exc:
        log.error("campaign run %s: its end was not recorded: %s", stamp.run_id, exc)
