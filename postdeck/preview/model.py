"""The page's data: every delivery of the campaigns, with the plan's action, the ledger's status and
what validation found, placed on its day in its campaign's timezone.

Built the way `postdeck plan` builds its plan (check the files, then make_plan against the ledger),
so the calendar shows exactly what publishing would do. A campaign with errors is still shown (its
errors on the cards they belong to); one that cannot be read at all raises CampaignErrors.
build_run makes the same page from what a publish run knows instead: its plan, and its reports'
statuses and links (the publish flow writes it beside the run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.generations import lineage
from postdeck.engine.plan import Action, Change, Plan, make_plan
from postdeck.engine.verdict import outcome_word
from postdeck.errors import CampaignError, CampaignErrors
from postdeck.ledger.base import LedgerReader
from postdeck.preview.text import UNIT_NAMES, caption_diff, cuts
from postdeck.preview.thumbs import Thumbnails
from postdeck.schemas.validation import FileReport, check_files

FORMAT = "postdeck-preview/1"
_SENT = (DeliveryStatus.POSTED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)
_BATCH_FIELD = re.compile(r"^batches\[(\d+)\]")
_PLATFORM_PREFIX = re.compile(r"^([a-z]+): ")
_PLATFORMS = frozenset(p.value for p in Platform)
_OUTCOME_ERRORS = frozenset({"failed", "unknown", "not-sent"})  # a report's error is the outcome's then
# What `preview --refresh` does to each campaign's plan (campaign owner given): asks its providers and
# marks what drifted there. Passed in, so this module imports no provider client.
Refine = Callable[[Plan, str | None], Plan]

# The page's legend: every action of the plan and status of the ledger, whether a card has it or not.
ACTION_MEANINGS: dict[Action, str] = {
    Action.CREATE: "publishing sends it: no post of it exists yet (or a stopped run's claim is taken over)",
    Action.UPDATE: "a scheduled post whose content or time changed: publishing changes it at the provider",
    Action.CANCEL: "a scheduled post whose batch was removed from the file: publishing cancels it",
    Action.UNCHANGED: "already as the file says: publishing leaves it",
    Action.CONFLICT: "its content changed after it was published: refused unless --allow-repost",
    Action.IN_FLIGHT: "claimed by a run that is publishing it right now",
    Action.DRIFT: (
        "what exists differs from the file: cancelled outside it (postdeck cancel), which publishing "
        "creates again; with preview --refresh or plan --refresh also a post deleted, moved or edited at "
        "the provider"
    ),
}
STATUS_MEANINGS: dict[str, str] = {
    DeliveryStatus.CLAIMED: "a run holds it while it sends",
    DeliveryStatus.POSTED: "live, with its link",
    DeliveryStatus.SCHEDULED: "accepted by a provider for its time",
    DeliveryStatus.FAILED: "refused: the reason is on the card",
    DeliveryStatus.UNKNOWN: "sent, but whether it arrived could not be told: looked up before any resend",
    DeliveryStatus.CANCELLED: "cancelled (its post too, if it had one)",
    DeliveryStatus.NOT_SENT: "found at no provider: the next publish looks it up once more, then sends it",
    "none": "not in the ledger: never published",
}


def legend() -> dict[str, list[dict[str, str]]]:
    return {
        "actions": [{"value": a.value, "text": ACTION_MEANINGS.get(a, "")} for a in Action],
        "statuses": [
            {"value": str(s), "text": STATUS_MEANINGS.get(s, "")} for s in [*DeliveryStatus, "none"]
        ],
    }


@dataclass
class SiteData:
    document: dict[str, Any]  # what the page's script reads
    errors: list[CampaignError] = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        return len(self.document["cards"])


def build(
    paths: Sequence[Path], reader: LedgerReader, now: datetime, out: Path, refine: Refine | None = None
) -> SiteData:
    """The preview of the campaign files `paths` against the ledger `reader`, as of `now`; media
    thumbnails are written under `out`. `refine`: applied to each campaign's plan (--refresh)."""
    reports = check_files(paths, jobs=1)  # in this process: workers send back no models, no deliveries
    unreadable = [e for r in reports if r.loaded is None for e in r.errors]
    if unreadable:
        raise CampaignErrors(unreadable)
    cards = _Cards(Thumbnails(out), now)
    campaigns: list[dict[str, Any]] = []
    for report in reports:
        assert report.loaded is not None
        campaign = report.loaded.campaign
        deliveries = [item.delivery for item in report.prepared]
        plan = make_plan(campaign.name, deliveries, reader, now, owner=campaign.owner)
        if refine is not None:
            plan = refine(plan, campaign.owner)
        findings = _findings_by_card(report)
        placed = cards.add_plan(len(campaigns), ZoneInfo(campaign.timezone), plan, findings)
        campaigns.append(
            {
                "name": campaign.name,
                "timezone": campaign.timezone,
                "file": str(report.path),
                "summary": plan.counts(),
                # on no card (the file's defaults, a batch that did not render): shown on the page
                "findings": [f for where, found in findings.items() if where not in placed for f in found],
            }
        )
    return SiteData(_document(now, campaigns, cards), [e for r in reports for e in r.errors])


def build_run(
    name: str,
    timezone: str,
    file: str,
    plan: Plan,
    reports: Sequence[Mapping[str, Any]],
    now: datetime,
    out: Path,
    *,
    title: str,
    dry_run: bool,
) -> SiteData:
    """The preview of one publish run: the plan it made at `now`, each card with the status, link and
    error its report came to (the run's rows: key, action, status, url, error). Reads no file and no
    ledger: the run's campaign may be a checkout of a ref that is gone by the end of the run."""
    by_key: dict[str, Mapping[str, Any]] = {}
    for report in reports:
        by_key.setdefault(lineage(report["key"]), report)
        by_key[report["key"]] = report  # the exact key first; a repost by its original's lineage
    cards = _Cards(Thumbnails(out), now, dry_run=dry_run)
    cards.add_plan(0, ZoneInfo(timezone), plan, {}, by_key)
    campaign = {"name": name, "timezone": timezone, "file": file, "summary": plan.counts(), "findings": []}
    document = _document(now, [campaign], cards)
    document["run"] = {"title": title, "dry_run": dry_run}
    return SiteData(document)


def _document(now: datetime, campaigns: list[dict[str, Any]], cards: _Cards) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "made_at": now.isoformat(),
        "campaigns": campaigns,
        "legend": legend(),
        "captions": cards.captions,
        "cuts": cards.cuts,
        "cards": cards.cards,
    }


class _Cards:
    """Cards, with captions (and their cuts) stored once each: a campaign's platforms often share one."""

    def __init__(self, thumbs: Thumbnails, now: datetime, *, dry_run: bool = False) -> None:
        self.thumbs = thumbs
        self.now = now
        self.dry_run = dry_run
        self.cards: list[dict[str, Any]] = []
        self.captions: list[str] = []
        self.cuts: list[tuple[dict[str, Any], ...]] = []
        self._caption_ids: dict[str, int] = {}

    def caption(self, text: str) -> int:
        if text not in self._caption_ids:
            self._caption_ids[text] = len(self.captions)
            self.captions.append(text)
            self.cuts.append(cuts(text))
        return self._caption_ids[text]

    def add_plan(
        self,
        campaign: int,
        zone: ZoneInfo,
        plan: Plan,
        findings: dict[tuple[str, str], list[dict[str, str]]],
        reports: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> set[tuple[str, str]]:
        """Add the plan's cards (with a run's `reports` by key, if given); the (batch, platform)
        places of `findings` that a card showed."""
        placed: set[tuple[str, str]] = set()
        for change in plan.changes:
            card = self._card(campaign, zone, change, findings)
            if reports is not None:
                report = reports.get(change.key) or reports.get(lineage(change.key))
                if report is not None:
                    self._as_reported(card, report)
            self.cards.append(card)
            placed |= {(change.batch_id, change.platform), (change.batch_id, "")}
        return placed

    def _as_reported(self, card: dict[str, Any], report: Mapping[str, Any]) -> None:
        """The card as the run left it: the status and link it came to, and what the run did."""
        status = str(report.get("status") or "") or "none"
        card["status"] = status
        card["url"] = report.get("url") or card["url"]
        if status in _OUTCOME_ERRORS:
            card["error"] = report.get("error") or card["error"]
        word = outcome_word({k: report.get(k) for k in ("action", "status")}, dry_run=self.dry_run)
        card["run"] = {"outcome": word, "note": report.get("error") or ""}

    def _card(
        self,
        campaign: int,
        zone: ZoneInfo,
        change: Change,
        findings: dict[tuple[str, str], list[dict[str, str]]],
    ) -> dict[str, Any]:
        d, record = change.delivery, change.record
        at = d.at if d is not None else (record.scheduled_for if record else None)
        # A "publish now" delivery the ledger has an outcome for: on the day it was sent.
        sent = record.updated_at if at is None and record and record.status in _SENT else None
        local = (at or sent or self.now).astimezone(zone).isoformat()  # 2030-03-02T21:30:00-05:00
        caption = d.caption if d is not None else (record.caption or "" if record else "")
        card: dict[str, Any] = {
            "id": len(self.cards),
            "key": change.key,
            "campaign": campaign,
            "batch": change.batch_id,
            "platform": change.platform,
            "action": change.action.value,
            "reason": change.reason,
            "status": str(record.status) if record else "none",
            "url": record.url if record else None,
            "error": record.error if record else None,
            "at": at.isoformat() if at else None,  # None: published when the run starts
            "sent_at": sent.isoformat() if sent else None,
            "day": local[:10],
            "time": local[11:16],
            "caption": self.caption(caption),
            "length": _length(change),
            "media": [self.thumbs.media(m, d.platform) for m in d.media] if d else [],
            "options": {k: _option_text(v) for k, v in d.options.items()} if d else {},
            "findings": findings.get((change.batch_id, change.platform), [])
            + findings.get((change.batch_id, ""), []),
        }
        old = record.caption if record else None
        if change.action in (Action.UPDATE, Action.CONFLICT) and old is not None and old != caption:
            card["diff"] = caption_diff(old, caption)
        return card


def _length(change: Change) -> dict[str, Any] | None:
    length = change.length
    if length is None:
        return None
    return {
        "length": length.length,
        "limit": length.limit,
        "unit": UNIT_NAMES.get(length.unit, length.unit),
        "fits": length.fits,
    }


def _option_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _findings_by_card(report: FileReport) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Each finding under (batch id, platform): the platform its message names, or "" for the whole
    batch. Findings about no batch (the file, its defaults) go under ("", "")."""
    batch_ids = {item.batch_index: item.delivery.batch_id for item in report.prepared}
    placed: dict[tuple[str, str], list[dict[str, str]]] = {}
    for severity, found in (("error", report.errors), ("warning", report.warnings)):
        for finding in found:
            batch = _BATCH_FIELD.match(finding.field)
            batch_id = batch_ids.get(int(batch.group(1)), "") if batch else ""
            named = _PLATFORM_PREFIX.match(finding.message)
            platform = named.group(1) if named and named.group(1) in _PLATFORMS else ""
            where = (batch_id, platform)
            placed.setdefault(where, []).append({"severity": severity, "text": str(finding)})
    return placed
