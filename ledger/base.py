"""The ledger's interface, as small Protocols a caller can ask for one at a time: a reader for
`plan`, DeliveryClaims for publishing, RunStamps for which run and commit sent a delivery,
SocialPostLog and PostHistory for the history, MediaUrlCache and AccountListCache for the chain,
CampaignRuns for the runs, CancelPins for cancels a person keeps. LedgerWriter combines the
writes, Ledger everything a run opens.

Both backends (SQLite embedded, Supabase in production) implement these with the same meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from postdeck.core.keys import owner_scope, parse_ledger_key, same_user
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError

if TYPE_CHECKING:  # queries imports this module
    from postdeck.ledger.queries import DeliveryQuery


class LedgerUnavailable(LedgerError):
    """The database cannot be reached (down, unreadable, network): retry later, nothing was refused."""


class LedgerRefused(LedgerError):
    """The database answered and refused the change (a backwards move, another run's claim, bad data)."""


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


def check_claim_scope(request: ClaimRequest) -> None:
    """A user's delivery is keyed by its user (`<user id>:campaign/…`, postdeck.core.keys), a delivery
    without one by its campaign alone: a request whose key names another user than its user_id (or
    none while it has one) is refused, so no claim can meet another user's row. Both backends check
    it before claiming; their tables refuse such a row too (a CHECK constraint, a SQLite trigger)."""
    try:
        user = owner_scope(request.user_id)
    except ValueError as exc:
        raise LedgerRefused(f"cannot claim {request.key}: {exc}") from None
    try:
        scope = parse_ledger_key(request.key).delivery.owner
    except ValueError:
        if user is None:
            return  # not a delivery key: nothing to compare (the PostgreSQL table refuses it anyway)
        raise LedgerRefused(
            f"cannot claim {request.key} for user {request.user_id}: not a delivery key, so not scoped by it"
        ) from None
    if scope == user:
        return
    if scope is None:
        raise LedgerRefused(
            f"cannot claim {request.key} for user {request.user_id}: a user's delivery key is scoped by "
            f"the user ({user}:{request.key})"
        )
    whose = f"for user {request.user_id}" if user is not None else "without a user"
    raise LedgerRefused(f"cannot claim {request.key} {whose}: it is the key of user {scope}'s delivery")


def check_claimed_by_its_user(request: ClaimRequest, record: DeliveryRecord) -> None:
    """A claim that meets a row of another user (or of none) is refused, naming both, never answered
    with that row: its delivery would never be sent, and one user's history would decide another's."""
    if not same_user(record.user_id, request.user_id):
        raise LedgerRefused(
            f"delivery {request.key} belongs to user {record.user_id or '(none)'}, "
            f"not to {request.user_id or '(none)'}: refused"
        )


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
    summary: dict | None = None  # the counts: deliveries, unresolved, outcomes, plan
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None  # a crashed run's: its last heartbeat (when it was last alive)
    source: RunSource = RunSource()
    kind: str = "publish"  # publish | post | retry | cancel (RUN_KINDS)
    heartbeat_at: datetime | None = None  # the live run's last beat (None: a row from before beats)


RUN_STATUSES = ("running", "completed", "failed", "cancelled", "crashed")
RUN_KINDS = ("publish", "post", "retry", "cancel")


class LedgerReader(Protocol):
    def get(self, key: str) -> DeliveryRecord | None: ...

    def deliveries(self, campaign: str) -> list[DeliveryRecord]: ...

    def all_deliveries(self, *, status: str | None = None) -> list[DeliveryRecord]:
        """Every campaign's deliveries, optionally in one status (follow-ups and webhooks look across)."""
        ...


class DeliveryClaims(Protocol):
    """Publishing's writes: claim deliveries, note where a create may go, store outcomes."""

    def claim(self, request: ClaimRequest, *, owner: str, lease_seconds: float, now: datetime) -> Claim:
        """Insert-if-absent. Atomic: of two concurrent claimers exactly one gets CLAIMED."""
        ...

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, owner: str, lease_seconds: float, now: datetime
    ) -> list[Claim]:
        """claim() for each request (one batch's deliveries), in order, in one transaction: all are
        claimed or, on a LedgerError, none. One write per batch instead of one per delivery."""
        ...

    def note_attempt(self, keys: list[str], *, owner: str, provider: str, post_key: str) -> None:
        """Before a create: remember where it may go, so a crash can be recovered by lookup."""
        ...

    def renew_claims(self, owner: str, *, lease_seconds: float, now: datetime) -> int:
        """The live run's heartbeat: every claim `owner` holds is leased until now + lease_seconds,
        so a dead run's claims are taken over soon after its last beat. Returns how many."""
        ...

    def release(self, keys: Sequence[str], *, owner: str) -> list[str]:
        """Forget `owner`'s claims of these keys that its own claim created (first attempt) and that
        no create was ever attempted for (nothing was sent): a later run claims them afresh. A delivery
        the ledger knew before (retried, taken over) is kept. Returns the keys released."""
        ...

    def record(self, key: str, outcome: Outcome, *, owner: str | None, now: datetime) -> DeliveryRecord:
        """Store an outcome. Refuses to move a delivery backwards (see DeliveryStatus)."""
        ...

    def record_many(
        self, outcomes: Sequence[tuple[str, Outcome]], *, owner: str | None, now: datetime
    ) -> list[DeliveryRecord | LedgerError]:
        """record() for each (key, outcome), in order, in one transaction. Never raises: each item's
        result is its stored record or the error it got (a refusal leaves the others stored)."""
        ...

    def revise(
        self,
        key: str,
        *,
        content_hash: str,
        schedule_hash: str,
        caption: str,
        scheduled_for: datetime | None,
        now: datetime,
    ) -> DeliveryRecord:
        """A scheduled post was updated at its provider: store its new content and schedule hashes."""
        ...


class RunStamps(Protocol):
    """Which run, and which commit, sent a delivery: set just before the run sends it."""

    def stamp_run(
        self, keys: Sequence[str], *, owner: str | None, run_id: str, commit_sha: str | None
    ) -> list[str]:
        """Name `run_id` and `commit_sha` on these deliveries (with an owner, only those it has
        claimed), in one write. Returns the keys stamped."""
        ...


class SocialPostLog(Protocol):
    def record_social_post(self, row: dict) -> str:
        """Append a row to the seed's social_posts history (one per provider post)."""
        ...


class MediaUrlCache(Protocol):
    """Where each file was uploaded, per upload scope: a file is uploaded once per provider account."""

    def cached_media_url(self, sha256: str, provider: str) -> str | None: ...

    def cache_media_url(self, sha256: str, provider: str, url: str) -> None: ...


class AccountListCache(Protocol):
    """The providers' account lists, kept a while so not every run lists them again."""

    def cached_accounts(self, scope: str, *, listed_after: datetime) -> list[dict] | None:
        """The account list stored for `scope`, if it was listed after `listed_after`; else None."""
        ...

    def cache_accounts(self, scope: str, accounts: list[dict], *, now: datetime) -> None:
        """Store (replace) the account list for `scope`, listed at `now`."""
        ...

    def forget_accounts(self, scope: str) -> None:
        """Drop the account list for `scope` (it proved stale): the next run lists again."""
        ...

    def forget_accounts_at(self, provider: str) -> None:
        """Drop the account lists of every key at `provider` (an account there changed)."""
        ...


class LedgerWriter(
    LedgerReader, DeliveryClaims, RunStamps, SocialPostLog, MediaUrlCache, AccountListCache, Protocol
):
    """Everything publishing writes, for callers that need all of it (the publisher, the chain)."""


def only_record(results: list[DeliveryRecord | LedgerError]) -> DeliveryRecord:
    """record() written as a one-item record_many(): its one result, raised if it is an error."""
    (result,) = results
    if isinstance(result, LedgerError):
        raise result
    return result


class PostHistory(Protocol):
    def get_post_history(
        self,
        user_id: str | None = None,
        *,
        status: str | None = None,
        platform: str | None = None,
        campaign: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[PostRecord]: ...

    def get_post(self, post_id: str) -> PostRecord | None: ...


class DeliverySearch(Protocol):
    """The reads and the one reopening of `history`, `retry` and `cancel` (the seed service's)."""

    def find_deliveries(
        self, query: DeliveryQuery, *, limit: int | None = None, offset: int = 0
    ) -> list[DeliveryRecord]: ...

    def reopen_failed(
        self, key: str, *, owner: str, lease_seconds: float, now: datetime
    ) -> DeliveryRecord | None: ...

    def posts_by_provider_post_id(self, provider_post_id: str) -> list[PostRecord]: ...


class CampaignRuns(Protocol):
    def start_campaign_run(
        self,
        campaign: str,
        *,
        flow_run_id: str | None,
        user_id: str | None,
        now: datetime,
        source: RunSource | None = None,
        kind: str = "publish",
    ) -> str:
        """A new run, `running`, its first heartbeat `now`; returns its id."""
        ...

    def beat_campaign_run(self, run_id: str, *, now: datetime) -> bool:
        """The live run's heartbeat: its heartbeat_at becomes `now`, if it is still running (False if
        not: ended, or recorded crashed by another run that found it silent)."""
        ...

    def crash_campaign_run(self, run: CampaignRun, *, error: str) -> bool:
        """Record `run` (as read) `crashed`, its owner gone: ended at its last heartbeat (its start if it
        never beat) with `error`. Only if it is still running and has not beaten since it was read
        (a run that beat since is alive). True if it was recorded so."""
        ...

    def finish_campaign_run(
        self, run_id: str, *, status: str, summary: dict, error: str | None = None, now: datetime
    ) -> None:
        """End a running run (or one recorded crashed whose owner turned out alive: its own end is the
        truth). Refused (LedgerRefused) for a run that has ended already."""
        ...

    def campaign_runs(
        self,
        campaign: str | None = None,
        *,
        commit: str | None = None,
        status: str | None = None,
        limit: int = 20,
    ) -> list[CampaignRun]:
        """Runs newest first (started_at descending, then id); `commit` is a SHA prefix."""
        ...


class CancelPins(Protocol):
    def keep_cancelled(self, keys: Sequence[str], *, now: datetime) -> list[str]:
        """Pin these cancelled deliveries: publishing leaves them cancelled instead of re-creating
        them from the file. Returns the keys pinned (a delivery not cancelled is not)."""
        ...


@dataclass(frozen=True)
class CancelRequest:
    """A signed-in user's request to cancel one of their deliveries (Supabase's
    request_delivery_cancel): a request only; the sync flow acts on it with the service role."""

    id: str
    delivery_key: str
    user_id: str | None = None
    reason: str | None = None
    requested_at: datetime | None = None


@runtime_checkable
class CancelRequests(Protocol):
    """Only Supabase has them (SQLite has no signed-in users: its CLI cancels at once)."""

    def open_cancel_requests(self, *, limit: int = 100) -> list[CancelRequest]:
        """Requests not handled yet, oldest first."""
        ...

    def close_cancel_request(self, request_id: str, *, result: str, now: datetime) -> None:
        """Mark a request handled, with what came of it (cancelled, or why not)."""
        ...


class Ledger(LedgerWriter, PostHistory, DeliverySearch, CampaignRuns, CancelPins, Protocol):
    """What open_ledger() and open_backend() hand a run or a command: a backend (SqliteLedger,
    SupabaseLedger) or the JournaledLedger around one. Credential rows are CredentialRows'."""

    @property
    def ident(self) -> str:
        """Which database this is (journal entries are replayed only into the ledger they came from)."""
        ...
