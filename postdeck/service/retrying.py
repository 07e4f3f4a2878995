"""Retry failed deliveries (seed 002's schedules.retry) without breaking the exactly-once protocol.

A failed delivery is first reopened in the ledger (failed → claimed, atomically: of two retriers one
wins), then:
- a post LATE holds is re-run by LATE itself (`POST /posts/{id}/retry`): a new create would be refused
  or deduplicated by LATE as the same content; the attempt is noted before the call, as for a create;
- anything else is rebuilt from its file (service.sources) and sent again through the publisher.

Each campaign a retry acts on is a run (campaign_runs, kind `retry`), started before its first
delivery is reopened: a delivery sent again names it, with the commit of the file it was rebuilt from
when git has it; one LATE re-runs keeps the commit it had (the post is the one that commit made).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.holder import link_for, unreachable
from postdeck.engine.publisher import DEFAULT_LEASE_SECONDS, publish_batch
from postdeck.engine.runs import CampaignRunSet, RunStamp, file_source, runs_by_campaign
from postdeck.errors import LedgerError, PostdeckError
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.base import SupportsRetry
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import FailureKind, ProviderError
from postdeck.schemas.deliveries import Delivery
from postdeck.service.schedules import (
    RETRIED,
    Clock,
    Progress,
    ScheduleReport,
    recorded,
    run_outcome,
    siblings,
    skipped,
)
from postdeck.service.sources import rebuilt_from, source_file


def retry(
    records: Iterable[DeliveryRecord],
    *,
    ledger,
    chain: Chain,
    owner: str,
    posts: Path,
    campaigns: Sequence[Path],
    now: Clock = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> list[ScheduleReport]:
    """Retry failed deliveries (seed 002's schedules.retry). Never raises for a provider failure."""
    reports: list[ScheduleReport] = []
    at_late: dict[tuple[str, str], list[DeliveryRecord]] = {}
    rebuilt: list[tuple[DeliveryRecord, Delivery]] = []
    files: dict[str, set[Path]] = {}  # where each campaign's deliveries were rebuilt from, for its run
    user_id = None
    for record in records:
        user_id = user_id or record.user_id
        reported = len(reports)
        if record.status != DeliveryStatus.FAILED:
            why = f"only failed deliveries are retried; this one is {record.status}"
            if record.status == DeliveryStatus.UNKNOWN:  # issue 18: say the way out
                why += " (the follow-up settles it, or `postdeck resolve KEY --posted URL | --not-posted`)"
            elif record.status == DeliveryStatus.NOT_SENT:
                why += " (the next `postdeck publish` sends it)"
            reports.append(skipped(record, why))
        elif record.provider == "late" and record.provider_post_id:
            link = link_for(record, chain)
            if link is None or not isinstance(link.provider, SupportsRetry):
                reports.append(skipped(record, unreachable(record)))
            else:
                at_late.setdefault((link.label, record.provider_post_id), []).append(record)
        else:
            try:
                path = source_file(record, posts=posts, campaigns=campaigns)
                rebuilt.append((record, rebuilt_from(record, path, now=now())))
                files.setdefault(record.campaign, set()).add(path)
            except PostdeckError as exc:
                reports.append(skipped(record, str(exc)))
        if progress and len(reports) > reported:
            progress(record)

    def source(campaign: str):
        # One file (a campaign's, one ad-hoc post's): the run names it. Several ad-hoc posts: none.
        found = files.get(campaign, set())
        path = next(iter(found)) if len(found) == 1 else None
        return file_source(path, [d for r, d in rebuilt if r.campaign == campaign])

    def judge(got: list[Any]):
        return run_outcome(got, goal=RETRIED)

    with runs_by_campaign(ledger, kind="retry", user_id=user_id, source=source, judge=judge) as runs:
        for (label, post_id), group in at_late.items():
            # LATE re-runs every failed platform of the post: their deliveries are retried with it.
            group += siblings(ledger, group, "late", post_id, "failed")
            reports += _retry_at_late(
                group, chain.link(label), post_id, ledger=ledger, chain=chain, owner=owner, now=now, runs=runs
            )
            for record in group:
                if progress:
                    progress(record)
        reports += _recreate(
            rebuilt, ledger=ledger, chain=chain, owner=owner, now=now, progress=progress, runs=runs
        )
    return reports


def _run_for(runs: CampaignRunSet, records: list[DeliveryRecord]) -> RunStamp | list[ScheduleReport]:
    """The run of these deliveries' campaign (started now if need be), or, when it cannot be recorded,
    each of them reported not retried: nothing is sent without a run that it names."""
    try:
        return runs.stamp(records[0].campaign)
    except LedgerError as exc:
        return [skipped(r, f"not retried: the run could not be recorded: {exc}") for r in records]


def _stamp(ledger, records: list[DeliveryRecord], owner: str, run: RunStamp) -> None:
    """Name the run on reopened deliveries LATE re-runs; each keeps its commit (its post is that commit's)."""
    by_commit: dict[str | None, list[str]] = {}
    for record in records:
        by_commit.setdefault(record.commit_sha, []).append(record.key)
    for commit, keys in by_commit.items():
        ledger.stamp_run(keys, owner=owner, run_id=run.run_id, commit_sha=commit)


def _reopen(ledger, records: Iterable[DeliveryRecord], owner: str, now: Clock, reports: list[ScheduleReport]):
    reopened = []
    for record in records:
        try:
            if ledger.reopen_failed(record.key, owner=owner, lease_seconds=DEFAULT_LEASE_SECONDS, now=now()):
                reopened.append(record)
            else:
                reports.append(skipped(record, "not failed any more: another retry or run has it"))
        except LedgerError as exc:
            reports.append(skipped(record, f"not retried: {exc}"))
    return reopened


def _retry_at_late(
    group: list[DeliveryRecord],
    link: Link | None,
    post_id: str,
    *,
    ledger,
    chain: Chain,
    owner: str,
    now: Clock,
    runs: CampaignRunSet,
) -> list[ScheduleReport]:
    reports: list[ScheduleReport] = []
    assert link is not None
    run = _run_for(runs, group)
    if isinstance(run, list):
        return run
    reopened = _reopen(ledger, group, owner, now, reports)
    if not reopened:
        runs.add(group[0].campaign, reports)
        return reports
    keys = [r.key for r in reopened]
    post_key = next((r.post_key for r in group if r.post_key), "") or ""
    try:
        _stamp(ledger, reopened, owner, run)
        # As before a create: a crash after this call is recovered by looking the post key up.
        ledger.note_attempt(keys, owner=owner, provider=link.label, post_key=post_key)
        outcome = chain.retry_post(link.label, post_id)
    except (LedgerError, ProviderError) as exc:
        maybe = isinstance(exc, ProviderError) and exc.kind == FailureKind.MAYBE_SENT
        status = DeliveryStatus.UNKNOWN if maybe else DeliveryStatus.FAILED
        common = {"provider": "late", "provider_post_id": post_id, "post_key": post_key or None}
        outcomes = {r.key: Outcome(status, error=f"retry: {exc}", **common) for r in reopened}
    else:
        outcomes = {r.key: to_outcome(outcome, Platform(r.platform), "late", post_key) for r in reopened}
    for record in reopened:
        reports.append(recorded(ledger, record, outcomes[record.key], owner, now, "retried"))
    runs.add(group[0].campaign, reports)
    return reports


def _recreate(
    rebuilt: list[tuple[DeliveryRecord, Delivery]],
    *,
    ledger,
    chain: Chain,
    owner: str,
    now: Clock,
    progress: Progress | None,
    runs: CampaignRunSet,
) -> list[ScheduleReport]:
    reports: list[ScheduleReport] = []
    by_campaign: dict[str, list[tuple[DeliveryRecord, Delivery]]] = {}
    for record, delivery in rebuilt:
        by_campaign.setdefault(record.campaign, []).append((record, delivery))
    for campaign, pairs in by_campaign.items():
        got: list[ScheduleReport] = []
        run = _run_for(runs, [r for r, _ in pairs])
        if isinstance(run, list):
            reports += run
            continue
        reopened = set(r.key for r in _reopen(ledger, [r for r, _ in pairs], owner, now, got))
        batches: dict[str, list[tuple[DeliveryRecord, Delivery]]] = {}
        for record, delivery in pairs:
            if record.key in reopened:
                batches.setdefault(delivery.batch_id, []).append((record, delivery))
        for batch in batches.values():
            # The claim is ours (reopened), with no attempt noted: the publisher sends it afresh,
            # naming this run and the commit of the file it was rebuilt from.
            sent = publish_batch(
                [d for _, d in batch], ledger=ledger, chain=chain, owner=owner, now=now, stamp=run
            )
            for (record, _), report in zip(batch, sent, strict=True):
                got.append(
                    ScheduleReport(
                        record.key,
                        record.platform,
                        str(record.status),
                        report.status,
                        "retried",
                        report.provider,
                        report.url,
                        report.error,
                    )
                )
                if progress:
                    progress(record)
        runs.add(campaign, got)
        reports += got
    return reports
