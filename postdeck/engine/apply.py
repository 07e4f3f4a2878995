"""Apply a plan's updates and cancels to posts that are scheduled at a provider.

A provider post carries several deliveries (one per platform of a batch), and both providers
replace a scheduled post as a whole (PUT) or delete it as a whole. So changes are applied per
provider post: the new request holds every delivery of that post that should remain, with its
desired content and time; a post left with no delivery is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.generations import REMOVED
from postdeck.engine.holder import link_for, no_longer_scheduled, unreachable, what_the_provider_says
from postdeck.engine.plan import Action, Change, Plan
from postdeck.engine.publisher import DeliveryReport
from postdeck.engine.runs import RunStamp
from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.base import PostOutcome, PostRequest, target_for
from postdeck.providers.chain import Chain, Link, to_outcome
from postdeck.providers.errors import ProviderError
from postdeck.schemas.deliveries import Delivery

log = logging.getLogger("postdeck.engine.apply")


@dataclass(frozen=True)
class _PostGroup:
    provider: str
    provider_post_id: str
    record: DeliveryRecord  # one record of the post: where it lives and its post key
    keep: tuple[Change, ...]  # UPDATE and UNCHANGED changes whose delivery stays on the post
    drop: tuple[Change, ...]  # CANCEL changes: targets leaving the post


def apply_scheduled_changes(
    plan: Plan,
    *,
    ledger: LedgerWriter,
    chain: Chain,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    stamp: RunStamp | None = None,
) -> list[DeliveryReport]:
    """Apply every UPDATE and CANCEL of the plan; report one line per changed delivery. With a stamp,
    each delivery changed names the run and commit that changed it."""
    reports: list[DeliveryReport] = []
    for group in _groups(plan):
        link = link_for(group.record, chain)
        changed = [c for c in group.keep if c.action == Action.UPDATE] + list(group.drop)
        if link is None:
            reports += [_report(c, "failed", error=unreachable(group.record)) for c in changed]
            continue
        try:
            records = [c.record for c in (*group.keep, *group.drop) if c.record is not None]
            said = what_the_provider_says(chain, link, group.provider_post_id, records)
            if no_longer_scheduled(said):  # its time came since it was recorded: history now, not a change
                reports += _as_it_went(changed, group, said, ledger, now())
                continue
            if group.keep:
                outcome = chain.update(link.label, group.provider_post_id, _request(group, link, chain))
            else:
                chain.cancel(link.label, group.provider_post_id)
                outcome = None
        except ProviderError as exc:
            log.warning("%s %s: not applied: %s", group.provider, group.provider_post_id, exc)
            reports += [_report(c, str(c.record.status) if c.record else "", error=str(exc)) for c in changed]
            continue
        for change in changed:
            reports.append(_record(change, outcome, link, ledger, now(), stamp))
    return reports


def _as_it_went(
    changed: list[Change], group: _PostGroup, said: dict[str, Outcome], ledger: LedgerWriter, now: datetime
) -> list[DeliveryReport]:
    """The post is no longer scheduled at its provider (published, or failed): every delivery of it is
    recorded as the provider has it, and each change the plan wanted is reported as not made."""
    for change in (*group.keep, *group.drop):
        if change.record is not None and said[change.key].status != change.record.status:
            try:
                ledger.record(change.key, said[change.key], owner=None, now=now)
            except LedgerError as exc:
                log.warning(
                    "%s: %s at its provider, not recorded: %s", change.key, said[change.key].status, exc
                )
    reports = []
    for change in changed:
        outcome = said[change.key]
        verb = "cancelled" if change.action == Action.CANCEL else "updated"
        why = f"it went out before it could be {verb}"
        if outcome.status != DeliveryStatus.POSTED:
            why = f"it was no longer scheduled at {group.provider} ({outcome.status}), so it was not {verb}"
        error = f"{why}: {outcome.error}" if outcome.error else why
        reports.append(_report(change, str(outcome.status), url=outcome.url, error=error))
    return reports


def _groups(plan: Plan) -> list[_PostGroup]:
    posts: dict[tuple[str, str], dict[str, list[Change]]] = {}
    for change in plan.changes:
        record = change.record
        if record is None or not record.provider_post_id or record.status != DeliveryStatus.SCHEDULED:
            continue
        if change.action not in (Action.UPDATE, Action.CANCEL, Action.UNCHANGED):
            continue
        slot = posts.setdefault((record.provider or "", record.provider_post_id), {"keep": [], "drop": []})
        slot["drop" if change.action == Action.CANCEL else "keep"].append(change)
    groups = []
    for (provider, post_id), slot in posts.items():
        if not any(c.action != Action.UNCHANGED for c in slot["keep"] + slot["drop"]):
            continue  # nothing on this post changes
        first = (slot["keep"] + slot["drop"])[0].record
        assert first is not None
        groups.append(_PostGroup(provider, post_id, first, tuple(slot["keep"]), tuple(slot["drop"])))
    return groups


def _request(group: _PostGroup, link: Link, chain: Chain) -> PostRequest:
    deliveries: list[Delivery] = [c.delivery for c in group.keep if c.delivery is not None]
    accounts = link.accounts()
    first = deliveries[0]
    return PostRequest(
        post_key=group.record.post_key or "",
        caption=first.caption,
        targets=tuple(target_for(d, accounts, partial(chain.media_urls, link)) for d in deliveries),
        media_urls=tuple(chain.media_urls(link, first.media)),
        scheduled_at=first.at,
    )


def _record(
    change: Change,
    outcome: PostOutcome | None,
    link: Link,
    ledger: LedgerWriter,
    now: datetime,
    stamp: RunStamp | None,
) -> DeliveryReport:
    key = change.key
    try:
        if stamp is not None:  # applied at the provider: this run and commit made the post what it is
            ledger.stamp_run([key], owner=None, run_id=stamp.run_id, commit_sha=stamp.commit_sha)
        if change.action == Action.CANCEL:
            # The plan's reason (a removed batch, an occurrence that left its repeat rule): a publish's cancel.
            reason = change.reason or REMOVED
            ledger.record(key, Outcome(DeliveryStatus.CANCELLED, error=reason), owner=None, now=now)
            return _report(change, "cancelled")
        delivery = change.delivery
        # updates only: a post's record exists, and the provider answered the update
        assert delivery is not None and outcome is not None and change.record is not None
        result = to_outcome(
            outcome, Platform(delivery.platform), link.provider.name, change.record.post_key or ""
        )
        ledger.revise(
            key,
            content_hash=delivery.content_hash,
            schedule_hash=delivery.schedule_hash,
            caption=delivery.caption,
            scheduled_for=delivery.at,
            now=now,
        )
        if result.status != DeliveryStatus.SCHEDULED:
            ledger.record(key, result, owner=None, now=now)
        return _report(change, str(result.status), url=result.url, error=result.error)
    except LedgerError as exc:
        return _report(change, "unknown", error=f"applied at the provider, not recorded: {exc}")


def _report(
    change: Change, status: str, *, url: str | None = None, error: str | None = None
) -> DeliveryReport:
    record = change.record
    return DeliveryReport(
        key=change.key,
        batch_id=change.batch_id,
        platform=change.platform,
        action=str(change.action),
        status=status,
        provider=record.provider if record else None,
        url=url,
        error=error,
    )


__all__: Sequence[str] = ["apply_scheduled_changes"]
