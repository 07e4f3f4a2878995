"""Nothing is lost when the database is down: outcomes go to a local journal first, the ledger second.

The journal is an append-only JSON-lines file (`.postdeck/journal.jsonl`, or POSTDECK_JOURNAL; the
file itself is ledger.journal_file's): JournaledLedger writes it, `replay` empties it. Each outcome line is fsync'ed before the ledger write is tried; a second line marks it settled. Whatever is
not settled is replayed by `postdeck ledger flush` and at the start of the next run (`flush_journal`).
Replay never moves a delivery backwards (the ledger refuses that, and the refusal settles the line)
and never adds a history row twice (rows carry their id from the start).

Claims and attempts are not journaled: if they cannot be recorded, no provider is called at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from postdeck.core.keys import scoped_key
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import Ledger, LedgerRefused, LedgerUnavailable, only_record
from postdeck.ledger.journal_file import Journal
from postdeck.ledger.records import Claim, ClaimRequest, DeliveryRecord, PostRecord
from postdeck.ledger.rows import iso, parse_time

__all__ = ["FlushReport", "Journal", "JournaledLedger", "flush_journal", "replay"]

log = logging.getLogger("postdeck.journal")


@dataclass
class FlushReport:
    applied: int = 0  # written to the ledger now
    already: int = 0  # the ledger had them (an earlier write went through)
    refused: list[str] = field(default_factory=list)  # the ledger refused them (e.g. a backwards move)
    pending: int = 0  # still waiting: the ledger is unreachable
    missing: int = 0  # kept: this ledger has no such delivery (restored from a backup? recreated?)
    other_ledgers: int = 0  # entries of another database (another SUPABASE_URL or POSTDECK_LEDGER)
    error: str | None = None


def replay(ledger: Any, journal: Journal | None = None) -> FlushReport:
    """Write every pending entry of this ledger into it, oldest first; stop at the first outage."""
    backend = getattr(ledger, "inner", ledger)
    journal = journal or getattr(ledger, "journal", None) or Journal()
    report = FlushReport()
    with journal.locked():
        for entry in journal.pending():
            if entry.get("ledger") != backend.ident:
                report.other_ledgers += 1
                continue
            if report.error is not None:
                report.pending += 1
                continue
            try:
                result = _apply(backend, entry)
            except _Missing as exc:
                log.error("journal entry %s kept: %s", entry["id"], exc)
                report.missing += 1
                continue
            except LedgerRefused as exc:
                log.warning("journal entry %s dropped, the ledger refused it: %s", entry["id"], exc)
                report.refused.append(str(exc))
                journal.settle(entry["id"], "refused", locked=True)
                continue
            except LedgerError as exc:
                report.error = str(exc)
                report.pending += 1
                continue
            setattr(report, result, getattr(report, result) + 1)
            journal.settle(entry["id"], result, locked=True)
        journal.compact()
    return report


def flush_journal(ledger: Any, journal: Journal | None = None) -> int:
    """Call at the start of a run: replay what an earlier run could not record. Returns how many
    outcomes were written now. Never raises for an unreachable ledger (the run's claims will say so)."""
    try:
        report = replay(ledger, journal)
    except OSError as exc:
        log.error("the journal cannot be read: %s", exc)
        return 0
    if report.error:
        log.warning("%d journaled outcomes still wait for the ledger: %s", report.pending, report.error)
    if report.applied:
        log.info("%d journaled outcomes written to the ledger", report.applied)
    return report.applied


def _apply(backend: Any, entry: dict[str, Any]) -> str:
    if entry["op"] == "record":
        outcome = _outcome(entry["outcome"])
        # An entry written before delivery keys were scoped by owner: its claim says whose it is.
        key = scoped_key(entry["key"], (entry.get("claim") or {}).get("user_id"))
        current = backend.get(key)
        if current is None:
            raise _Missing(f"the ledger has no delivery {key}; its outcome stays in the journal")
        if _already(current, outcome):
            return "already"
        # owner=None: the outcome is a provider's answer, true whoever holds the claim now.
        backend.record(key, outcome, owner=None, now=parse_time(entry["now"]))
        return "applied"
    if entry["op"] == "social_post":
        backend.record_social_post(entry["row"])  # insert-if-absent by id
        return "applied"
    raise LedgerRefused(f"unknown journal operation {entry['op']!r}")


class _Missing(LedgerError):
    pass


def _already(current: DeliveryRecord, outcome: Outcome) -> bool:
    return current.status == outcome.status and outcome.provider_post_id in (None, current.provider_post_id)


def _outcome(data: dict[str, Any]) -> Outcome:
    return Outcome(**{**data, "status": DeliveryStatus(data["status"])})


def _cache_call(failing: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A cache read or write on the backend: None, with a warning, when the backend is down."""
    try:
        return call(*args, **kwargs)
    except LedgerUnavailable as exc:
        log.warning("%s: %s", failing, exc)
        return None


class JournaledLedger:
    """A Ledger around any backend: outcomes and history rows are journaled before the write.

    Reads, claims and attempts go straight to the backend (and raise when it is down, so nothing is
    sent); the media and account-list caches tolerate an outage (they only save a call).
    """

    def __init__(self, inner: Ledger, journal: Journal | None = None) -> None:
        self.inner = inner
        self.journal = journal or Journal()
        # What this process claimed and attempted, by key: journaled with the outcome, so a lost
        # ledger can be rebuilt from the journal alone (ledger.rebuild).
        self._claimed: dict[str, dict[str, Any]] = {}
        self._attempted: dict[str, tuple[str, ...]] = {}

    @property
    def ident(self) -> str:
        return self.inner.ident

    def __repr__(self) -> str:
        return f"JournaledLedger({self.inner!r}, journal={str(self.journal.path)!r})"

    def __getattr__(self, name: str) -> Any:  # campaign runs, credential rows, close: the backend's
        if name in ("inner", "journal") or name.startswith("__"):  # not yet set (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.inner, name)

    # --- straight to the backend ------------------------------------------------------------------

    def get(self, key: str) -> DeliveryRecord | None:
        return self.inner.get(key)

    def deliveries(self, campaign: str) -> list[DeliveryRecord]:
        return self.inner.deliveries(campaign)

    def all_deliveries(self, *, status: str | None = None) -> list[DeliveryRecord]:
        return self.inner.all_deliveries(status=status)

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
    ) -> list[PostRecord]:
        return self.inner.get_post_history(
            user_id,
            status=status,
            platform=platform,
            campaign=campaign,
            since=since,
            limit=limit,
            offset=offset,
        )

    def get_post(self, post_id: str) -> PostRecord | None:
        return self.inner.get_post(post_id)

    def claim(self, request: ClaimRequest, *, owner: str, lease_seconds: float, now: datetime) -> Claim:
        return self.claim_many([request], owner=owner, lease_seconds=lease_seconds, now=now)[0]

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, owner: str, lease_seconds: float, now: datetime
    ) -> list[Claim]:
        claims = self.inner.claim_many(requests, owner=owner, lease_seconds=lease_seconds, now=now)
        for request in requests:
            self._claimed[request.key] = asdict(request)
        return claims

    def release(self, keys: Sequence[str], *, owner: str) -> list[str]:
        return self.inner.release(keys, owner=owner)  # not journaled: an unreleased claim just expires

    def note_attempt(self, keys: list[str], *, owner: str, provider: str, post_key: str) -> None:
        self.inner.note_attempt(keys, owner=owner, provider=provider, post_key=post_key)
        for key in keys:
            self._attempted[key] = tuple(dict.fromkeys((*self._attempted.get(key, ()), provider)))

    def renew_claims(self, owner: str, *, lease_seconds: float, now: datetime) -> int:
        return self.inner.renew_claims(owner, lease_seconds=lease_seconds, now=now)  # a missed beat: retried

    # --- caches: an outage only costs an upload or a listing -----------------------------------------

    def cached_media_url(self, sha256: str, provider: str) -> str | None:
        return _cache_call(
            "media cache unreadable, uploading again", self.inner.cached_media_url, sha256, provider
        )

    def cache_media_url(self, sha256: str, provider: str, url: str) -> None:
        _cache_call("media cache not updated", self.inner.cache_media_url, sha256, provider, url)

    def cached_accounts(self, scope: str, *, listed_after: datetime) -> list[dict] | None:
        return _cache_call(
            "account list cache unreadable, asking the provider",
            self.inner.cached_accounts,
            scope,
            listed_after=listed_after,
        )

    def cache_accounts(self, scope: str, accounts: list[dict], *, now: datetime) -> None:
        _cache_call("account list cache not updated", self.inner.cache_accounts, scope, accounts, now=now)

    def forget_accounts(self, scope: str) -> None:  # a list not forgotten still ages out
        _cache_call("account list cache not cleared", self.inner.forget_accounts, scope)

    def forget_accounts_at(self, provider: str) -> None:
        _cache_call("account list cache not cleared", self.inner.forget_accounts_at, provider)

    # --- journal first ----------------------------------------------------------------------------

    def record(self, key: str, outcome: Outcome, *, owner: str | None, now: datetime) -> DeliveryRecord:
        return only_record(self.record_many([(key, outcome)], owner=owner, now=now))

    def record_many(
        self, outcomes: Sequence[tuple[str, Outcome]], *, owner: str | None, now: datetime
    ) -> list[DeliveryRecord | LedgerError]:
        """Journal all outcomes (one fsync), write them in one transaction, mark each line settled."""
        if not outcomes:
            return []
        entry_ids = self._journal_many(
            [
                {
                    "op": "record",
                    "key": key,
                    "outcome": asdict(outcome),
                    "owner": owner,
                    "now": iso(now),
                    "claim": self._claimed.get(key),
                    "attempted": self._attempted.get(key, ()),
                }
                for key, outcome in outcomes
            ]
        )
        try:
            results = self.inner.record_many(outcomes, owner=owner, now=now)
        except LedgerError as exc:  # a backend that raised rather than answer per item
            results = [exc for _ in outcomes]
        settled: list[tuple[str, str]] = []
        final: list[DeliveryRecord | LedgerError] = []
        for (key, outcome), entry_id, result in zip(outcomes, entry_ids, results, strict=True):
            if isinstance(result, LedgerRefused):
                current = self._current(key)
                if current is not None and _already(current, outcome):  # a replay got there first
                    result, how = current, "already"
                else:
                    how = "refused"
            elif isinstance(result, LedgerError):
                final.append(self._kept(result, entry_id))  # stays pending in the journal
                continue
            else:
                how = "applied"
            final.append(result)
            if entry_id is not None:
                settled.append((entry_id, how))
        self._settle_many(settled)
        return final

    def record_social_post(self, row: dict) -> str:
        # The id and time are fixed now, so a replay inserts this very row, once, with its real time.
        row = {**row, "id": str(row.get("id") or uuid.uuid4())}
        row.setdefault("created_at", iso(datetime.now(UTC)))
        entry_id = self._journal({"op": "social_post", "row": row})
        try:
            post_id = self.inner.record_social_post(row)
        except LedgerRefused:
            self._settle(entry_id, "refused")
            raise
        except LedgerError as exc:
            raise self._kept(exc, entry_id) from None
        self._settle(entry_id, "applied")
        return post_id

    def _journal(self, entry: dict[str, Any]) -> str | None:
        return self._journal_many([entry])[0]

    def _journal_many(self, entries: list[dict[str, Any]]) -> list[str | None]:
        try:
            return list(self.journal.append_many([{**e, "ledger": self.inner.ident} for e in entries]))
        except OSError as exc:  # the ledger write below may still succeed: try it rather than give up
            log.error("journal %s not writable: %s", self.journal.path, exc)
            return [None for _ in entries]

    def _settle(self, entry_id: str | None, result: str) -> None:
        if entry_id is not None:
            self._settle_many([(entry_id, result)])

    def _settle_many(self, settled: list[tuple[str, str]]) -> None:
        if not settled:
            return
        try:
            self.journal.settle_many(settled)
        except OSError as exc:
            log.warning("journal %s: %d entries not marked settled: %s", self.journal.path, len(settled), exc)

    def _current(self, key: str) -> DeliveryRecord | None:
        try:
            return self.inner.get(key)
        except LedgerError:
            return None

    def _kept(self, exc: LedgerError, entry_id: str | None) -> LedgerError:
        if entry_id is None:
            return LedgerError(
                f"{exc}; the journal could not be written either, so this outcome is not saved"
            )
        return LedgerUnavailable(
            f"{exc}; the outcome is safe in the journal {self.journal.path} and will be written by "
            "`postdeck ledger flush` or at the start of the next run"
        )
