"""The page's data: every delivery of the campaigns, with the plan's action, the ledger's status and
what validation found, placed on its day in its campaign's timezone.

Built the way `postdeck plan` builds its plan (check the files, then make_plan against the ledger),
so the calendar shows exactly what publishing would do. A campaign with errors is still shown (its
errors on the cards they belong to); one that cannot be read at all raises CampaignErrors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.plan import Action, Change, Plan, make_plan
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


@dataclass
class SiteData:
    document: dict[str, Any]  # what the page's script reads
    errors: list[CampaignError] = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        return len(self.document["cards"])


def build(paths: Sequence[Path], reader: LedgerReader, now: datetime, out: Path) -> SiteData:
    """The preview of the campaign files `paths` against the ledger `reader`, as of `now`; media
    thumbnails are written under `out`."""
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
        plan = make_plan(campaign.name, deliveries, reader, now)
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
    document = {
        "format": FORMAT,
        "made_at": now.isoformat(),
        "campaigns": campaigns,
        "captions": cards.captions,
        "cuts": cards.cuts,
        "cards": cards.cards,
    }
    return SiteData(document, [e for r in reports for e in r.errors])


class _Cards:
    """Cards, with captions (and their cuts) stored once each: a campaign's platforms often share one."""

    def __init__(self, thumbs: Thumbnails, now: datetime) -> None:
        self.thumbs = thumbs
        self.now = now
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
        self, campaign: int, zone: ZoneInfo, plan: Plan, findings: dict[tuple[str, str], list[dict[str, str]]]
    ) -> set[tuple[str, str]]:
        """Add the plan's cards; the (batch, platform) places of `findings` that a card showed."""
        placed: set[tuple[str, str]] = set()
        for change in plan.changes:
            self.cards.append(self._card(campaign, zone, change, findings))
            placed |= {(change.batch_id, change.platform), (change.batch_id, "")}
        return placed

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
