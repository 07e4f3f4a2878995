"""A run as a ledger row (campaign_runs): every run that acts on a campaign's deliveries at their
providers. A publish (the flow) starts its row once its plan is known, with what it publishes
(commit, dirty, file, the hashes of what was rendered and planned, the flow run); a `post`, `retry`
or `cancel` (the CLI or the Python API, postdeck.service) starts one per campaign it acts on, with the
file it read when there is one (and that file's commit when git has it). Every delivery a run sends
names it (RunStamp). The row beats while the run lives and ends with what it came to (the counts);
a row whose beat stopped without an end belongs to a process that is gone: it is shown `crashed`
(`silent`) and recorded so by the next run of the campaign (`record_crashed_runs`).

The flow (flows/publish.py) and the service call these; nothing here knows Prefect.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postdeck.engine.heartbeat import keep_run_alive
from postdeck.engine.plan import Plan
from postdeck.engine.plan_checks import plan_hash
from postdeck.engine.source import Source, file_commit
from postdeck.engine.verdict import Verdict, verdict
from postdeck.errors import LedgerError
from postdeck.ledger.base import CampaignRuns
from postdeck.ledger.records import CampaignRun, RunSource
from postdeck.schemas.deliveries import Delivery
from postdeck.settings import settings

log = logging.getLogger("postdeck.engine.runs")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunStamp:
    """What each delivery a run sends records: the run, and the commit it published."""

    run_id: str
    commit_sha: str | None


def content_hash(deliveries: Sequence[Delivery]) -> str:
    """Of what was rendered: every delivery's key, content and schedule hashes, in any order."""
    rows = sorted(json.dumps([d.key, d.content_hash, d.schedule_hash]) for d in deliveries)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def publish_source(
    source: Source, *, campaign_path: str, deliveries: Sequence[Delivery], plan: Plan
) -> RunSource:
    """What a publish publishes: its commit (dirty or not), the file, what it rendered and planned."""
    return RunSource(
        commit_sha=source.commit,
        dirty=source.dirty,
        campaign_path=campaign_path,
        content_hash=content_hash(deliveries),
        plan_hash=plan_hash(plan),
    )


def file_source(path: Path | None, deliveries: Sequence[Delivery] = ()) -> RunSource:
    """What a `post` or `retry` sends from: the file it read (an ad-hoc post's, a campaign's), with
    the commit git has it at when it does (dirty when the working file differs), and the hash of what
    it rendered. No file (a cancel, a re-run at LATE): nothing but that."""
    if path is None:
        return RunSource(content_hash=content_hash(deliveries) if deliveries else None)
    commit, dirty = file_commit(path)
    return RunSource(
        commit_sha=commit,
        dirty=dirty,
        campaign_path=str(path),
        content_hash=content_hash(deliveries) if deliveries else None,
    )


def start_run(
    ledger: CampaignRuns,
    campaign: str,
    *,
    source: RunSource,
    kind: str = "publish",
    flow_run_id: str | None = None,
    user_id: str | None,
    now: datetime,
) -> RunStamp:
    """The run's row, before anything is sent. A LedgerError propagates: a run that cannot be
    recorded sends nothing (its claims could not be recorded either)."""
    run_id = ledger.start_campaign_run(
        campaign, flow_run_id=flow_run_id, user_id=user_id, now=now, source=source, kind=kind
    )
    return RunStamp(run_id, source.commit_sha)


def finish_run(
    ledger: CampaignRuns,
    stamp: RunStamp,
    outcome: Verdict,
    *,
    now: datetime,
    plan: Plan | None = None,
    error: str | None = None,
) -> None:
    """End the run `completed` when every delivery is resolved, else `failed` with the summary (or
    `error`, when the run itself stopped). Never raises: the outcomes are recorded (or journaled)
    already, and a row left `running` stops beating, so it is shown and then recorded `crashed`."""
    summary: dict[str, object] = {
        "deliveries": outcome.total,
        "unresolved": outcome.unresolved,
        "outcomes": outcome.counts,
    }
    if plan is not None:
        summary["plan"] = plan.counts()
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


@dataclass
class OpenRun:
    """A started run: what its deliveries came to so far (set by its caller as it goes)."""

    stamp: RunStamp
    outcome: Verdict = field(default_factory=lambda: verdict([]))
    plan: Plan | None = None


@contextmanager
def recorded_run(
    ledger: CampaignRuns,
    campaign: str,
    *,
    source: RunSource,
    kind: str,
    user_id: str | None,
    flow_run_id: str | None = None,
    now: Clock = _utc_now,
    timeout: float | None = None,
    crashed: Callable[[CampaignRun], bool] | None = None,
) -> Iterator[OpenRun]:
    """A run's row around the block: older runs of the campaign that went silent are recorded crashed
    first (`crashed` also names dead ones, as Prefect can), then the row starts (a LedgerError
    propagates: nothing is sent), beats while the block runs and ends with `outcome`, or `failed`
    with the error the block raised (re-raised). `timeout` is POSTDECK_CLAIM_HEARTBEAT_TIMEOUT's."""
    timeout = settings().claim_heartbeat_timeout if timeout is None else timeout
    record_crashed_runs(ledger, campaign, now=now(), timeout=timeout, crashed=crashed)
    run = OpenRun(
        start_run(
            ledger, campaign, source=source, kind=kind, flow_run_id=flow_run_id, user_id=user_id, now=now()
        )
    )
    try:
        with keep_run_alive(ledger, run.stamp.run_id, timeout=timeout, now=now):
            yield run
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        finish_run(ledger, run.stamp, run.outcome, now=now(), plan=run.plan, error=error)
        raise
    finish_run(ledger, run.stamp, run.outcome, now=now(), plan=run.plan)


class CampaignRunSet:
    """One run per campaign, each started when first needed (`stamp`), all ended together: a retry
    or a cancel acts on deliveries of several campaigns, and a campaign it ends up not acting on at
    any provider gets no row. Made by `runs_by_campaign`."""

    def __init__(
        self,
        ledger: CampaignRuns,
        stack: ExitStack,
        *,
        kind: str,
        user_id: str | None,
        source: Callable[[str], RunSource],
        judge: Callable[[list[object]], Verdict],
    ) -> None:
        self._ledger, self._stack, self._kind, self._user_id = ledger, stack, kind, user_id
        self._source, self._judge = source, judge
        self._runs: dict[str, OpenRun] = {}
        self._reports: dict[str, list[object]] = {}

    def stamp(self, campaign: str) -> RunStamp:
        """The campaign's run, started now if it is not yet (a LedgerError propagates: send nothing)."""
        if campaign not in self._runs:
            run = self._stack.enter_context(
                recorded_run(
                    self._ledger,
                    campaign,
                    source=self._source(campaign),
                    kind=self._kind,
                    user_id=self._user_id,
                )
            )
            self._runs[campaign] = run
        return self._runs[campaign].stamp

    def add(self, campaign: str, reports: Sequence[object]) -> None:
        """What became of some of the campaign's deliveries: counted in its run's end."""
        self._reports.setdefault(campaign, []).extend(reports)
        if campaign in self._runs:
            self._runs[campaign].outcome = self._judge(self._reports[campaign])

    @property
    def started(self) -> dict[str, RunStamp]:
        return {campaign: run.stamp for campaign, run in self._runs.items()}


@contextmanager
def runs_by_campaign(
    ledger: CampaignRuns,
    *,
    kind: str,
    user_id: str | None,
    source: Callable[[str], RunSource],
    judge: Callable[[list[object]], Verdict],
) -> Iterator[CampaignRunSet]:
    """A CampaignRunSet whose runs end (with their counts, or the error raised) when the block does."""
    with ExitStack() as stack:
        yield CampaignRunSet(ledger, stack, kind=kind, user_id=user_id, source=source, judge=judge)


# --- runs whose process is gone ---------------------------------------------------------------------


def last_alive(run: CampaignRun) -> datetime | None:
    """When the run was last known alive: its last heartbeat (its start, if it never beat)."""
    return run.heartbeat_at or run.started_at


def is_silent(run: CampaignRun, *, now: datetime, timeout: float) -> bool:
    """A `running` row whose last beat is older than the heartbeat timeout: its process is gone."""
    alive = last_alive(run)
    return run.status == "running" and alive is not None and alive + timedelta(seconds=timeout) < now


def _moment(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "its start"


def silence_note(run: CampaignRun, *, timeout: float) -> str:
    """Why a run still `running` in the ledger is shown crashed (`postdeck runs`)."""
    return (
        f"no heartbeat since {_moment(last_alive(run))} (the timeout is {timeout:.0f} s): its process "
        f"died or lost the ledger; recorded crashed when the next run of {run.campaign} starts"
    )


def record_crashed_runs(
    ledger: CampaignRuns,
    campaign: str,
    *,
    now: datetime,
    timeout: float,
    crashed: Callable[[CampaignRun], bool] | None = None,
) -> list[CampaignRun]:
    """Record `crashed` every running run of the campaign that is silent, or that `crashed` says is
    dead (Prefect's word for a flow run): ended at its last heartbeat, with why. Returns those
    recorded. Never raises: a run left `running` is still shown crashed, and the next run tries again."""
    try:
        running = ledger.campaign_runs(campaign, status="running", limit=1000)
    except LedgerError as exc:
        log.warning("%s: the running runs could not be read to find crashed ones: %s", campaign, exc)
        return []
    recorded = []
    for run in running:
        if is_silent(run, now=now, timeout=timeout):
            why = f"no heartbeat since {_moment(last_alive(run))} (the timeout is {timeout:.0f} s)"
        elif crashed is not None and crashed(run):
            why = (
                f"Prefect says flow run {run.flow_run_id} crashed (last heartbeat {_moment(last_alive(run))})"
            )
        else:
            continue
        error = f"crashed: {why}; recorded at {_moment(now)} by the next run of {campaign}"
        try:
            if ledger.crash_campaign_run(run, error=error):
                log.warning("campaign run %s of %s %s", run.id, campaign, error)
                recorded.append(run)
        except LedgerError as exc:
            log.warning("campaign run %s crashed, but that could not be recorded: %s", run.id, exc)
    return recorded
