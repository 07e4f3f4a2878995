"""The embedded ledger: one SQLite file (WAL), safe for several threads and processes.

Every operation opens its own short connection: SQLite connections must not cross threads, and
Prefect runs tasks in a thread pool. Claims use BEGIN IMMEDIATE so two claimers serialise.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from postdeck.errors import LedgerError
from postdeck.ledger.base import (
    Claim,
    ClaimRequest,
    ClaimState,
    DeliveryRecord,
    DeliveryStatus,
    Outcome,
)
from postdeck.ledger.transitions import check_transition

DEFAULT_PATH = Path(".postdeck/ledger.db")


def default_ledger_path() -> Path:
    return Path(os.environ.get("POSTDECK_LEDGER") or DEFAULT_PATH)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SqliteLedger:
    """LedgerWriter over a SQLite file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_ledger_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.executescript(
                    resources.files("postdeck.ledger").joinpath("sqlite_schema.sql").read_text()
                )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open the ledger at {self.path}: {exc}") from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the ledger at {self.path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            yield conn
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.path}: {exc}") from None
        finally:
            conn.close()

    # --- reader -------------------------------------------------------------------------------

    def get(self, key: str) -> DeliveryRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE key = ?", (key,)).fetchone()
        return _record(row) if row else None

    def deliveries(self, campaign: str) -> list[DeliveryRecord]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM deliveries WHERE campaign = ? ORDER BY key", (campaign,)
            ).fetchall()
        return [_record(r) for r in rows]

    def all_deliveries(self, *, status: str | None = None) -> list[DeliveryRecord]:
        query, args = "SELECT * FROM deliveries", ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at, key", args).fetchall()
        return [_record(r) for r in rows]

    # --- writer -------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest, *, owner: str, lease_seconds: float, now: datetime) -> Claim:
        lease = _iso(now + timedelta(seconds=lease_seconds))
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
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
                        lease,
                        request.content_hash,
                        request.schedule_hash,
                        request.caption,
                        _iso(request.scheduled_for),
                        request.user_id,
                        _iso(now),
                        _iso(now),
                    ),
                ).rowcount
                row = conn.execute("SELECT * FROM deliveries WHERE key = ?", (request.key,)).fetchone()
                record = _record(row)
                if inserted:
                    state = ClaimState.CLAIMED
                elif record.status != DeliveryStatus.CLAIMED:
                    state = ClaimState.DONE
                elif record.owner != owner and record.lease_until and record.lease_until > now:
                    state = ClaimState.HELD
                else:
                    # The owner died (lease expired) or this is our own earlier attempt (a retried run):
                    # take it over; the caller must look the post up before sending anything.
                    conn.execute(
                        "UPDATE deliveries SET owner = ?, lease_until = ?, attempts = attempts + 1,"
                        " updated_at = ? WHERE key = ?",
                        (owner, lease, _iso(now), request.key),
                    )
                    record = _record(
                        conn.execute("SELECT * FROM deliveries WHERE key = ?", (request.key,)).fetchone()
                    )
                    state = ClaimState.RECOVERED
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return Claim(state=state, record=record)

    def note_attempt(self, keys: list[str], *, owner: str, provider: str, post_key: str) -> None:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            for key in keys:
                row = conn.execute(
                    "SELECT attempted_providers FROM deliveries WHERE key = ? AND owner = ?", (key, owner)
                ).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    raise LedgerError(f"delivery {key} is not claimed by {owner}")
                attempted = [p for p in row["attempted_providers"].split(",") if p]
                if provider not in attempted:
                    attempted.append(provider)
                conn.execute(
                    "UPDATE deliveries SET attempted_providers = ?, post_key = ? WHERE key = ?",
                    (",".join(attempted), post_key, key),
                )
            conn.execute("COMMIT")

    def record(self, key: str, outcome: Outcome, *, owner: str | None, now: datetime) -> DeliveryRecord:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT * FROM deliveries WHERE key = ?", (key,)).fetchone()
                if row is None:
                    raise LedgerError(f"cannot record {key}: it was never claimed")
                current = _record(row)
                if owner is not None and current.status == DeliveryStatus.CLAIMED and current.owner != owner:
                    raise LedgerError(f"cannot record {key}: claimed by another run ({current.owner})")
                check_transition(key, current.status, outcome.status)
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
                        _iso(now),
                        key,
                    ),
                )
                record = _record(conn.execute("SELECT * FROM deliveries WHERE key = ?", (key,)).fetchone())
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return record

    def record_social_post(self, row: dict) -> str:
        """Append one row to the seed's social_posts table; returns its id."""
        row = {**row, "id": row.get("id") or str(uuid.uuid4())}
        row.setdefault("created_at", _iso(datetime.now(UTC)))
        for name in ("platforms", "platform_post_ids", "platform_post_urls", "media_urls"):
            if name in row and not isinstance(row[name], str | None):
                row[name] = json.dumps(row[name])
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._connect() as conn:
            conn.execute(f"INSERT INTO social_posts ({columns}) VALUES ({marks})", tuple(row.values()))
        return row["id"]

    def cached_media_url(self, sha256: str, provider: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT media_url FROM media_uploads WHERE sha256 = ? AND provider = ?", (sha256, provider)
            ).fetchone()
        return row["media_url"] if row else None

    def cache_media_url(self, sha256: str, provider: str, url: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO media_uploads (sha256, provider, media_url, created_at) VALUES (?, ?, ?, ?)",
                (sha256, provider, url, _iso(datetime.now(UTC))),
            )


_FIELDS = {f.name for f in fields(DeliveryRecord)}


def _record(row: sqlite3.Row) -> DeliveryRecord:
    data = {k: row[k] for k in row.keys() if k in _FIELDS}  # noqa: SIM118 (sqlite3.Row has no __iter__ of keys)
    data["status"] = DeliveryStatus(data["status"])
    data["attempted_providers"] = tuple(p for p in (data.get("attempted_providers") or "").split(",") if p)
    for name in ("lease_until", "scheduled_for", "created_at", "updated_at"):
        data[name] = _dt(data.get(name))
    return DeliveryRecord(**data)
