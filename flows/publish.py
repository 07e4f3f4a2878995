"""The `publish-campaign` Prefect flow: validate, render, plan, then apply the plan.

Creates go out as one Prefect task per batch (named after the batch); updates and cancels of
scheduled posts are applied per provider post; conflicts are refused unless `allow_repost`.
This module orchestrates only: every decision lives in plain functions (postdeck.engine.plan,
postdeck.engine.publisher, postdeck.engine.apply, providers.chain) that the CLI and the tests call too.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from postdeck.engine.apply import apply_scheduled_changes
from postdeck.engine.decisions import creates_of, deliveries_of, in_campaign_order, reported_as_is
from postdeck.engine.plan import Action, Plan, make_plan
from postdeck.engine.plan_checks import check_plan_is_current, plan_shape, require_reviewed_plan
from postdeck.engine.plan_file import load_plan
from postdeck.engine.provider_census import require_not_at_providers
from postdeck.engine.publisher import DeliveryReport, publish_batch
from postdeck.engine.runs import RunStamp, publish_source, recorded_run
from postdeck.engine.source import (
    Source,
    campaign_source,
    check_clean,
    repository_of,
    require_on_branch,
    resolve_ref,
)
from postdeck.engine.verdict import outcome_word, verdict
from postdeck.errors import CampaignErrors, PlanError, PostdeckError
from postdeck.flows.chains import publishing_chain, warming_up
from postdeck.flows.crashed import crashed_flow_run, expire_crashed_claims
from postdeck.flows.limits import ProviderCaps, process_concurrency
from postdeck.flows.params import PublishParams
from postdeck.flows.reports import Progress, change_report, needs_attention, publish_artifacts
from postdeck.ledger import flush_journal, open_ledger
from postdeck.ledger.base import Ledger, LedgerWriter
from postdeck.ledger.journal_guard import require_ledger_has_journaled
from postdeck.preview.month_table import month_markdown
from postdeck.preview.run_site import write_run_site
from postdeck.providers.chain import Chain
from postdeck.schemas.campaign_names import name_clashes
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.media import MediaRef
from postdeck.schemas.validation import require_valid
from postdeck.settings import file_limits, settings


def _batch_run_name(parameters: dict[str, Any]) -> str:
    """Each batch is a task run in the UI named after it (set here, not with 250 `with_options` copies)."""
    return f"batch-{parameters['deliveries'][0].batch_id}"


# Prefect's TaskRunNameCallbackWithParameters protocol has a classmethod no function has: a function
# of `parameters` (which Prefect does call so) cannot satisfy its typing.
@task(name="publish-batch", task_run_name=_batch_run_name, cache_policy=NO_CACHE, retries=0)  # type: ignore[arg-type]
def publish_batch_task(
    deliveries: list[Delivery],
    ledger: LedgerWriter,
    chain: Chain,
    caps: ProviderCaps,
    owner: str,
    stamp: RunStamp | None = None,
) -> list[dict] | State:
    """Publish one batch. No Prefect retries: the exactly-once protocol decides what may be resent.

    The task run ends Failed when any delivery is unresolved, so the UI, state filters and automations
    see it; its reports travel with the state either way."""
    with caps.batch():  # a place in the run's reservation of the provider limits: no server request
        reports = publish_batch(deliveries, ledger=ledger, chain=chain, owner=owner, stamp=stamp)
    level, line = batch_log_line(reports)
    get_run_logger().log(level, "%s", line)  # one line per batch: each goes through the Prefect API
    return _as_state([asdict(r) for r in reports])


def _as_state(rows: list[dict], *, dry_run: bool = False) -> list[dict] | State:
    """The rows as they are when every delivery is resolved, else a Failed state carrying them."""
    outcome = verdict(rows, dry_run=dry_run)
    return rows if outcome.ok else Failed(message=outcome.summary(), data=rows)


@task(name="apply-scheduled-changes", cache_policy=NO_CACHE, retries=0)
def apply_changes_task(
    plan: Plan, ledger: LedgerWriter, chain: Chain, caps: ProviderCaps, stamp: RunStamp | None = None
) -> list[dict] | State:
    """Updates and cancels of scheduled posts (a PUT or DELETE replaces the whole post: safe to redo)."""
    with caps.batch():  # its calls go one at a time: one place covers them
        applied = apply_scheduled_changes(plan, ledger=ledger, chain=chain, stamp=stamp)
        return _as_state([asdict(r) for r in applied])


def batch_log_line(reports: list[DeliveryReport]) -> tuple[int, str]:
    """One batch in one log line: counts by action and status, then each delivery that needs a look."""
    if not reports:
        return logging.INFO, "nothing to publish"
    # In the verdict's words: a create that failed is `failed`, never `sent` (the attempt's action).
    words = [outcome_word({"action": r.action, "status": r.status}) for r in reports]
    counts = Counter(words)
    providers = sorted({r.provider for r in reports if r.provider})
    line = f"{reports[0].batch_id}: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    line += f" via {', '.join(providers)}" if providers else ""
    problems = [r for r in reports if needs_attention(r.status, r.action)]
    if not problems:
        return logging.INFO, line
    details = "; ".join(
        f"{r.key} {outcome_word({'action': r.action, 'status': r.status})}: {r.error or ''}" for r in problems
    )
    return logging.WARNING, f"{line}. Needs attention: {details}"


def _run_name() -> str:
    """`publish-<campaign>@<sha8>` of the commit published (`+dirty` is added once known)."""
    params = PublishParams.model_validate((flow_run.parameters or {}).get("params") or {})
    return run_name(params.campaign, _commit_for_name(params))


def run_name(campaign: str, label: str) -> str:
    return f"publish-{Path(campaign).stem}@{label}"


def _commit_for_name(params: PublishParams) -> str:
    try:
        repo = repository_of(Path(params.campaign))
        return resolve_ref(params.ref or "HEAD", repo, params.campaign)[:8] if repo else "no-commit"
    except PostdeckError:  # the flow itself reports a bad ref (or no git), with its location
        return params.ref or "no-commit"


def _rename_run(name: str) -> None:
    """The name is set before the flow knows whether the tree is dirty: say so once it does."""
    from prefect.client.orchestration import get_client

    if flow_run.id and flow_run.name != name:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name)


# Bounded: the default pool starts one thread per batch, and they would all queue at once.
@flow(
    name="publish-campaign",
    flow_run_name=_run_name,
    log_prints=False,
    # Prefect types flow's task_runner as TaskRunner[PrefectFuture] (invariant): its own
    # ThreadPoolTaskRunner, a TaskRunner[PrefectConcurrentFuture], does not fit that typing.
    task_runner=ThreadPoolTaskRunner(max_workers=process_concurrency()),  # type: ignore[arg-type]
)
def publish_campaign(params: PublishParams | None = None) -> list[dict] | State:
    """Publish a campaign file: apply its plan, every batch × platform exactly once.

    Returns the reports, or a Failed state carrying them (`state.result(raise_on_failure=False)`)
    when any delivery is unresolved: the run is Completed only when every one is resolved."""
    params = params or PublishParams()
    logger = get_run_logger()
    _require_reviewed_ref(params)
    with campaign_source(params.campaign, params.ref) as source:
        if source.deleted:  # gone at this commit: nothing of it should exist, so cancel what is scheduled
            loaded, deliveries = load_campaign(source.path, limits=file_limits()), []
        else:
            # What passes `validate` is what gets published; a file beside it of its name (at the ref
            # too) would share its ledger keys.
            report = require_valid(source.path, limits=file_limits())
            if clashes := name_clashes([source.path], limits=file_limits()):
                raise CampaignErrors(clashes)
            assert report.loaded is not None
            loaded = report.loaded
            deliveries = deliveries_of(report, params.batches)  # rendered once, by the validation
        source = _gate(
            source,
            params,
            [loaded.templates_folder, *(m.path for d in deliveries for m in d.media if m.path)],
        )
        logger.info("%s: publishing %s", loaded.campaign.name, _describe(source))
        ledger = open_ledger()
        flush_journal(ledger)  # outcomes an earlier database outage kept locally go in first
        # A new or replaced ledger would plan what the journal saw posted as creates: refuse.
        require_ledger_has_journaled(ledger, ledger.journal, loaded.campaign.name, loaded.campaign.owner)
        now = datetime.now(UTC)
        # A crashed run's claims (of this owner's campaign of this name): taken over now.
        expire_crashed_claims(ledger, loaded.campaign.name, now, owner=loaded.campaign.owner)
        plan = make_plan(
            loaded.campaign.name,
            deliveries,
            ledger,
            now,
            include_cancels=params.batches is None,
            owner=loaded.campaign.owner,
        )
        if params.plan:
            _check_saved_plan(Path(params.plan), plan, ledger)
        if params.expect_plan:
            require_reviewed_plan(plan, params.expect_plan)  # Atlantis-style: apply what was reviewed
        creates = creates_of(plan, loaded, now, allow_repost=params.allow_repost)
        as_is = [reported_as_is(c, allow_repost=params.allow_repost) for c in plan.changes]
        reports = [change_report(c) for c, kept in zip(plan.changes, as_is, strict=True) if kept]
        if params.dry_run:
            note = "dry run: not sent"
            reports += [
                change_report(c, note=note) for c, kept in zip(plan.changes, as_is, strict=True) if not kept
            ]
        else:  # one recorded run: every delivery it sends names it; it beats; its end has the counts
            owner = loaded.campaign.owner
            with _recorded_run(plan, deliveries, ledger, params, source, owner) as run:
                logger.info(
                    "%s: recorded as campaign run %s (postdeck runs)", loaded.campaign.name, run.stamp.run_id
                )
                run.plan, run.outcome = plan, verdict(reports)  # what a stop half-way leaves counted
                reports += _apply(plan, creates, ledger, owner, params, run.stamp)
                run.outcome = verdict(reports)
        # The run's full preview site, beside it; written while a ref's checkout (its media) is there.
        site = write_run_site(
            loaded.campaign, params.campaign, plan, reports, run_id=str(flow_run.id or uuid.uuid4()),
            now=now, source=_describe(source), dry_run=params.dry_run,
        )  # fmt: skip
    reports = in_campaign_order(reports, deliveries)
    publish_artifacts(loaded.campaign.name, reports, source=_describe(source))
    if site.problem:
        logger.warning("%s: the run's preview site was not written: %s", loaded.campaign.name, site.problem)
    # The month calendar of the run, linking the full site.
    month = month_markdown(
        loaded.campaign.name, loaded.campaign.timezone, deliveries, reports, now, site=site.for_markdown
    )
    create_markdown_artifact(key=f"calendar-{loaded.campaign.name}", markdown=month)
    logger.info("%s: %s", loaded.campaign.name, verdict(reports, dry_run=params.dry_run).summary())
    return _as_state(reports, dry_run=params.dry_run)


def _require_reviewed_ref(params: PublishParams) -> None:
    """Where a deployment is set to publish reviewed commits only (POSTDECK_REQUIRE_REF=1, as the
    production deployment is), a run without `ref` is refused before anything is read."""
    if settings().require_ref and not params.ref:
        if flow_run.id:  # named before this was known: it publishes no commit at all
            _rename_run(run_name(params.campaign, "no-ref"))
        raise PlanError(
            f"{params.campaign}: this deployment publishes a reviewed commit only: give `ref` "
            '(a commit SHA, branch or tag), e.g. --param params=\'{"campaign": ..., "ref": "main"}\''
        )


def _gate(source: Source, params: PublishParams, reads: list[Path]) -> Source:
    """Review is the gate: a working tree that differs from its commit for what the campaign reads is
    refused unless allowed; an optional policy accepts only commits on a branch."""
    if not params.ref:
        source = check_clean(source, reads, allow_dirty=params.allow_dirty, campaign=params.campaign)
    branch = settings().require_branch
    if branch and source.commit:
        repo = repository_of(Path(params.campaign))
        if repo is not None:
            require_on_branch(repo, source.commit, branch, params.campaign)
    name = run_name(params.campaign, source.label)
    if flow_run.id:
        _rename_run(name)
    return source


def _describe(source: Source) -> str:
    if source.commit is None:
        return "a file outside any git repository (no commit)"
    if source.deleted:
        return f"commit {source.commit[:8]}, where the campaign file is deleted (its scheduled posts are cancelled)"
    return f"commit {source.commit[:8]}" + (" with uncommitted changes (dirty)" if source.dirty else "")


def _recorded_run(
    plan: Plan,
    deliveries: list[Delivery],
    ledger: Ledger,
    params: PublishParams,
    source: Source,
    owner: str | None,
):
    """The run's row around applying the plan: started before anything is sent (nothing is sent if
    it cannot be written), beating while the run lives, ended with its counts or its error. Older
    runs of the campaign that went silent, or that Prefect says crashed, are recorded crashed first."""
    return recorded_run(
        ledger,
        plan.campaign,
        source=publish_source(source, campaign_path=params.campaign, deliveries=deliveries, plan=plan),
        kind="publish",
        user_id=owner,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        crashed=crashed_flow_run,
    )


def _apply(
    plan: Plan,
    creates: list[Delivery],
    ledger: Ledger,
    owner: str | None,
    params: PublishParams,
    stamp: RunStamp,
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
        if creates and all(c.record is None for c in plan.changes):
            # The ledger knows nothing of this campaign: unless the providers do (it was lost with
            # its journal), this is its first publish.
            require_not_at_providers(run.chain, creates, ledger=ledger.ident, path=params.campaign)
        futures = [
            (batch, publish_batch_task.submit(group, ledger, run.chain, run.caps, run_owner, stamp))
            for batch, group in groups.items()
        ]
        if has_scheduled_changes:
            futures.append(
                ("updates and cancels", apply_changes_task.submit(plan, ledger, run.chain, run.caps, stamp))
            )
        progress = Progress(len(futures))
        for batch, future in futures:
            rows = future.result(raise_on_failure=False)  # a batch Failed by its verdict carries its rows
            if isinstance(rows, BaseException):  # the task itself raised: not a verdict, a real error
                raise rows
            # A task that returns a State ends in it, and its result is that state's data: the rows.
            reports.extend(cast("list[dict]", rows))
            progress.advance(batch)
    return reports


def _check_saved_plan(path: Path, plan: Plan, ledger: LedgerWriter) -> None:
    """A saved plan is applied only if the ledger and the campaign are still what it was made from."""
    saved = load_plan(path)
    check_plan_is_current(saved, ledger)

    if (saved.campaign, saved.owner) != (plan.campaign, plan.owner) or plan_shape(saved) != plan_shape(plan):
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
