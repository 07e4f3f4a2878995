"""What both ledger backends (SQLite, Supabase) do the same way, written once over a few primitives.

A backend subclasses LedgerBackend and implements the primitives: `_update_scheduled` (change a
delivery only while it is scheduled), `_find_posts` (one page of history rows) and
`_update_credentials` (change a credential row, optionally only if it still holds a token),
`_finish_running` (end a campaign run that is still running, or was presumed crashed) and
`_crash_running` (end a running campaign run whose heartbeat is still the one read). The
checks, the refusals and which columns change live here, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.queries import PostQuery
from postdeck.ledger.records import CampaignRun, DeliveryRecord, PostRecord
from postdeck.ledger.rows import check_page, check_run_status, crashed_changes, iso


class LedgerBackend:
    """The shared half of SqliteLedger and SupabaseLedger (LedgerWriter.revise, PostHistory's
    get_post_history, CredentialRows.update_credential_row, finish_campaign_run, crash_campaign_run)."""

    # --- primitives (each backend's own) ----------------------------------------------------------

    def _update_scheduled(self, key: str, values: dict[str, Any]) -> DeliveryRecord | None:
        """Set `values` on the delivery if it is scheduled; the changed record, or None."""
        raise NotImplementedError

    def _find_posts(self, query: PostQuery, *, limit: int, offset: int) -> list[PostRecord]:
        """History rows matching `query`, newest first (created_at descending, then id)."""
        raise NotImplementedError

    def _update_credentials(
        self, user_id: str, provider: str, changes: dict[str, Any], expect_token: str | None
    ) -> bool:
        """Set `changes` on the credential row (only if it holds `expect_token`, when given)."""
        raise NotImplementedError

    def _finish_running(self, run_id: str, changes: dict[str, Any]) -> bool:
        """Set `changes` (status, summary, error, finished_at) on the run if it is running or crashed."""
        raise NotImplementedError

    def _crash_running(self, run_id: str, heartbeat_at: datetime | None, changes: dict[str, Any]) -> bool:
        """Set `changes` on the run if it is running and its heartbeat_at is still `heartbeat_at`."""
        raise NotImplementedError

    # --- the shared operations --------------------------------------------------------------------

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
        """A scheduled post was updated at its provider: remember the content and time it now has."""
        values = {
            "content_hash": content_hash,
            "schedule_hash": schedule_hash,
            "caption": caption,
            "scheduled_for": iso(scheduled_for),
            "updated_at": iso(now),
        }
        record = self._update_scheduled(key, values)
        if record is None:
            raise LedgerRefused(f"cannot revise {key}: it is not scheduled")
        return record

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
        """A user's posts (everyone's with user_id=None), newest first."""
        check_page(limit, offset)
        query = PostQuery(user_id=user_id, status=status, platform=platform, campaign=campaign, since=since)
        return self._find_posts(query, limit=limit, offset=offset)

    def update_credential_row(
        self,
        user_id: str,
        provider: str,
        *,
        now: datetime,
        token: str | None = None,
        platforms: list[str] | None = None,
        expect_token: str | None = None,
    ) -> bool:
        """Change the token and/or platforms; with expect_token, only if the row still holds that token."""
        changes: dict[str, Any] = {"updated_at": iso(now)}
        if token is not None:
            changes["encrypted_api_key"] = token
        if platforms is not None:
            changes["connected_platforms"] = list(platforms)
        return self._update_credentials(user_id, provider, changes, expect_token)

    def finish_campaign_run(
        self, run_id: str, *, status: str, summary: dict, error: str | None = None, now: datetime
    ) -> None:
        check_run_status(status)
        changes = {"status": status, "summary": summary, "error": error, "finished_at": iso(now)}
        if not self._finish_running(run_id, changes):
            raise LedgerRefused(f"campaign run {run_id} is not running")

    def crash_campaign_run(self, run: CampaignRun, *, error: str) -> bool:
        return self._crash_running(run.id, run.heartbeat_at, crashed_changes(run, error))
