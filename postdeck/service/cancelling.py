"""Cancel scheduled deliveries (seed 002's schedules.delete): deleted at their provider, then recorded.

A provider post carries every platform of a batch: cancelling one of them alone would cancel the
others too, so that is refused unless they are cancelled together. The provider is asked first: a post
already published is recorded as such, not cancelled.

Each campaign a cancel acts on at a provider is a run (campaign_runs, kind `cancel`), started before
its first provider call; each delivery cancelled names it and keeps its commit (no file is read: the
post cancelled is the one that commit made). A cancel refused before any provider call is no run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.engine.holder import link_for, no_longer_scheduled, unreachable, what_the_provider_says
from postdeck.engine.runs import CampaignRunSet, RunStamp, file_source, runs_by_campaign
from postdeck.errors import LedgerError
from postdeck.ledger.records import DeliveryRecord, RunSource
from postdeck.providers.chain import Chain
from postdeck.providers.errors import ProviderError
from postdeck.service.schedules import (
    CANCELLED,
    Clock,
    Progress,
    ScheduleReport,
    recorded,
    run_outcome,
    siblings,
    skipped,
)

log = logging.getLogger("postdeck.service")


def cancel(
    records: Iterable[DeliveryRecord],
    *,
    ledger,
    chain: Chain,
    with_siblings: bool = False,
    now: Clock = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> list[ScheduleReport]:
    """Cancel scheduled deliveries (seed 002's schedules.delete). Never raises for a provider failure."""
    reports: list[ScheduleReport] = []
    posts: dict[tuple[str, str], list[DeliveryRecord]] = {}
    records = list(records)
    for record in records:
        if record.status != DeliveryStatus.SCHEDULED:
            reports.append(
                skipped(record, f"only scheduled posts can be cancelled; this one is {record.status}")
            )
        elif not record.provider or not record.provider_post_id:
            reports.append(skipped(record, "no provider post is recorded for it"))
        else:
            posts.setdefault((record.provider, record.provider_post_id), []).append(record)
            continue
        if progress:
            progress(record)

    def source(campaign: str) -> RunSource:
        return file_source(None)

    def judge(got: list[Any]):
        return run_outcome(got, goal=CANCELLED)

    user_id = next((r.user_id for r in records if r.user_id), None)
    with runs_by_campaign(ledger, kind="cancel", user_id=user_id, source=source, judge=judge) as runs:
        for (provider, post_id), group in posts.items():
            got = _cancel_post(
                provider,
                post_id,
                group,
                ledger=ledger,
                chain=chain,
                with_siblings=with_siblings,
                now=now,
                runs=runs,
            )
            runs.add(group[0].campaign, got)
            reports += got
            for record in group:
                if progress:
                    progress(record)
    return reports


def pin(
    reports: list[ScheduleReport], *, ledger, now: Clock = lambda: datetime.now(UTC)
) -> list[ScheduleReport]:
    """Pin every reported delivery that is cancelled (now or before): publishing its campaign leaves
    it cancelled instead of creating it again from the file (`postdeck cancel --keep-cancelled`)."""
    pinned = set(ledger.keep_cancelled([r.key for r in reports if r.after == "cancelled"], now=now()))
    return [
        dataclasses.replace(r, action="kept cancelled", error=None) if r.key in pinned else r for r in reports
    ]


def _cancel_post(
    provider: str,
    post_id: str,
    group: list[DeliveryRecord],
    *,
    ledger,
    chain: Chain,
    with_siblings: bool,
    now: Clock,
    runs: CampaignRunSet,
) -> list[ScheduleReport]:
    others = siblings(ledger, group, provider, post_id, "scheduled")
    if others and not with_siblings:
        keys = ", ".join(s.key for s in others)
        why = f"its {provider} post {post_id} also carries {keys}: cancel them together (or --with-siblings)"
        return [skipped(r, why) for r in group]
    group = group + others
    link = link_for(group[0], chain)
    if link is None:
        return [skipped(r, unreachable(r)) for r in group]
    try:
        run = runs.stamp(group[0].campaign)  # the first provider call of this campaign's run is next
    except LedgerError as exc:
        return [skipped(r, f"not cancelled: the run could not be recorded: {exc}") for r in group]
    try:
        outcomes = what_the_provider_says(chain, link, post_id, group)
    except ProviderError as exc:
        return [skipped(r, f"cannot read the post at {link.label}: {exc}") for r in group]
    if no_longer_scheduled(outcomes):
        # Published (or failed) meanwhile: record what the provider says instead of cancelling.
        return [
            recorded(ledger, r, outcomes[r.key], None, now, "refreshed")
            if outcomes[r.key].status != r.status
            else skipped(r, "the rest of its post is no longer scheduled")
            for r in group
        ]
    try:
        chain.cancel(link.label, post_id)
    except ProviderError as exc:
        return [skipped(r, f"not cancelled: {exc}") for r in group]
    cancelled = Outcome(DeliveryStatus.CANCELLED, provider=provider, provider_post_id=post_id)
    _stamp(ledger, group, run)
    return [recorded(ledger, r, cancelled, None, now, "cancelled") for r in group]


def _stamp(ledger, group: list[DeliveryRecord], run: RunStamp) -> None:
    """Cancelled at the provider: each delivery names the run that cancelled it, and keeps its commit.
    Not stamped (the ledger was away) is only a missing name: the cancel is recorded all the same."""
    by_commit: dict[str | None, list[str]] = {}
    for record in group:
        by_commit.setdefault(record.commit_sha, []).append(record.key)
    try:
        for commit, keys in by_commit.items():
            ledger.stamp_run(keys, owner=None, run_id=run.run_id, commit_sha=commit)
    except LedgerError as exc:
        log.warning("cancelled, but not named on the run %s: %s", run.run_id, exc)
