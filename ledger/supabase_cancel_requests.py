"""The Supabase ledger's users' cancel requests (delivery_cancel_requests): read the open ones, close
each with what came of it. A user makes them through request_delivery_cancel; the workers (the
service role) act on them in the sync flow (postdeck.service.cancel_requests)."""

from __future__ import annotations

from datetime import datetime

from postdeck.ledger.records import CancelRequest
from postdeck.ledger.rows import iso, parse_time
from postdeck.ledger.supabase_transport import SupabaseTransport

RESULT_LENGTH = 500  # the column's check


class SupabaseCancelRequests(SupabaseTransport):
    """CancelRequests over Supabase."""

    def open_cancel_requests(self, *, limit: int = 100) -> list[CancelRequest]:
        rows = self._run(
            "read cancel requests",
            lambda: (
                self._table("delivery_cancel_requests")
                .select("id, delivery_key, user_id, reason, requested_at")
                .is_("handled_at", "null")
                .order("requested_at")
                .limit(limit)
                .execute()
                .data
            ),
        )
        return [
            CancelRequest(
                id=str(row["id"]),
                delivery_key=row["delivery_key"],
                user_id=str(row["user_id"]) if row.get("user_id") else None,
                reason=row.get("reason"),
                requested_at=parse_time(row.get("requested_at")),
            )
            for row in rows
        ]

    def close_cancel_request(self, request_id: str, *, result: str, now: datetime) -> None:
        self._run(
            "close cancel request",
            lambda: (
                self._table("delivery_cancel_requests")
                .update({"handled_at": iso(now), "result": result[:RESULT_LENGTH]})
                .eq("id", request_id)
                .is_("handled_at", "null")
                .execute()
            ),
        )
