"""The rows the ledger keeps and hands back: a delivery's record, a claim and what asks for one, a
history row (PostRecord), a campaign run and what it published, a user's cancel request. Plain frozen
values: the protocols of base.py take and return them, and both backends build them from their rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from postdeck.core.status import DeliveryStatus


@dataclass(frozen=True)
class DeliveryRecord:
    key: str
    campaign: str
    batch_id: str
    platform: str
    status: DeliveryStatus
    owner: str | None = None  # the flow run (or process) holding the claim
    lease_until: datetime | None = None
    provider: str | None = None
    provider_post_id: str | None = None
    post_key: str | None = None
    attempted_providers: tuple[str, ...] = ()  # where a create may have gone (for crash recovery)
    platform_post_id: str | None = None
    url: str | None = None
    error: str | None = None
    attempts: int = 0
    content_hash: str | None = None
    schedule_hash: str | None = None
    caption: str | None = None
    scheduled_for: datetime | None = None
    user_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    run_id: str | None = None  # the campaign run that sent it (RunStamps), None before any run did
    commit_sha: str | None = None  # the commit that run published, None outside git
    keep_cancelled: bool = False  # cancelled and pinned so (`postdeck cancel --keep-cancelled`)


# The owner of a rebuild's claims (`postdeck ledger rebuild`), each of a delivery that went out. A
# rebuild stopped between claiming one and noting where it went leaves a claim with no attempt, which
# a publish would take over as never sent once its lease ran out, and post again. So the lease outlives
# any crash, the lost-ledger guard counts such a claim as still lost, and a rebuild run again ends it.
REBUILD_OWNER = "ledger-rebuild"
REBUILD_LEASE_SECONDS = 10 * 365 * 86400.0


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # new: ours to send
    RECOVERED = "recovered"  # a dead owner's claim, now ours: look up before sending
    HELD = "held"  # a live owner is sending it: leave it alone
    DONE = "done"  # already has an outcome: never send again


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    record: DeliveryRecord


@dataclass(frozen=True)
class ClaimRequest:
    key: str
    campaign: str
    batch_id: str
    platform: str
    content_hash: str
    schedule_hash: str
    caption: str
    scheduled_for: datetime | None
    user_id: str | None = None


@dataclass(frozen=True)
class PostRecord:
    """One row of the seed's social_posts history (one per provider post)."""

    id: str
    user_id: str | None
    provider: str | None
    provider_post_id: str | None
    platforms: tuple[str, ...]
    platform_post_ids: dict[str, str]
    platform_post_urls: dict[str, str]
    content: str | None
    media_urls: tuple[str, ...]
    scheduled_for: datetime | None
    posted_at: datetime | None
    status: str | None
    error_message: str | None
    campaign_id: str | None
    batch_number: int | None
    campaign: str | None
    batch_id: str | None
    post_key: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class RunSource:
    """What a publish run published: the commit (None outside git), whether the working tree
    differed from it, the campaign file, and the hashes of what was rendered and planned."""

    commit_sha: str | None = None
    dirty: bool = False
    campaign_path: str | None = None
    content_hash: str | None = None
    plan_hash: str | None = None


@dataclass(frozen=True)
class CampaignRun:
    """One run that acted on a campaign's deliveries at their providers, for `postdeck runs` and audits:
    a publish (a flow run), or a `post`, `retry` or `cancel` (the CLI or the Python API)."""

    id: str
    campaign: str
    status: str  # running | completed | failed | cancelled | crashed
    flow_run_id: str | None = None
    user_id: str | None = None
    summary: dict[str, Any] | None = None  # the counts: deliveries, unresolved, outcomes, plan
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None  # a crashed run's: its last heartbeat (when it was last alive)
    source: RunSource = RunSource()
    kind: str = "publish"  # publish | post | retry | cancel (RUN_KINDS)
    heartbeat_at: datetime | None = None  # the live run's last beat (None: a row from before beats)


RUN_STATUSES = ("running", "completed", "failed", "cancelled", "crashed")
RUN_KINDS = ("publish", "post", "retry", "cancel")


@dataclass(frozen=True)
class CancelRequest:
    """A signed-in user's request to cancel one of their deliveries (Supabase's
    request_delivery_cancel): a request only; the sync flow acts on it with the service role."""

    id: str
    delivery_key: str
    user_id: str | None = None
    reason: str | None = None
    requested_at: datetime | None = None
