"""The `publish-campaign` Prefect flow: validate, render, plan, then apply the plan.

Creates go out as one Prefect task per batch (named after the batch); updates and cancels of
scheduled posts are applied per provider post; conflicts are refused unless `allow_repost`.
This module orchestrates only: every decision lives in plain functions (postdeck.engine.plan,
postdeck.engine.publisher, postdeck.engine.apply, providers.chain) that the CLI and the tests call too.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from postdeck.engine.apply import apply_scheduled_changes
from postdeck.engine.plan import (
    Action,
    Plan,
    check_plan_is_current,
    delivery_of,
    load_plan,
    make_plan,
    repost_key,
)
from postdeck.engine.publisher import DeliveryReport, publish_batch
from postdeck.errors import PlanError
from postdeck.flows.chains import publishing_chain, warming_up
from postdeck.flows.limits import ProviderCaps, process_concurrency
from postdeck.flows.params import PublishParams
from postdeck.flows.reports import change_report, needs_attention, publish_artifacts
from postdeck.flows.source import campaign_source, git_commit
from postdeck.ledger import flush_journal, open_ledger
from postdeck.ledger.base import LedgerWriter
from postdeck.providers.chain import Chain
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.media import MediaRef
from postdeck.schemas.timing import apply_late_policy
from postdeck.schemas.validation import require_valid


def _batch_run_name(parameters: dict) -> str:
    """Each batch is a task run in the UI named after it (set here, not with 250 `with_options` copies)."""
    return f"batch-{parameters['deliveries'][0].batch_id}"


@task(name="publish-batch", task_run_name=_batch_run_name, cache_policy=NO_CACHE, retries=0)
def publish_batch_task(
    deliveries: list[Delivery], ledger: LedgerWriter, chain: Chain, caps: ProviderCaps, owner: str
) -> list[dict]:
    """Publish one batch. No Prefect retries: the exactly-once protocol decides what may be resent."""
    with caps.batch():  # a place in the run's reservation of the provider limits: no server request
        reports = publish_batch(deliveries, ledger=ledger, chain=chain, owner=owner)
    level, line = batch_log_line(reports)
    get_run_logger().log(level, "%s", line)  # one line per batch: each goes through the Prefect API
    return [asdict(r) for r in reports]


@task(name="apply-scheduled-changes", cache_policy=NO_CACHE, retries=0)
def apply_changes_task(plan: Plan, ledger: LedgerWriter, chain: Chain, caps: ProviderCaps) -> list[dict]:
    """Updates and cancels of scheduled posts (a PUT or DELETE replaces the whole post: safe to redo)."""
    with caps.batch():  # its calls go one at a time: one place covers them
        return [asdict(r) for r in apply_scheduled_changes(plan, ledger=ledger, chain=chain)]


def batch_log_line(reports: list[DeliveryReport]) -> tuple[int, str]:
    """One batch in one log line: counts by action and status, then each delivery that needs a look."""
    if not reports:
        return logging.INFO, "nothing to publish"
    counts = Counter(f"{r.action} {r.status}" for r in reports)
    providers = sorted({r.provider for r in reports if r.provider})
    line = f"{reports[0].batch_id}: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    line += f" via {', '.join(providers)}" if providers else ""
    problems = [r for r in reports if needs_attention(r.status, r.action)]
    if not problems:
        return logging.INFO, line
    details = "; ".join(f"{r.key} {r.action} {r.status}: {r.error or ''}" for r in problems)
    return logging.WARNING, f"{line}. Needs attention: {details}"


def _run_name() -> str:
    params = PublishParams.model_validate((flow_run.parameters or {}).get("params") or {})
    commit = git_commit(params.ref)
    return f"publish-{Path(params.campaign).stem}@{commit[:8] if commit else 'worktree'}"


# Bounded: the default pool starts one thread per batch, and they would all queue at once.
@flow(
    name="publish-campaign",
    flow_run_name=_run_name,
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=process_concurrency()),
)
def publish_campaign(params: PublishParams | None = None) -> list[dict]:
    """Publish a campaign file: apply its plan, every batch × platform exactly once."""
    params = params or PublishParams()
    logger = get_run_logger()
    with campaign_source(params.campaign, params.ref) as path:
        loaded = require_valid(path).loaded  # what passes `validate` is what gets published
        assert loaded is not None
        deliveries = expand(loaded, only_batches=params.batches)
        ledger = open_ledger()
        flush_journal(ledger)  # outcomes an earlier database outage kept locally go in first
        now = datetime.now(UTC)
        plan = make_plan(
            loaded.campaign.name, deliveries, ledger, now, include_cancels=params.batches is None
        )
        if params.plan:
            _check_saved_plan(Path(params.plan), plan, ledger)
        creates = apply_late_policy(loaded, [c.delivery for c in plan.of(Action.CREATE) if c.delivery], now)
        reposts = [c for c in plan.of(Action.CONFLICT) if c.delivery] if params.allow_repost else []
        creates += [dataclasses.replace(c.delivery, key=repost_key(c.delivery)) for c in reposts]

        reports = [change_report(c) for c in plan.changes if _reported_as_is(c, params)]
        if params.dry_run:
            reports += [
                change_report(c, note="dry run: not sent")
                for c in plan.changes
                if not _reported_as_is(c, params)
            ]
        else:
            reports += _apply(plan, creates, ledger, loaded.campaign.owner, params)
    order = {d.key: i for i, d in enumerate(deliveries)}
    reports.sort(key=lambda r: order.get(delivery_of(r["key"]), len(order)))
    publish_artifacts(loaded.campaign.name, reports)
    logger.info(
        "%s: %d deliveries, %d sent this run",
        loaded.campaign.name,
        len(reports),
        sum(r["action"] == "sent" for r in reports),
    )
    return reports


def _reported_as_is(change, params: PublishParams) -> bool:
    """Changes this run does not act on: unchanged, in flight, and conflicts without allow_repost."""
    return change.action in (Action.UNCHANGED, Action.IN_FLIGHT) or (
        change.action == Action.CONFLICT and not params.allow_repost
    )


def _apply(
    plan: Plan, creates: list[Delivery], ledger: LedgerWriter, owner: str | None, params: PublishParams
) -> list[dict]:
    has_scheduled_changes = bool(plan.of(Action.UPDATE) or plan.of(Action.CANCEL))
    if not creates and not has_scheduled_changes:
        return []
    run_owner = f"flow-run:{flow_run.id or uuid.uuid4()}"
    reports: list[dict] = []
    groups = _by_batch(creates)
    with (
        publishing_chain(owner, ledger, sandbox=params.sandbox, secret_blocks=params.secret_blocks) as run,
        run.caps.reserve(len(groups) + has_scheduled_changes),  # the cross-worker slots, once per run
        warming_up(run, _shared_media(groups)) if groups else nullcontext(),
    ):
        futures = [
            publish_batch_task.submit(group, ledger, run.chain, run.caps, run_owner)
            for group in groups.values()
        ]
        if has_scheduled_changes:
            futures.append(apply_changes_task.submit(plan, ledger, run.chain, run.caps))
        for future in futures:
            reports.extend(future.result())
    return reports


def _check_saved_plan(path: Path, plan: Plan, ledger: LedgerWriter) -> None:
    """A saved plan is applied only if the ledger and the campaign are still what it was made from."""
    saved = load_plan(path)
    check_plan_is_current(saved, ledger)

    def shape(p: Plan) -> list[tuple[str, str, str]]:
        return [(str(c.action), c.key, c.delivery.content_hash if c.delivery else "") for c in p.changes]

    if saved.campaign != plan.campaign or shape(saved) != shape(plan):
        raise PlanError(f"{path}: the campaign changed since this plan was made; run `postdeck plan` again")


def _shared_media(groups: dict[str, list[Delivery]]) -> list[MediaRef]:
    """Local files that more than one batch posts: uploaded once, before those batches need them."""
    uses = Counter(ref for group in groups.values() for ref in {m for d in group for m in d.media})
    return [ref for ref, n in uses.items() if n > 1 and ref.path is not None]


def _by_batch(deliveries: list[Delivery]) -> dict[str, list[Delivery]]:
    groups: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.batch_id, []).append(delivery)
    return groups
