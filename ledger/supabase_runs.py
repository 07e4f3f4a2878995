"""The Supabase ledger's campaign runs (campaign_runs: what each publish published and came to) and
what runs mark on deliveries: which run and commit sent one (stamp_run), and a person's pin on a
cancelled one (keep_cancelled). Plain table access: each is one PostgREST request, one statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.records import CampaignRun, RunSource
from postdeck.ledger.rows import campaign_run, check_run_kind, commit_prefix, iso, run_source_columns
from postdeck.ledger.supabase_transport import SupabaseTransport, user_uuid


class SupabaseRuns(SupabaseTransport):
    """CampaignRuns, RunStamps and CancelPins over Supabase."""

    def stamp_run(
        self, keys: Sequence[str], *, owner: str | None, run_id: str, commit_sha: str | None
    ) -> list[str]:
        if not keys:
            return []

        def update():
            query = (
                self._table("deliveries")
                .update({"run_id": run_id, "commit_sha": commit_sha})
                .in_("key", list(keys))
            )
            return (query.eq("owner", owner) if owner is not None else query).execute().data

        return sorted(row["key"] for row in self._run("stamp run", update))

    def keep_cancelled(self, keys: Sequence[str], *, now: datetime) -> list[str]:
        if not keys:
            return []
        rows = self._run(
            "keep cancelled",
            lambda: (
                self._table("deliveries")
                .update({"keep_cancelled": True, "updated_at": iso(now)})
                .in_("key", list(keys))
                .eq("status", "cancelled")
                .execute()
                .data
            ),
        )
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
        row = {
            "campaign": campaign,
            "kind": kind,
            "flow_run_id": flow_run_id,
            "user_id": user_uuid(user_id, LedgerRefused),
            "started_at": iso(now),
            "heartbeat_at": iso(now),
            **run_source_columns(source),
        }
        created = self._run("start run", lambda: self._table("campaign_runs").insert(row).execute().data)
        return str(created[0]["id"])

    def beat_campaign_run(self, run_id: str, *, now: datetime) -> bool:
        changed = self._run(
            "run heartbeat",
            lambda: (
                self._table("campaign_runs")
                .update({"heartbeat_at": iso(now)})
                .eq("id", run_id)
                .eq("status", "running")
                .execute()
                .data
            ),
        )
        return bool(changed)

    def _finish_running(self, run_id: str, changes: dict[str, Any]) -> bool:
        changed = self._run(
            "finish run",
            lambda: (
                self._table("campaign_runs")
                .update(changes)
                .eq("id", run_id)
                .in_("status", ["running", "crashed"])
                .execute()
                .data
            ),
        )
        return bool(changed)

    def _crash_running(self, run_id: str, heartbeat_at: datetime | None, changes: dict[str, Any]) -> bool:
        def update():
            query = self._table("campaign_runs").update(changes).eq("id", run_id).eq("status", "running")
            if heartbeat_at is None:
                query = query.is_("heartbeat_at", "null")
            else:
                query = query.eq("heartbeat_at", iso(heartbeat_at))
            return query.execute().data

        return bool(self._run("record run crashed", update))

    def campaign_runs(
        self,
        campaign: str | None = None,
        *,
        commit: str | None = None,
        status: str | None = None,
        limit: int = 20,
    ) -> list[CampaignRun]:
        query = self._table("campaign_runs").select("*")
        if campaign is not None:
            query = query.eq("campaign", campaign)
        if status is not None:
            query = query.eq("status", status)
        if commit is not None:
            query = query.like("commit_sha", commit_prefix(commit) + "*")  # hex only: no wildcard
        query = query.order("started_at", desc=True).order("id").limit(limit)
        return [campaign_run(r) for r in self._run("campaign runs", lambda: query.execute().data)]
