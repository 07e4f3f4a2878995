"""The ledger's interface, as small Protocols a caller can ask for one at a time: a reader for
`plan`, DeliveryClaims for publishing, RunStamps for which run and commit sent a delivery,
SocialPostLog and PostHistory for the history, MediaUrlCache and AccountListCache for the chain,
CampaignRuns for the runs, CancelPins for cancels a person keeps. LedgerWriter combines the
writes, Ledger everything a run opens.

Both backends (SQLite embedded, Supabase in production) implement these with the same meaning.
The values they take and return are records.py's; the user scope of a claim is claim_scope.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from postdeck.core.outcome import Outcome
from postdeck.errors import LedgerError
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import (
    CampaignRun,
    CancelRequest,
    Claim,
    ClaimRequest,
    DeliveryRecord,
    PostRecord,
    RunSource,
)


class LedgerUnavailable(LedgerError):
    """The database cannot be reached (down, unreadable, network): retry later, nothing was refused."""


class LedgerRefused(LedgerError):
    """The database answered and refused the change (a backwards move, another run's claim, bad data)."""


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
    def record_social_post(self, row: dict[str, Any]) -> str:
        """Append a row to the seed's social_posts history (one per provider post)."""
        ...


class MediaUrlCache(Protocol):
    """Where each file was uploaded, per upload scope: a file is uploaded once per provider account."""

    def cached_media_url(self, sha256: str, provider: str) -> str | None: ...

    def cache_media_url(self, sha256: str, provider: str, url: str) -> None: ...


class AccountListCache(Protocol):
    """The providers' account lists, kept a while so not every run lists them again."""

    def cached_accounts(self, scope: str, *, listed_after: datetime) -> list[dict[str, Any]] | None:
        """The account list stored for `scope`, if it was listed after `listed_after`; else None."""
        ...

    def cache_accounts(self, scope: str, accounts: list[dict[str, Any]], *, now: datetime) -> None:
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
        self, run_id: str, *, status: str, summary: dict[str, Any], error: str | None = None, now: datetime
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
