"""The SQLite ledger's campaign runs (campaign_runs: what each publish published and came to) and
what runs mark on deliveries: which run and commit sent one (stamp_run), and a person's pin on a
cancelled one (keep_cancelled)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from postdeck.ledger.records import CampaignRun, RunSource
from postdeck.ledger.rows import campaign_run, check_run_kind, commit_prefix, iso, run_source_columns
from postdeck.ledger.sqlite_connection import SqliteConnection
from postdeck.ledger.sqlite_sql import assignments, conditions


class SqliteRuns(SqliteConnection):
    """CampaignRuns, RunStamps and CancelPins over the ledger file."""

    def stamp_run(
        self, keys: Sequence[str], *, owner: str | None, run_id: str, commit_sha: str | None
    ) -> list[str]:
        if not keys:
            return []
        marks = ", ".join("?" for _ in keys)
        owned = " AND owner = ?" if owner is not None else ""
        with self._connect() as conn:
            rows = conn.execute(
                f"UPDATE deliveries SET run_id = ?, commit_sha = ? WHERE key IN ({marks}){owned} RETURNING key",
                (run_id, commit_sha, *keys, *([owner] if owner is not None else [])),
            ).fetchall()
        return sorted(row["key"] for row in rows)

    def keep_cancelled(self, keys: Sequence[str], *, now: datetime) -> list[str]:
        if not keys:
            return []
        marks = ", ".join("?" for _ in keys)
        with self._transaction() as conn:
            rows = conn.execute(
                f"""UPDATE deliveries SET keep_cancelled = 1, updated_at = ?
                    WHERE key IN ({marks}) AND status = 'cancelled' RETURNING key""",
                (iso(now), *keys),
            ).fetchall()
        return sorted(row["key"] for row in rows)

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
        check_run_kind(kind)
        run_id = str(uuid.uuid4())
        row = {
            "id": run_id,
            "campaign": campaign,
            "kind": kind,
            "flow_run_id": flow_run_id,
            "user_id": user_id,
            "started_at": iso(now),
            "heartbeat_at": iso(now),
            **run_source_columns(source),
        }
        with self._connect() as conn:
            conn.execute(
                f"INSERT INTO campaign_runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
        return run_id

    def beat_campaign_run(self, run_id: str, *, now: datetime) -> bool:
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE campaign_runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'",
                (iso(now), run_id),
            ).rowcount
        return changed > 0

    def _finish_running(self, run_id: str, changes: dict[str, Any]) -> bool:
        changes = {**changes, "summary": json.dumps(changes["summary"])}
        with self._connect() as conn:
            changed = conn.execute(
                f"UPDATE campaign_runs SET {assignments(changes)}"
                " WHERE id = ? AND status IN ('running', 'crashed')",
                (*changes.values(), run_id),
            ).rowcount
        return changed > 0

    def _crash_running(self, run_id: str, heartbeat_at: datetime | None, changes: dict[str, Any]) -> bool:
        with self._connect() as conn:
            changed = conn.execute(
                f"UPDATE campaign_runs SET {assignments(changes)}"
                " WHERE id = ? AND status = 'running' AND heartbeat_at IS ?",
                (*changes.values(), run_id, iso(heartbeat_at)),
            ).rowcount
        return changed > 0

    def campaign_runs(
        self,
        campaign: str | None = None,
        *,
        commit: str | None = None,
        status: str | None = None,
        limit: int = 20,
    ) -> list[CampaignRun]:
        where, args = conditions((("campaign", campaign), ("status", status)))
        if commit is not None:
            where.append("commit_sha LIKE ?")
            args.append(commit_prefix(commit) + "%")  # hex digits only: no LIKE wildcard in it
        query = "SELECT * FROM campaign_runs" + (" WHERE " + " AND ".join(where) if where else "")
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY started_at DESC, id LIMIT ?", (*args, limit)).fetchall()
        return [campaign_run(r) for r in rows]
