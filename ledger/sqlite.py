"""The embedded ledger: one SQLite file (WAL), safe for several threads and processes.

Every operation opens its own short connection, and claims use BEGIN IMMEDIATE so two claimers
serialise (ledger.sqlite_connection, which also sorts the errors: LedgerUnavailable, retry later, or
LedgerRefused, never retry). Deliveries and history are here; campaign runs and what they stamp on
deliveries are ledger.sqlite_runs', the caches ledger.sqlite_caches', the credential rows
ledger.sqlite_credentials'.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.backend import LedgerBackend
from postdeck.ledger.base import LedgerRefused, LedgerUnavailable, only_record
from postdeck.ledger.claim_scope import check_claim_scope, check_claimed_by_its_user
from postdeck.ledger.queries import DeliveryQuery, PostQuery
from postdeck.ledger.records import Claim, ClaimRequest, ClaimState, DeliveryRecord, PostRecord
from postdeck.ledger.rows import (
    delivery_record,
    iso,
    post_record,
    social_post_row,
)
from postdeck.ledger.sqlite_caches import SqliteCaches
from postdeck.ledger.sqlite_credentials import SqliteCredentialRows
from postdeck.ledger.sqlite_runs import SqliteRuns
from postdeck.ledger.sqlite_sql import assignments, conditions, delivery_filters
from postdeck.ledger.sqlite_upgrade import add_missing_columns, scope_owned_keys, widen_status_check
from postdeck.ledger.transitions import check_transition
from postdeck.settings import settings

DEFAULT_PATH = Path(".postdeck/ledger.db")
_JSON_POST_COLUMNS = ("platforms", "platform_post_ids", "platform_post_urls", "media_urls")


def default_ledger_path() -> Path:
    return Path(settings().ledger)  # DEFAULT_PATH when unset


class SqliteLedger(SqliteRuns, SqliteCaches, SqliteCredentialRows, LedgerBackend):
    """Ledger (deliveries, history, caches, campaign runs) and CredentialRows over a SQLite file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_ledger_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.executescript(
                    resources.files("postdeck.ledger").joinpath("sqlite_schema.sql").read_text()
                )
                add_missing_columns(conn)
                if widen_status_check(conn):  # an older file: its indexes went with the old table
                    conn.executescript(
                        resources.files("postdeck.ledger").joinpath("sqlite_schema.sql").read_text()
                    )
                scope_owned_keys(conn)  # an older file's keys of owned campaigns gain their owner
        except OSError as exc:
            raise LedgerUnavailable(f"cannot open the ledger at {self.path}: {exc}") from None
        except LedgerError as exc:
            raise LedgerUnavailable(f"cannot open the ledger: {exc}") from None

    @property
    def ident(self) -> str:
        """Which database this is (journal entries are replayed only into the ledger they came from)."""
        return f"sqlite:{self.path.resolve()}"

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"

    # --- reader -------------------------------------------------------------------------------

    def get(self, key: str) -> DeliveryRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE key = ?", (key,)).fetchone()
        return delivery_record(row) if row else None

    def deliveries(self, campaign: str) -> list[DeliveryRecord]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM deliveries WHERE campaign = ? ORDER BY key", (campaign,)
            ).fetchall()
        return [delivery_record(r) for r in rows]

    def all_deliveries(self, *, status: str | None = None) -> list[DeliveryRecord]:
        query = "SELECT * FROM deliveries"
        args: tuple[str, ...] = ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at, key", args).fetchall()
        return [delivery_record(r) for r in rows]

    def find_deliveries(
        self, query: DeliveryQuery, *, limit: int | None = None, offset: int = 0
    ) -> list[DeliveryRecord]:
        """Deliveries matching every filter of `query`, newest first (history, retry, cancel)."""
        where, args = delivery_filters(query)
        sql = "SELECT * FROM deliveries" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC, key"
        if limit is not None:
            sql, args = sql + " LIMIT ? OFFSET ?", [*args, limit, offset]
        elif offset:
            sql, args = sql + " LIMIT -1 OFFSET ?", [*args, offset]
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [delivery_record(r) for r in rows]

    # --- writer -------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest, *, owner: str, lease_seconds: float, now: datetime) -> Claim:
        return self.claim_many([request], owner=owner, lease_seconds=lease_seconds, now=now)[0]

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, owner: str, lease_seconds: float, now: datetime
    ) -> list[Claim]:
        if not requests:
            return []
        lease = now + timedelta(seconds=lease_seconds)
        with self._transaction() as conn:
            return [_claim_in(conn, request, owner, lease, now) for request in requests]

    def note_attempt(self, keys: list[str], *, owner: str, provider: str, post_key: str) -> None:
        with self._transaction() as conn:
            for key in keys:
                row = conn.execute(
                    "SELECT attempted_providers FROM deliveries WHERE key = ? AND owner = ?", (key, owner)
                ).fetchone()
                if row is None:
                    raise LedgerRefused(f"delivery {key} is not claimed by {owner}")
                attempted = [p for p in row["attempted_providers"].split(",") if p]
                if provider not in attempted:
                    attempted.append(provider)
                conn.execute(
                    "UPDATE deliveries SET attempted_providers = ?, post_key = ? WHERE key = ?",
                    (",".join(attempted), post_key, key),
                )

    def renew_claims(self, owner: str, *, lease_seconds: float, now: datetime) -> int:
        with self._transaction() as conn:
            return conn.execute(
                "UPDATE deliveries SET lease_until = ? WHERE owner = ? AND status = 'claimed'",
                (iso(now + timedelta(seconds=lease_seconds)), owner),
            ).rowcount

    def release(self, keys: Sequence[str], *, owner: str) -> list[str]:
        if not keys:
            return []
        marks = ", ".join("?" for _ in keys)
        with self._transaction() as conn:
            rows = conn.execute(
                f"""DELETE FROM deliveries WHERE key IN ({marks}) AND owner = ? AND status = 'claimed'
                       AND attempts = 1 AND attempted_providers = '' AND post_key IS NULL RETURNING key""",
                (*keys, owner),
            ).fetchall()
        return [row["key"] for row in rows]

    def record(self, key: str, outcome: Outcome, *, owner: str | None, now: datetime) -> DeliveryRecord:
        return only_record(self.record_many([(key, outcome)], owner=owner, now=now))

    def record_many(
        self, outcomes: Sequence[tuple[str, Outcome]], *, owner: str | None, now: datetime
    ) -> list[DeliveryRecord | LedgerError]:
        if not outcomes:
            return []
        try:
            with self._transaction() as conn:
                return [_record_in(conn, key, outcome, owner, now) for key, outcome in outcomes]
        except LedgerError as exc:  # the transaction as a whole failed: nothing of it is stored
            return [exc for _ in outcomes]

    def _update_scheduled(self, key: str, values: dict[str, Any]) -> DeliveryRecord | None:
        with self._transaction() as conn:
            changed = conn.execute(
                f"UPDATE deliveries SET {assignments(values)} WHERE key = ? AND status = 'scheduled'",
                (*values.values(), key),
            ).rowcount
            return self._row(conn, key) if changed else None

    def reopen_failed(
        self, key: str, *, owner: str, lease_seconds: float, now: datetime
    ) -> DeliveryRecord | None:
        """An explicit retry: a failed delivery becomes claimed by `owner`, its last attempt forgotten.

        The one move out of `failed`, made only when a person asks (`postdeck retry`), never by a run.
        Atomic: of two retriers one gets the record, the other None (as for a delivery not failed).
        """
        with self._transaction() as conn:
            changed = conn.execute(
                """UPDATE deliveries SET status = 'claimed', owner = ?, lease_until = ?, attempts = attempts + 1,
                       provider = NULL, provider_post_id = NULL, post_key = NULL, attempted_providers = '',
                       platform_post_id = NULL, url = NULL, error = NULL, updated_at = ?
                   WHERE key = ? AND status = 'failed'""",
                (owner, iso(now + timedelta(seconds=lease_seconds)), iso(now), key),
            ).rowcount
            return self._row(conn, key) if changed else None

    @staticmethod
    def _row(conn: sqlite3.Connection, key: str) -> DeliveryRecord:
        return delivery_record(conn.execute("SELECT * FROM deliveries WHERE key = ?", (key,)).fetchone())

    # --- post history -------------------------------------------------------------------------

    def record_social_post(self, row: dict) -> str:
        """Append one row to the seed's social_posts table; returns its id. A known id is not added twice."""
        row = social_post_row(row)
        row["id"] = str(row.get("id") or uuid.uuid4())
        row["created_at"] = row.get("created_at") or iso(datetime.now(UTC))
        for name in _JSON_POST_COLUMNS:
            if name in row and not isinstance(row[name], str | None):
                row[name] = json.dumps(row[name])
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._connect() as conn:
            conn.execute(
                f"INSERT INTO social_posts ({columns}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING",
                tuple(row.values()),
            )
        return row["id"]

    def _find_posts(self, query: PostQuery, *, limit: int, offset: int) -> list[PostRecord]:
        equal = (("user_id", query.user_id), ("status", query.status), ("campaign", query.campaign))
        where, args = conditions(equal, since=query.since)
        if query.platform is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(social_posts.platforms) WHERE value = ?)")
            args.append(query.platform)
        sql = "SELECT * FROM social_posts" + (" WHERE " + " AND ".join(where) if where else "")
        with self._connect() as conn:
            rows = conn.execute(
                sql + " ORDER BY created_at DESC, id LIMIT ? OFFSET ?", (*args, limit, offset)
            ).fetchall()
        return [post_record(r) for r in rows]

    def get_post(self, post_id: str) -> PostRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM social_posts WHERE id = ?", (post_id,)).fetchone()
        return post_record(row) if row else None

    def posts_by_provider_post_id(self, provider_post_id: str) -> list[PostRecord]:
        """History rows of one provider post (the seed's PostResult.post_id), newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM social_posts WHERE provider_post_id = ? ORDER BY created_at DESC, id",
                (provider_post_id,),
            ).fetchall()
        return [post_record(r) for r in rows]


def _claim_in(
    conn: sqlite3.Connection, request: ClaimRequest, owner: str, lease: datetime, now: datetime
) -> Claim:
    """Insert-if-absent, or take over a dead owner's claim; inside the caller's BEGIN IMMEDIATE.
    A request for another user's row is refused (LedgerRefused: the caller's transaction is undone)."""
    check_claim_scope(request)
    inserted = conn.execute(
        """INSERT INTO deliveries (key, campaign, batch_id, platform, status, owner, lease_until,
               attempts, content_hash, schedule_hash, caption, scheduled_for, user_id,
               created_at, updated_at)
           VALUES (?, ?, ?, ?, 'claimed', ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO NOTHING""",
        (
            request.key,
            request.campaign,
            request.batch_id,
            request.platform,
            owner,
            iso(lease),
            request.content_hash,
            request.schedule_hash,
            request.caption,
            iso(request.scheduled_for),
            request.user_id,
            iso(now),
            iso(now),
        ),
    ).rowcount
    record = SqliteLedger._row(conn, request.key)
    if inserted:
        return Claim(ClaimState.CLAIMED, record)
    check_claimed_by_its_user(request, record)
    if record.status == DeliveryStatus.NOT_SENT:
        # Found at no provider over their idempotency window: claimed again, and (RECOVERED) looked
        # up once more by its post key before it is sent.
        conn.execute(
            """UPDATE deliveries SET status = 'claimed', owner = ?, lease_until = ?, attempts = attempts + 1,
                   updated_at = ? WHERE key = ?""",
            (owner, iso(lease), iso(now), request.key),
        )
        return Claim(ClaimState.RECOVERED, SqliteLedger._row(conn, request.key))
    if record.status != DeliveryStatus.CLAIMED:
        return Claim(ClaimState.DONE, record)
    if record.owner != owner and record.lease_until and record.lease_until > now:
        return Claim(ClaimState.HELD, record)
    # The owner died (lease expired) or this is our own earlier attempt (a retried run): take it
    # over; the caller must look the post up before sending anything.
    conn.execute(
        "UPDATE deliveries SET owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE key = ?",
        (owner, iso(lease), iso(now), request.key),
    )
    return Claim(ClaimState.RECOVERED, SqliteLedger._row(conn, request.key))


def _record_in(
    conn: sqlite3.Connection, key: str, outcome: Outcome, owner: str | None, now: datetime
) -> DeliveryRecord | LedgerRefused:
    """Store one outcome inside the caller's transaction, or say why it is refused (nothing written)."""
    row = conn.execute("SELECT * FROM deliveries WHERE key = ?", (key,)).fetchone()
    if row is None:
        return LedgerRefused(f"cannot record {key}: it was never claimed")
    current = delivery_record(row)
    if owner is not None and current.status == DeliveryStatus.CLAIMED and current.owner != owner:
        return LedgerRefused(f"cannot record {key}: claimed by another run ({current.owner})")
    try:
        check_transition(key, current.status, outcome.status)
    except LedgerRefused as exc:
        return exc
    conn.execute(
        """UPDATE deliveries SET status = ?, provider = COALESCE(?, provider),
               provider_post_id = COALESCE(?, provider_post_id), post_key = COALESCE(?, post_key),
               platform_post_id = COALESCE(?, platform_post_id), url = COALESCE(?, url),
               error = ?, lease_until = NULL, updated_at = ?
           WHERE key = ?""",
        (
            outcome.status,
            outcome.provider,
            outcome.provider_post_id,
            outcome.post_key,
            outcome.platform_post_id,
            outcome.url,
            outcome.error,
            iso(now),
            key,
        ),
    )
    return SqliteLedger._row(conn, key)
